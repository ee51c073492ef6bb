package io.sparkgate.proto;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The traffic of one authenticated connection, the same on both sides (section 4 of the protocol):
 * the last handler of the pipeline, after the codec and the handshake. It joins the connection to
 * the two streams that outlive it, the {@link Outbox} of what this side sends and the
 * {@link SequenceTracker} of what it receives:
 *
 * <ul>
 *   <li>on {@link HandshakeCompleted}: adds the {@link HeartbeatHandler}, and attaches the outbox
 *       to the channel, which replays what the peer has not received and then sends new messages;
 *   <li>on a {@link Sequenced} message: hands its payload to the {@link Peer} once (a replayed
 *       duplicate is skipped; a gap is a protocol error and closes the connection);
 *   <li>on a {@link Control.Ack}: releases the acknowledged messages from the outbox;
 *   <li>after each batch of reads: acknowledges what arrived, once the {@link AckGate} says it may
 *       (a side that must survive its own restart acknowledges only what it has stored);
 *   <li>when the connection ends: detaches the outbox (messages accumulate for the next
 *       connection) and tells the peer once, with the cause.
 * </ul>
 *
 * <pre>
 *   pipeline:  codec (FrameCodec) -> handshake (Server/ClientHandshake) -> [heartbeat] -> sequenced (this)
 * </pre>
 *
 * One instance per connection (it holds the connection's state); the outbox and tracker are the
 * stream's and are passed in. All callbacks run on the channel's event loop and must not block.
 */
public final class SequencedConnection extends ChannelInboundHandlerAdapter {

  /** What the side using the connection hears. Called on the channel's event loop. */
  public interface Peer {
    /**
     * The handshake completed and the outbox is attached (its replay is already written).
     *
     * @return false to refuse the connection (it is closed, and {@link #disconnected} follows)
     */
    boolean connected(Channel channel, HandshakeCompleted handshake);

    /** A new payload of the received stream, once, in order. */
    void received(Sequenced.Payload payload);

    /**
     * The connection failed with {@code cause} (a handshake refusal, a malformed frame, a gap): it
     * is being closed. Called before {@link #disconnected}, at most once per connection.
     */
    void failed(Throwable cause);

    /**
     * The connection is gone: called once, if and only if {@link #connected} was called and
     * returned true.
     *
     * @param cause why: the failure if there was one, else an {@link IOException} saying it closed
     */
    void disconnected(Throwable cause);
  }

  /**
   * Decides when an acknowledgement may be sent: the gateway's recovery stores every event it
   * acknowledges first. The returned stage completes once everything up to {@code seq} may be
   * acknowledged; the Ack is sent then (if the connection is still open).
   */
  @FunctionalInterface
  public interface AckGate {
    /** Acknowledge at once: for a side that keeps nothing across its own restart. */
    AckGate IMMEDIATE = seq -> CompletableFuture.completedFuture(null);

    CompletionStage<Void> beforeAck(long seq);
  }

  /**
   * The streams a connection joins, and who hears it.
   *
   * @param outbox what this side sends (commands on the gateway, events on the agent)
   * @param tracker what this side receives
   */
  public record Binding(Outbox outbox, SequenceTracker tracker, AckGate ackGate, Peer peer) {
    public Binding {
      Objects.requireNonNull(outbox, "outbox");
      Objects.requireNonNull(tracker, "tracker");
      Objects.requireNonNull(ackGate, "ackGate");
      Objects.requireNonNull(peer, "peer");
    }
  }

  /**
   * Finds the streams of an authenticated connection (the gateway knows the session only once the
   * handshake named it). Called on the event loop.
   */
  @FunctionalInterface
  public interface Binder {
    /** The binding for the session {@code handshake} names, or null to close the connection. */
    Binding bind(HandshakeCompleted handshake);

    /** The connection failed before a handshake bound it (refused, broken or timed out); it is closing. */
    default void failedUnbound(Throwable cause) {}
  }

  private final Binder binder;
  private Binding binding; // set at the handshake
  private Outbox.Sink sink;
  private boolean established;
  private Throwable failure;

  /** A connection whose streams are known before it is made (the agent's: one session). */
  public SequencedConnection(Binding binding) {
    Objects.requireNonNull(binding, "binding");
    this.binder = handshake -> binding;
    this.binding = binding; // so that a failed handshake reaches its peer too
  }

  /** A connection whose streams are found from the handshake (the gateway's: any session). */
  public SequencedConnection(Binder binder) {
    this.binder = Objects.requireNonNull(binder, "binder");
  }

  @Override
  public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
    if (!(evt instanceof HandshakeCompleted done)) {
      super.userEventTriggered(ctx, evt);
      return;
    }
    Channel ch = ctx.channel();
    Binding b = binder.bind(done);
    if (b == null) {
      ctx.close();
      return;
    }
    binding = b;
    ctx.pipeline().addBefore(ctx.name(), "heartbeat", new HeartbeatHandler(done.heartbeatIntervalMillis()));
    Outbox.Sink attached = message -> ch.writeAndFlush(message, ch.voidPromise());
    try {
      b.outbox().attach(done.peerLastSeq(), attached);
    } catch (OutboxClosedException | OutOfSequenceException e) {
      // The stream is closed, or the peer's position cannot be repaired from what is kept.
      fail(ctx, e);
      return;
    }
    sink = attached;
    established = true;
    if (!b.peer().connected(ch, done)) {
      ctx.close();
    }
  }

  @Override
  public void channelRead(ChannelHandlerContext ctx, Object msg) {
    try {
      if (!established) {
        return; // only after the handshake: a failed attach leaves the connection closing
      }
      if (msg instanceof Sequenced s) {
        if (binding.tracker().accept(s.seq())) {
          binding.peer().received(s.payload());
        }
      } else if (msg instanceof Control.Ack ack) {
        binding.outbox().ack(ack.seq());
      } else if (!(msg instanceof Control.Heartbeat)) {
        throw new ProtocolException("unexpected message after the handshake: " + msg.getClass().getSimpleName());
      }
    } finally {
      ReferenceCountUtil.release(msg);
    }
  }

  @Override
  public void channelReadComplete(ChannelHandlerContext ctx) {
    long ack = established ? binding.tracker().takeAck() : SequenceTracker.NO_ACK;
    if (ack != SequenceTracker.NO_ACK) {
      Channel ch = ctx.channel();
      CompletionStage<Void> allowed;
      try {
        allowed = binding.ackGate().beforeAck(ack);
      } catch (RuntimeException e) {
        allowed = CompletableFuture.failedFuture(e);
      }
      allowed.whenComplete((ok, e) -> {
        if (e == null) {
          if (ch.eventLoop().inEventLoop()) {
            writeAck(ch, ack);
          } else {
            ch.eventLoop().execute(() -> writeAck(ch, ack));
          }
        } else {
          // Not stored: never acknowledge it; the peer replays it on the next connection.
          ch.eventLoop().execute(() -> ch.pipeline().fireExceptionCaught(
              new IOException("cannot acknowledge up to seq " + ack + ": " + e.getMessage(), e)));
        }
      });
    }
    ctx.fireChannelReadComplete();
  }

  private static void writeAck(Channel ch, long ack) {
    if (ch.isActive()) {
      ch.writeAndFlush(new Control.Ack(ack), ch.voidPromise());
    }
  }

  @Override
  public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
    fail(ctx, cause);
  }

  private void fail(ChannelHandlerContext ctx, Throwable cause) {
    if (failure == null) {
      failure = cause;
      if (binding != null) {
        binding.peer().failed(cause);
      } else {
        binder.failedUnbound(cause);
      }
    }
    if (!(cause instanceof HandshakeException)) {
      ctx.close(); // a handshake handler closes the connection itself, once its Reject is written
    }
  }

  @Override
  public void channelInactive(ChannelHandlerContext ctx) {
    if (established) {
      established = false;
      binding.outbox().detach(sink);
      binding.peer().disconnected(failure != null ? failure : new IOException("connection closed"));
    }
    ctx.fireChannelInactive();
  }
}
