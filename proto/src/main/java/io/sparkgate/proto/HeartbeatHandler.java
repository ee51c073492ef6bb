package io.sparkgate.proto;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.timeout.IdleState;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import java.util.concurrent.TimeUnit;

/**
 * Keeps a connection alive and notices a dead one. Put it after {@link FrameCodec} once the
 * handshake completes, with the interval from {@link HandshakeCompleted#heartbeatIntervalMillis()}
 * (one per connection; not sharable).
 *
 * <ul>
 *   <li>When this side has written nothing for one interval, it sends a {@link Control.Heartbeat}.
 *   <li>When nothing at all has been read for {@code missedIntervals} intervals, it fires a
 *       {@link HeartbeatTimeoutException} down the pipeline and closes the channel.
 *   <li>Heartbeats received are consumed here; the handlers after it never see one.
 * </ul>
 *
 * <p>The idle detection is Netty's own {@link IdleStateHandler}, which this handler inserts just
 * before itself (so that every frame read, heartbeats included, counts as activity) and removes
 * with itself. Any frame counts as a sign of life, not only heartbeats.
 */
public final class HeartbeatHandler extends ChannelDuplexHandler {
  /** Intervals without any frame from the peer before the connection is declared dead. */
  public static final int DEFAULT_MISSED_INTERVALS = 3;

  private final long intervalMillis;
  private final int missedIntervals;
  private String idleHandlerName;

  public HeartbeatHandler(long intervalMillis) {
    this(intervalMillis, DEFAULT_MISSED_INTERVALS);
  }

  public HeartbeatHandler(long intervalMillis, int missedIntervals) {
    if (intervalMillis <= 0) {
      throw new IllegalArgumentException("intervalMillis must be positive: " + intervalMillis);
    }
    if (missedIntervals < 1) {
      throw new IllegalArgumentException("missedIntervals must be positive: " + missedIntervals);
    }
    this.intervalMillis = intervalMillis;
    this.missedIntervals = missedIntervals;
  }

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    idleHandlerName = ctx.name() + "-idle";
    ctx.pipeline().addBefore(ctx.name(), idleHandlerName,
        new IdleStateHandler(intervalMillis * missedIntervals, intervalMillis, 0, TimeUnit.MILLISECONDS));
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    if (ctx.pipeline().context(idleHandlerName) != null) {
      ctx.pipeline().remove(idleHandlerName);
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (msg instanceof Control.Heartbeat) {
      ReferenceCountUtil.release(msg);
    } else {
      ctx.fireChannelRead(msg);
    }
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
    if (!(evt instanceof IdleStateEvent idle)) {
      ctx.fireUserEventTriggered(evt);
    } else if (idle.state() == IdleState.WRITER_IDLE) {
      ctx.writeAndFlush(Control.Heartbeat.INSTANCE).addListener(ChannelFutureListener.FIRE_EXCEPTION_ON_FAILURE);
    } else if (idle.state() == IdleState.READER_IDLE) {
      ctx.fireExceptionCaught(new HeartbeatTimeoutException(
          "nothing received from the peer for " + (intervalMillis * missedIntervals) + " ms ("
              + missedIntervals + " heartbeat intervals)"));
      ctx.close();
    }
  }
}
