package io.sparkgate.gateway.agent;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.sparkgate.proto.Command;
import io.sparkgate.proto.Event;
import io.sparkgate.proto.FrameCodec;
import io.sparkgate.proto.HandshakeCompleted;
import io.sparkgate.proto.Outbox;
import io.sparkgate.proto.OutboxClosedException;
import io.sparkgate.proto.Sequenced;
import io.sparkgate.proto.SequencedConnection;
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
 * <p>In the gateway it accepts on Vert.x's event loops ({@link #start(String, int, EventLoopGroup)}),
 * and once an agent has authenticated for a session its connection moves to the event loop of that
 * session's context (sessions each have one, spread over the loops; see {@link Relocator}): an event
 * read from an agent is applied to its session on the same thread, and a command a session sends is
 * written without crossing threads. On this kind
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
  private boolean holdAgents;
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
        // A restarted gateway binds the port of its predecessor while old connections linger.
        .option(ChannelOption.SO_REUSEADDR, true)
        // Held: agents that dial in are left in the listen backlog until sessions are registered.
        .option(ChannelOption.AUTO_READ, !holdAgents)
        .childOption(ChannelOption.TCP_NODELAY, true)
        .childOption(ChannelOption.SO_KEEPALIVE, true)
        .childHandler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            // The whole pipeline, in one place: codec, handshake, then the session's sequenced streams.
            ch.pipeline().addLast("codec", new FrameCodec(settings.maxFrameLength()));
            ch.pipeline().addLast("handshake", new ServerHandshake(AgentServer.this::secretFor,
                AgentServer.this::admit, settings.heartbeatIntervalMillis(), settings.handshakeTimeoutMillis()));
            ch.pipeline().addLast("relocate", new Relocator());
            ch.pipeline().addLast("sequenced", new SequencedConnection(new Binder()));
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
   * Holds agents that dial in before {@link #acceptAgents()}: they wait in the listen backlog instead
   * of being refused as unknown while a restarted gateway reads its sessions back. Call before start.
   */
  public synchronized void holdAgents() {
    holdAgents = true;
  }

  /** Starts accepting agents held by {@link #holdAgents()}. */
  public synchronized void acceptAgents() {
    holdAgents = false;
    Channel ch = serverChannel;
    if (ch != null) {
      ch.config().setAutoRead(true);
    }
  }

  /** After a start whose bind failed: forgets the group so that {@link #start} can try another port. */
  public synchronized void resetAfterFailedStart() {
    if (serverChannel == null && group != null) {
      if (ownsGroup) {
        group.shutdownGracefully(0, 1, java.util.concurrent.TimeUnit.SECONDS);
      }
      group = null;
    }
  }

  /**
   * Accepts an agent for {@code sessionId} from now on.
   *
   * @param secret the session's secret (the agent proves it holds it)
   * @param context where {@code handler} is called, in order
   */
  @Override
  public AgentEndpoint register(int sessionId, byte[] secret, Context context, AgentSessionHandler handler) {
    return register(sessionId, secret, context, handler, LinkOptions.NEW);
  }

  /**
   * Accepts an agent for {@code sessionId}, resuming the streams of a session read back from the
   * state store, and with holder acks (events acknowledged once the session made them durable, see
   * {@link AgentEndpoint#acknowledge}) when {@code options} say so.
   */
  @Override
  public AgentEndpoint register(int sessionId, byte[] secret, Context context, AgentSessionHandler handler,
      LinkOptions options) {
    Link link = new Link(sessionId, secret.clone(), context, handler, options.resumed() ? null
        : new Outbox(settings.maxQueuedCommands(), settings.maxQueuedCommandBytes()), null, options);
    if (links.putIfAbsent(sessionId, link) != null) {
      throw new IllegalStateException("session " + sessionId + " is already registered");
    }
    return link;
  }

  /**
   * As {@link #register(int, byte[], Context, AgentSessionHandler)}, acknowledging the agent's
   * events only once {@code ackGate} allows it: the hook for storing events before they are
   * acknowledged (an unacknowledged event is replayed by the agent after a reconnect or a gateway
   * restart).
   */
  public AgentEndpoint register(int sessionId, byte[] secret, Context context, AgentSessionHandler handler,
      SequencedConnection.AckGate ackGate) {
    Link link = new Link(sessionId, secret.clone(), context, handler,
        new Outbox(settings.maxQueuedCommands(), settings.maxQueuedCommandBytes()), ackGate, LinkOptions.NEW);
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
      link.close("session " + sessionId + " ended");
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

  /**
   * Moves an authenticated connection to the event loop of its session's context before the
   * sequenced connection binds it: deregisters the channel and registers it with that loop, holding
   * what is read meanwhile and passing it on, in order, once there. Then it leaves the pipeline.
   */
  private final class Relocator extends ChannelInboundHandlerAdapter {
    private java.util.List<Object> held;

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
      if (!(evt instanceof HandshakeCompleted done)) {
        super.userEventTriggered(ctx, evt);
        return;
      }
      Link l = links.get(done.sessionId());
      io.netty.channel.EventLoop home = l != null && l.context instanceof io.vertx.core.internal.ContextInternal c
          && c.isEventLoopContext() ? c.nettyEventLoop() : null;
      Channel ch = ctx.channel();
      if (home == null || home == ch.eventLoop()) {
        ctx.pipeline().remove(this);
        ctx.fireUserEventTriggered(done);
        return;
      }
      held = new java.util.ArrayList<>();
      ch.config().setAutoRead(false);
      ch.deregister().addListener(d -> {
        if (!d.isSuccess()) {
          ch.close();
          return;
        }
        home.register(ch).addListener(r -> {
          java.util.List<Object> messages = held;
          held = null;
          if (!r.isSuccess() || !ch.isOpen()) {
            messages.forEach(ReferenceCountUtil::release);
            ch.close();
            return;
          }
          // Now on the session's loop.
          ctx.pipeline().remove(this);
          ctx.fireUserEventTriggered(done);
          for (Object m : messages) {
            ctx.fireChannelRead(m);
          }
          ctx.fireChannelReadComplete();
          ch.config().setAutoRead(true);
        });
      });
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (held != null) {
        held.add(msg);
      } else {
        ctx.fireChannelRead(msg);
      }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
      if (held == null) {
        ctx.fireChannelReadComplete();
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      if (held != null) {
        held.forEach(ReferenceCountUtil::release);
        held.clear();
      }
      ctx.fireChannelInactive();
    }
  }

  private byte[] secretFor(int sessionId) {
    Link link = links.get(sessionId);
    return link == null ? null : link.secret;
  }

  private long admit(int sessionId, long agentLastCommandSeq) {
    Link link = links.get(sessionId);
    if (link == null || link.givenUp != null) {
      return ServerHandshake.Admission.CLOSED;
    }
    if (link.resume(agentLastCommandSeq)) {
      log.info("Session {}: agent dialled back after a gateway restart (it holds commands up to {}, events"
          + " stored up to {})", sessionId, agentLastCommandSeq, link.durableSeq.get());
      link.context.runOnContext(v -> link.handler.agentResumed(agentLastCommandSeq));
    }
    // With holder acks, only what is durable counts as received: the agent replays the rest, and
    // the tracker skips what this gateway applied already.
    return link.holderAcks ? link.durableSeq.get() : link.events.lastSeq();
  }

  /** One session's link: outlives connections. */
  private final class Link implements AgentEndpoint, SequencedConnection.AckGate {
    final int sessionId;
    final byte[] secret;
    final Context context;
    final AgentSessionHandler handler;
    /** Null while a resumed link waits for its agent: the command stream continues after the agent's last. */
    volatile Outbox commands;
    final SequencedConnection.AckGate ackGate;
    final SequenceTracker events;
    final boolean holderAcks;
    /** The highest event seq the holder made durable. */
    final java.util.concurrent.atomic.AtomicLong durableSeq;
    /** Acks waiting for the holder, by the seq they need durable. Guarded by itself. */
    private final java.util.TreeMap<Long, java.util.concurrent.CompletableFuture<Void>> waitingAcks =
        new java.util.TreeMap<>();
    private java.util.List<Sequenced> lostCommands;
    private String closedReason;
    /** The seq of the event being delivered on the session's context. */
    volatile long appliedSeq;
    volatile Channel channel;
    volatile String givenUp;
    private String lastFailure; // guarded by this
    private int sameFailures; // guarded by this

    Link(int sessionId, byte[] secret, Context context, AgentSessionHandler handler, Outbox commands,
        SequencedConnection.AckGate ackGate, LinkOptions options) {
      this.holderAcks = options.holderAcks();
      this.ackGate = ackGate != null ? ackGate : holderAcks ? this : SequencedConnection.AckGate.IMMEDIATE;
      this.events = new SequenceTracker(options.lastEventSeq());
      this.durableSeq = new java.util.concurrent.atomic.AtomicLong(options.lastEventSeq());
      this.appliedSeq = options.lastEventSeq();
      this.lostCommands = options.resumed() ? options.lostCommands() : null;
      this.sessionId = sessionId;
      this.secret = secret;
      this.context = context;
      this.handler = handler;
      this.commands = commands;
    }

    @Override
    public boolean send(Command command) {
      Outbox out = commands;
      if (out == null) {
        return false; // A resumed link whose agent has not dialled back yet.
      }
      try {
        return out.tryOffer(command) != null;
      } catch (OutboxClosedException e) {
        return false;
      }
    }

    /**
     * For a resumed link, the first admission: the command stream continues after the agent's last
     * command, and the stored commands it lacks are queued again in order.
     *
     * @return whether this admission resumed the link
     */
    synchronized boolean resume(long agentLastCommandSeq) {
      if (commands != null || closedReason != null) {
        return false;
      }
      Outbox out = new Outbox(settings.maxQueuedCommands(), settings.maxQueuedCommandBytes(), agentLastCommandSeq);
      for (Sequenced lost : lostCommands) {
        if (lost.seq() > agentLastCommandSeq && lost.payload() instanceof Command c) {
          out.tryOffer(c);
        }
      }
      lostCommands = null;
      commands = out;
      return true;
    }

    synchronized void close(String reason) {
      closedReason = reason;
      if (commands != null) {
        commands.close(reason);
      }
    }

    @Override
    public long lastCommandSeq() {
      Outbox out = commands;
      return out == null ? 0 : out.lastSeq();
    }

    @Override
    public long appliedEventSeq() {
      return appliedSeq;
    }

    /** The holder made events up to {@code seq} durable: the acks waiting for them may go. */
    @Override
    public void acknowledge(long seq) {
      durableSeq.accumulateAndGet(seq, Math::max);
      java.util.List<java.util.concurrent.CompletableFuture<Void>> ready = new java.util.ArrayList<>();
      synchronized (waitingAcks) {
        java.util.Map<Long, java.util.concurrent.CompletableFuture<Void>> head = waitingAcks.headMap(seq, true);
        ready.addAll(head.values());
        head.clear();
      }
      ready.forEach(f -> f.complete(null));
    }

    /** The gate of holder acks: an Ack for {@code seq} waits until the holder made it durable. */
    @Override
    public java.util.concurrent.CompletionStage<Void> beforeAck(long seq) {
      if (durableSeq.get() >= seq) {
        return java.util.concurrent.CompletableFuture.completedFuture(null);
      }
      synchronized (waitingAcks) {
        if (durableSeq.get() >= seq) {
          return java.util.concurrent.CompletableFuture.completedFuture(null);
        }
        return waitingAcks.computeIfAbsent(seq, k -> new java.util.concurrent.CompletableFuture<>());
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

  /** Finds the session an authenticated connection serves. One per connection. */
  private final class Binder implements SequencedConnection.Binder {
    @Override
    public SequencedConnection.Binding bind(HandshakeCompleted done) {
      Link l = links.get(done.sessionId());
      Outbox out = l == null ? null : l.commands;
      return out == null ? null : new SequencedConnection.Binding(out, l.events, l.ackGate, new Connection(l));
    }

    @Override
    public void failedUnbound(Throwable cause) {
      if (cause instanceof io.sparkgate.proto.HandshakeException) {
        log.info("Agent connection refused: {}", cause.getMessage());
      } else {
        log.debug("Agent connection failed before the handshake: {}", cause.toString());
      }
    }
  }

  /** What one authenticated connection of a session brings. */
  private static final class Connection implements SequencedConnection.Peer {
    private final Link link;
    private Channel channel;

    Connection(Link link) {
      this.link = link;
    }

    @Override
    public boolean connected(Channel ch, HandshakeCompleted done) {
      channel = ch;
      Channel previous = link.channel;
      link.channel = ch;
      if (previous != null && previous != ch) {
        // The agent dialled again while its old connection looked alive: the new one wins.
        previous.close();
      }
      log.info("Session {}: agent connected from {} (protocol v{})", link.sessionId, ch.remoteAddress(), done.version());
      link.context.runOnContext(v -> link.handler.agentConnected());
      return true;
    }

    @Override
    public void received(Sequenced.Payload payload) {
      if (!(payload instanceof Event event)) {
        throw new io.sparkgate.proto.ProtocolException("an agent sent a command: " + payload.getClass().getSimpleName());
      }
      link.eventAccepted();
      // Called right after the tracker accepted it, on the channel's loop: its seq is the tracker's.
      long seq = link.events.lastSeq();
      link.context.runOnContext(v -> {
        link.appliedSeq = seq;
        link.handler.agentEvent(event);
      });
    }

    @Override
    public void failed(Throwable cause) {
      log.warn("Session {}: agent connection failed: {}", link.sessionId, cause.toString());
      if (cause instanceof io.netty.handler.codec.DecoderException || cause instanceof io.sparkgate.proto.OutOfSequenceException) {
        String reason = link.failed(cause.getMessage() != null ? cause.getMessage() : cause.toString());
        if (reason != null) {
          log.error("Session {}: giving up on its agent: {}", link.sessionId, reason);
          link.context.runOnContext(v -> link.handler.agentFailed(reason));
        }
      }
    }

    @Override
    public void disconnected(Throwable cause) {
      if (link.channel == channel) {
        link.channel = null;
        link.context.runOnContext(v -> link.handler.agentDisconnected(cause));
      }
    }
  }
}
