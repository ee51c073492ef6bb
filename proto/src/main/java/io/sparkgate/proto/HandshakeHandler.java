package io.sparkgate.proto;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * What {@link ServerHandshake} and {@link ClientHandshake} share: the timeout, the single outcome,
 * and what happens on success (remove this handler, fire {@link HandshakeCompleted}) and on failure
 * (fire the cause down the pipeline, close). Everything runs on the channel's event loop, so the
 * fields need no synchronization.
 */
public abstract sealed class HandshakeHandler extends ChannelInboundHandlerAdapter
    permits ServerHandshake, ClientHandshake {
  private final long timeoutMillis;
  private final CompletableFuture<HandshakeCompleted> outcome = new CompletableFuture<>();
  private ScheduledFuture<?> timeout;
  private boolean started;
  private boolean failed;

  HandshakeHandler(long timeoutMillis) {
    if (timeoutMillis <= 0) {
      throw new IllegalArgumentException("timeoutMillis must be positive: " + timeoutMillis);
    }
    this.timeoutMillis = timeoutMillis;
  }

  /**
   * Completes with the handshake's result, or exceptionally with its cause (a
   * {@link HandshakeException}, or the codec's exception for a malformed frame). Completed on the
   * event loop: dependents must not block.
   */
  public CompletableFuture<HandshakeCompleted> outcome() {
    return outcome;
  }

  /** Called once, when the channel is active and this handler is in its pipeline. */
  abstract void start(ChannelHandlerContext ctx);

  /** Called for each handshake message until the handshake succeeds or fails. */
  abstract void onMessage(ChannelHandlerContext ctx, Handshake message);

  @Override
  public void handlerAdded(ChannelHandlerContext ctx) {
    if (ctx.channel().isActive()) {
      begin(ctx);
    }
  }

  @Override
  public void channelActive(ChannelHandlerContext ctx) {
    begin(ctx);
    ctx.fireChannelActive();
  }

  private void begin(ChannelHandlerContext ctx) {
    if (started) {
      return;
    }
    started = true;
    timeout =
        ctx.executor()
            .schedule(
                () -> fail(ctx, new HandshakeTimeoutException(
                    "handshake did not complete within " + timeoutMillis + " ms")),
                timeoutMillis,
                TimeUnit.MILLISECONDS);
    start(ctx);
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    if (failed) {
      ReferenceCountUtil.release(msg);
    } else if (msg instanceof Handshake h) {
      onMessage(ctx, h);
    } else {
      String what = msg instanceof Message ? msg.getClass().getSimpleName() : msg.getClass().getName();
      ReferenceCountUtil.release(msg);
      fail(ctx, new HandshakeException(what + " received before the handshake completed"));
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    if (failed) {
      ctx.fireExceptionCaught(cause);
    } else {
      fail(ctx, cause);
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (!failed) {
      fail(ctx, new HandshakeException("connection closed before the handshake completed"));
    }
    ctx.fireChannelInactive();
  }

  @Override
  public void handlerRemoved(ChannelHandlerContext ctx) {
    cancelTimeout();
  }

  /** Sends {@code message} and fails the handshake with the write's cause if it cannot be sent. */
  void send(ChannelHandlerContext ctx, Handshake message) {
    ctx.writeAndFlush(message)
        .addListener(
            (ChannelFutureListener)
                f -> {
                  if (!f.isSuccess()) {
                    fail(ctx, f.cause());
                  }
                });
  }

  /** Removes this handler, then tells the handlers after it that the connection is ready. */
  void succeed(ChannelHandlerContext ctx, HandshakeCompleted completed) {
    cancelTimeout();
    ctx.pipeline().remove(this);
    // A removed context still forwards to the handler that followed it.
    ctx.fireUserEventTriggered(completed);
    outcome.complete(completed);
  }

  /** Fails the handshake once: the cause goes down the pipeline and the channel is closed. */
  void fail(ChannelHandlerContext ctx, Throwable cause) {
    failWith(ctx, cause, null);
  }

  /** Like {@link #fail}, but first sends {@code reject} and closes once it is flushed. */
  void failWith(ChannelHandlerContext ctx, Throwable cause, Handshake.Reject reject) {
    if (failed || outcome.isDone()) {
      return;
    }
    failed = true;
    cancelTimeout();
    outcome.completeExceptionally(cause);
    // The Reject goes out before the handlers after this one hear of the failure: one of them may
    // close the channel at once, and the peer must learn why it was refused.
    if (reject != null && ctx.channel().isActive()) {
      ctx.writeAndFlush(reject).addListener(ChannelFutureListener.CLOSE);
      ctx.fireExceptionCaught(cause);
    } else {
      ctx.fireExceptionCaught(cause);
      ctx.close();
    }
  }

  private void cancelTimeout() {
    if (timeout != null) {
      timeout.cancel(false);
      timeout = null;
    }
  }
}
