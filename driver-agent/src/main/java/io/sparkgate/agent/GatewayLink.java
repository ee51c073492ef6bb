package io.sparkgate.agent;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.sparkgate.proto.ClientHandshake;
import io.sparkgate.proto.Command;
import io.sparkgate.proto.Event;
import io.sparkgate.proto.FrameCodec;
import io.sparkgate.proto.FrameSize;
import io.sparkgate.proto.HandshakeCompleted;
import io.sparkgate.proto.HandshakeException;
import io.sparkgate.proto.Outbox;
import io.sparkgate.proto.OutboxClosedException;
import io.sparkgate.proto.ProtocolException;
import io.sparkgate.proto.SequencedConnection;
import io.sparkgate.proto.SequenceTracker;
import io.sparkgate.proto.Sequenced;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent's end of its link to the gateway: dials, authenticates, keeps dialling back after any
 * drop (with a capped back-off), and never loses an event. Events wait in a bounded {@link Outbox}
 * until the gateway acknowledges them and are replayed on the next connection; commands are
 * numbered by the gateway and applied once each.
 *
 * <p>Uses the Netty of the Spark driver's classpath; one daemon I/O thread of its own.
 */
public final class GatewayLink implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(GatewayLink.class);
  private static final long MIN_BACKOFF_MILLIS = 100;
  private static final long MAX_BACKOFF_MILLIS = 5_000;
  private static final long HANDSHAKE_TIMEOUT_MILLIS = 10_000;

  /** What the agent learns from its link. Called on the link's I/O thread: do not block. */
  public interface Listener {
    /** A command, once, in the gateway's order. */
    void command(Command command);

    /** The gateway refused this agent for good (wrong secret, unknown session): exit. */
    void refused(String reason);

    /** No connection to the gateway for longer than the configured limit: exit. */
    void gatewayLost(long millisWithoutGateway);
  }

  private final String host;
  private final int port;
  private final int sessionId;
  private final byte[] secret;
  private final int maxFrameLength;
  private final long maxMillisWithoutGateway;
  private final Listener listener;
  private final Outbox events;
  private final SequenceTracker commands = new SequenceTracker();
  private final EventLoopGroup group;
  private final Connection connection = new Connection();
  private volatile boolean closed;
  private volatile Channel channel;
  /**
   * When the link was last up, or when the first dial ended without a connection; 0 while the first
   * dial is still going (a driver JVM starting on a loaded machine can take seconds to complete it,
   * which must not count as time without the gateway).
   */
  private volatile long lastConnectedNanos;
  private long backoffMillis = MIN_BACKOFF_MILLIS;

  /**
   * @param maxPendingEvents bound on events not yet acknowledged, in count
   * @param maxPendingBytes bound on events not yet acknowledged, in bytes; senders wait beyond it
   * @param maxMillisWithoutGateway how long to go on without a connection before {@link Listener#gatewayLost}
   */
  public GatewayLink(String host, int port, int sessionId, byte[] secret, int maxFrameLength,
      int maxPendingEvents, long maxPendingBytes, long maxMillisWithoutGateway, Listener listener) {
    this.host = Objects.requireNonNull(host, "host");
    this.port = port;
    this.sessionId = sessionId;
    this.secret = secret.clone();
    this.maxFrameLength = maxFrameLength;
    this.maxMillisWithoutGateway = maxMillisWithoutGateway;
    this.listener = Objects.requireNonNull(listener, "listener");
    this.events = new Outbox(maxPendingEvents, maxPendingBytes);
    this.group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("sparkgate-gateway-link", true),
        NioIoHandler.newFactory());
  }

  /** Dials the gateway now and keeps the link up until {@link #close()}. */
  public void start() {
    group.scheduleAtFixedRate(this::checkGatewayLost, 1, 1, TimeUnit.SECONDS);
    connect();
  }

  /**
   * Sends {@code event} now if connected, else when the link is back. Waits while the bounded outbox
   * is full (the gateway is away or slow): call it from the statement threads, never from the I/O
   * thread.
   *
   * @return false if the link was closed before the event could be queued
   */
  public boolean send(Event event) {
    // An event larger than a frame would break the link on every replay: cut or split it first.
    List<Event> fitted = EventFit.fit(event, maxFrameLength);
    if (fitted.isEmpty()) {
      log.error("Dropping a {} of {} bytes: it cannot be cut to the {}-byte frame limit",
          event.getClass().getSimpleName(), FrameSize.ofSequenced(event), maxFrameLength);
      return true;
    }
    if (fitted.size() != 1 || fitted.get(0) != event) {
      log.warn("A {} of {} bytes was cut to fit the {}-byte frame limit", event.getClass().getSimpleName(),
          FrameSize.ofSequenced(event), maxFrameLength);
    }
    for (Event part : fitted) {
      if (!offer(part)) {
        return false;
      }
    }
    return true;
  }

  private boolean offer(Event event) {
    try {
      while (!closed) {
        if (events.offer(event, 1, TimeUnit.SECONDS) != null) {
          return true;
        }
      }
    } catch (OutboxClosedException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      // The statement thread was interrupted (a cancel): the event still matters, queue it anyway.
      return events.tryOffer(event) != null;
    }
    return false;
  }

  /** Whether an authenticated connection is up. */
  public boolean connected() {
    Channel ch = channel;
    return ch != null && ch.isActive();
  }

  /**
   * Waits up to {@code timeoutMillis} for the gateway to acknowledge every event sent so far (so a
   * final result is not lost when the agent exits).
   */
  public void drain(long timeoutMillis) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
    while (events.size() > 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
  }

  @Override
  public void close() {
    closed = true;
    events.close("agent shutting down");
    Channel ch = channel;
    if (ch != null) {
      ch.close().awaitUninterruptibly(2, TimeUnit.SECONDS);
    }
    group.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
  }

  private void connect() {
    if (closed) {
      return;
    }
    new Bootstrap()
        .group(group)
        .channel(NioSocketChannel.class)
        .option(ChannelOption.TCP_NODELAY, true)
        .option(ChannelOption.SO_KEEPALIVE, true)
        .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5_000)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            // The whole pipeline, in one place: codec, handshake, then the sequenced streams.
            ch.pipeline().addLast("codec", new FrameCodec(maxFrameLength));
            ch.pipeline().addLast("handshake",
                new ClientHandshake(sessionId, secret, commands.lastSeq(), HANDSHAKE_TIMEOUT_MILLIS));
            ch.pipeline().addLast("sequenced", new SequencedConnection(new SequencedConnection.Binding(
                events, commands, SequencedConnection.AckGate.IMMEDIATE, connection)));
          }
        })
        .connect(host, port)
        .addListener((ChannelFutureListener) f -> {
          if (f.isSuccess()) {
            // Whatever ends this connection (a refused handshake too), dial again unless closed.
            f.channel().closeFuture().addListener(c -> {
              firstDialEnded();
              scheduleReconnect();
            });
          } else {
            log.debug("Could not reach the gateway at {}:{}: {}", host, port, f.cause().toString());
            firstDialEnded();
            scheduleReconnect();
          }
        });
  }

  private void scheduleReconnect() {
    if (closed) {
      return;
    }
    long delay = backoffMillis;
    backoffMillis = Math.min(MAX_BACKOFF_MILLIS, backoffMillis * 2);
    group.schedule(this::connect, delay, TimeUnit.MILLISECONDS);
  }

  private void firstDialEnded() {
    if (lastConnectedNanos == 0) {
      lastConnectedNanos = System.nanoTime();
    }
  }

  private void checkGatewayLost() {
    if (closed || connected() || lastConnectedNanos == 0) {
      return;
    }
    long away = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - lastConnectedNanos);
    if (away > maxMillisWithoutGateway) {
      closed = true;
      listener.gatewayLost(away);
    }
  }

  /** What the link hears from one connection (through {@link SequencedConnection}). */
  private final class Connection implements SequencedConnection.Peer {
    @Override
    public boolean connected(Channel ch, HandshakeCompleted done) {
      channel = ch;
      backoffMillis = MIN_BACKOFF_MILLIS;
      lastConnectedNanos = System.nanoTime();
      log.info("Connected to the gateway at {}:{} (protocol v{}, replaying after event {})",
          host, port, done.version(), done.peerLastSeq());
      return true;
    }

    @Override
    public void received(Sequenced.Payload payload) {
      if (!(payload instanceof Command command)) {
        throw new ProtocolException("the gateway sent an event: " + payload.getClass().getSimpleName());
      }
      listener.command(command);
    }

    @Override
    public void failed(Throwable cause) {
      if (cause instanceof HandshakeException h && h.reason() != null) {
        // The gateway said no (wrong secret, unknown or closed session, no common version):
        // dialling again cannot help.
        closed = true;
        listener.refused(h.getMessage());
      } else {
        log.warn("Gateway link failed: {}", cause.toString());
      }
    }

    @Override
    public void disconnected(Throwable cause) {
      channel = null;
      lastConnectedNanos = System.nanoTime();
      log.warn("Lost the gateway at {}:{}; dialling again", host, port);
    }
  }
}
