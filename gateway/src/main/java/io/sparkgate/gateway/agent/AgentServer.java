package io.sparkgate.gateway.agent;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.sparkgate.proto.Command;
import io.sparkgate.proto.Control;
import io.sparkgate.proto.Event;
import io.sparkgate.proto.FrameCodec;
import io.sparkgate.proto.HandshakeCompleted;
import io.sparkgate.proto.HeartbeatHandler;
import io.sparkgate.proto.Outbox;
import io.sparkgate.proto.OutboxClosedException;
import io.sparkgate.proto.Sequenced;
import io.sparkgate.proto.SequenceTracker;
import io.sparkgate.proto.ServerHandshake;
import io.sparkgate.gateway.session.AgentRegistry;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The TCP server that driver-agents dial. One per gateway; it authenticates each connection with the
 * session's secret (see proto/README.md), then carries that session's commands and events, acknowledged
 * and replayed across reconnects.
 *
 * <p>In the gateway it runs on the Netty event loop of the sessions' Vert.x context
 * ({@link #start(String, int, EventLoopGroup)}): an event read from an agent is applied to its session
 * on the same thread, and a command a session sends is written without crossing threads. On this kind
 * of machine every cross-thread hand-off costs up to a millisecond (an idle vCPU has to be woken), so
 * the two hops saved are most of the gateway's share of a statement's latency. Without a group it
 * runs on an event loop of its own. Either way, events reach each session on the session's context,
 * in order. It listens only on the configured address: loopback for a local master.
 */
public final class AgentServer implements AgentRegistry {
  private static final Logger log = LoggerFactory.getLogger(AgentServer.class);
  /**
   * Connections in a row that fail with the same protocol error, no event accepted in between,
   * after which the link is given up: a frame that cannot be read is replayed on every reconnect.
   */
  static final int MAX_SAME_FAILURES = 5;

  /** Settings, with the defaults used when the gateway config says nothing. */
  public record Settings(
      int maxFrameLength, int heartbeatIntervalMillis, long handshakeTimeoutMillis, int maxQueuedCommands,
      long maxQueuedCommandBytes) {
    public static final int DEFAULT_MAX_FRAME_LENGTH = 8 * 1024 * 1024;
    public static final int DEFAULT_HEARTBEAT_INTERVAL_MILLIS = 5_000;
    public static final long DEFAULT_HANDSHAKE_TIMEOUT_MILLIS = 10_000;
    public static final int DEFAULT_MAX_QUEUED_COMMANDS = 1_000;
    public static final long DEFAULT_MAX_QUEUED_COMMAND_BYTES = 64L * 1024 * 1024;

    public static Settings defaults() {
      return new Settings(DEFAULT_MAX_FRAME_LENGTH, DEFAULT_HEARTBEAT_INTERVAL_MILLIS,
          DEFAULT_HANDSHAKE_TIMEOUT_MILLIS, DEFAULT_MAX_QUEUED_COMMANDS, DEFAULT_MAX_QUEUED_COMMAND_BYTES);
    }
  }

  private final Settings settings;
  private final ConcurrentMap<Integer, Link> links = new ConcurrentHashMap<>();
  private EventLoopGroup group;
  private boolean ownsGroup;
  private volatile Channel serverChannel;

  public AgentServer(Settings settings) {
    this.settings = Objects.requireNonNull(settings, "settings");
  }

  /**
   * Binds {@code host:port} (port 0 picks a free one) on an event loop of its own.
   *
   * @return the port bound
   */
  public Future<Integer> start(String host, int port) {
    return start(host, port, null);
  }

  /**
   * Binds {@code host:port} (port 0 picks a free one), serving connections on {@code loops} (for
   * instance the event loop of the sessions' Vert.x context); null for an event loop of its own.
   * A group given here is not shut down by {@link #close()}.
   *
   * @return the port bound
   */
  public synchronized Future<Integer> start(String host, int port, EventLoopGroup loops) {
    if (group != null) {
      return Future.failedFuture(new IllegalStateException("agent server already started"));
    }
    ownsGroup = loops == null;
    group = loops != null ? loops : new MultiThreadIoEventLoopGroup(1,
        new DefaultThreadFactory("sparkgate-agent-io", true), NioIoHandler.newFactory());
    Promise<Integer> bound = Promise.promise();
    new ServerBootstrap()
        .group(group)
        .channel(NioServerSocketChannel.class)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.SO_KEEPALIVE, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast("codec", new FrameCodec(settings.maxFrameLength()));
            ch.pipeline().addLast("handshake", new ServerHandshake(AgentServer.this::secretFor,
                AgentServer.this::admit, settings.heartbeatIntervalMillis(), settings.handshakeTimeoutMillis()));
            ch.pipeline().addLast("session", new Connection());
          }
        })
        .bind(host, port)
        .addListener((ChannelFutureListener) f -> {
          if (f.isSuccess()) {
            serverChannel = f.channel();
            int actual = ((InetSocketAddress) serverChannel.localAddress()).getPort();
            log.info("Agent server listening on {}:{}", host, actual);
            bound.complete(actual);
          } else {
            bound.fail(f.cause());
          }
        });
    return bound.future();
  }

  /**
   * Accepts an agent for {@code sessionId} from now on.
   *
   * @param secret the session's secret (the agent proves it holds it)
   * @param context where {@code handler} is called, in order
   */
  @Override
  public AgentEndpoint register(int sessionId, byte[] secret, Context context, AgentSessionHandler handler) {
    Link link = new Link(sessionId, secret.clone(), context, handler,
        new Outbox(settings.maxQueuedCommands(), settings.maxQueuedCommandBytes()));
    if (links.putIfAbsent(sessionId, link) != null) {
      throw new IllegalStateException("session " + sessionId + " is already registered");
    }
    return link;
  }

  /** Forgets {@code sessionId}: its connection closes and no agent is accepted for it any more. */
  @Override
  public void unregister(int sessionId) {
    Link link = links.remove(sessionId);
    if (link != null) {
      link.commands.close("session " + sessionId + " ended");
      Channel ch = link.channel;
      if (ch != null) {
        ch.close();
      }
    }
  }

  @Override
  public boolean listening() {
    io.netty.channel.Channel ch = serverChannel;
    return ch != null && ch.isActive();
  }

  public synchronized Future<Void> close() {
    links.keySet().forEach(this::unregister);
    if (group == null) {
      return Future.succeededFuture();
    }
    Promise<Void> done = Promise.promise();
    io.netty.channel.ChannelFuture closed = serverChannel != null ? serverChannel.close() : null;
    if (ownsGroup) {
      group.shutdownGracefully(0, 2, java.util.concurrent.TimeUnit.SECONDS)
          .addListener(f -> done.complete());
    } else if (closed != null) {
      closed.addListener(f -> done.complete());
    } else {
      done.complete();
    }
    group = null;
    return done.future();
  }

  private byte[] secretFor(int sessionId) {
    Link link = links.get(sessionId);
    return link == null ? null : link.secret;
  }

  private long admit(int sessionId, long agentLastCommandSeq) {
    Link link = links.get(sessionId);
    return link == null || link.givenUp != null ? ServerHandshake.Admission.CLOSED : link.events.lastSeq();
  }

  /** One session's link: outlives connections. */
  private static final class Link implements AgentEndpoint {
    final int sessionId;
    final byte[] secret;
    final Context context;
    final AgentSessionHandler handler;
    final Outbox commands;
    final SequenceTracker events = new SequenceTracker();
    volatile Channel channel;
    volatile String givenUp;
    private String lastFailure; // guarded by this
    private int sameFailures; // guarded by this

    Link(int sessionId, byte[] secret, Context context, AgentSessionHandler handler, Outbox commands) {
      this.sessionId = sessionId;
      this.secret = secret;
      this.context = context;
      this.handler = handler;
      this.commands = commands;
    }

    @Override
    public boolean send(Command command) {
      try {
        return commands.tryOffer(command) != null;
      } catch (OutboxClosedException e) {
        return false;
      }
    }

    @Override
    public boolean connected() {
      Channel ch = channel;
      return ch != null && ch.isActive();
    }

    synchronized void eventAccepted() {
      sameFailures = 0;
      lastFailure = null;
    }

    /** Counts a protocol failure; returns the reason to give up with, once, when it repeated too often. */
    synchronized String failed(String why) {
      sameFailures = why.equals(lastFailure) ? sameFailures + 1 : 1;
      lastFailure = why;
      if (sameFailures < MAX_SAME_FAILURES || givenUp != null) {
        return null;
      }
      givenUp = "the link to the driver's agent failed " + sameFailures + " times in a row with: " + why;
      return givenUp;
    }
  }

  /** The traffic of one authenticated connection (the handler after the handshake). */
  private final class Connection extends ChannelInboundHandlerAdapter {
    private Link link;
    private Outbox.Sink sink;
    private Throwable failure;

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (!(evt instanceof HandshakeCompleted done)) {
        super.userEventTriggered(ctx, evt);
        return;
      }
      Link l = links.get(done.sessionId());
      if (l == null) {
        ctx.close();
        return;
      }
      Channel ch = ctx.channel();
      ctx.pipeline().addBefore(ctx.name(), "heartbeat", new HeartbeatHandler(done.heartbeatIntervalMillis()));
      Channel previous = l.channel;
      l.channel = ch;
      if (previous != null && previous != ch) {
        // The agent dialled again while its old connection looked alive: the new one wins.
        previous.close();
      }
      link = l;
      sink = message -> ch.writeAndFlush(message, ch.voidPromise());
      try {
        l.commands.attach(done.peerLastSeq(), sink);
      } catch (RuntimeException e) {
        log.warn("Session {}: agent connection refused: {}", l.sessionId, e.getMessage());
        ctx.close();
        return;
      }
      log.info("Session {}: agent connected from {} (protocol v{})", l.sessionId, ch.remoteAddress(), done.version());
      l.context.runOnContext(v -> l.handler.agentConnected());
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      try {
        Link l = link;
        if (l == null) {
          return;
        }
        if (msg instanceof Sequenced s && s.payload() instanceof Event event) {
          if (l.events.accept(s.seq())) {
            l.eventAccepted();
            l.context.runOnContext(v -> l.handler.agentEvent(event));
          }
        } else if (msg instanceof Control.Ack ack) {
          l.commands.ack(ack.seq());
        } else {
          throw new IllegalStateException("unexpected message from an agent: " + msg);
        }
      } finally {
        ReferenceCountUtil.release(msg);
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      Link l = link;
      if (l != null) {
        long ack = l.events.takeAck();
        if (ack != SequenceTracker.NO_ACK) {
          ctx.writeAndFlush(new Control.Ack(ack), ctx.voidPromise());
        }
      }
      ctx.fireChannelReadComplete();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      failure = cause;
      if (cause instanceof io.sparkgate.proto.HandshakeException) {
        // The handshake closes the connection itself, once its Reject has reached the agent.
        log.info("Agent connection from {} refused: {}", ctx.channel().remoteAddress(), cause.getMessage());
        return;
      }
      if (link != null) {
        log.warn("Session {}: agent connection failed: {}", link.sessionId, cause.toString());
        if (cause instanceof io.netty.handler.codec.DecoderException || cause instanceof io.sparkgate.proto.OutOfSequenceException) {
          Link l = link;
          String reason = l.failed(cause.getMessage() != null ? cause.getMessage() : cause.toString());
          if (reason != null) {
            log.error("Session {}: giving up on its agent: {}", l.sessionId, reason);
            l.context.runOnContext(v -> l.handler.agentFailed(reason));
          }
        }
      } else {
        log.debug("Agent connection from {} failed before the handshake: {}", ctx.channel().remoteAddress(), cause.toString());
      }
      ctx.close();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      Link l = link;
      if (l != null) {
        l.commands.detach(sink);
        if (l.channel == ctx.channel()) {
          l.channel = null;
          Throwable cause = failure != null ? failure : new java.io.IOException("agent connection closed");
          l.context.runOnContext(v -> l.handler.agentDisconnected(cause));
        }
      }
      ctx.fireChannelInactive();
    }
  }
}
