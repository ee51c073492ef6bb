package io.sparkgate.gateway.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.sparkgate.gateway.testing.GatewayTestBase;
import io.sparkgate.proto.AgentAuth;
import io.sparkgate.proto.AuthenticationFailedException;
import io.sparkgate.proto.ClientHandshake;
import io.sparkgate.proto.Command;
import io.sparkgate.proto.Control;
import io.sparkgate.proto.Event;
import io.sparkgate.proto.FrameCodec;
import io.sparkgate.proto.HandshakeCompleted;
import io.sparkgate.proto.Sequenced;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The agent server over real loopback sockets, with a client built from proto's own handshake and
 * codec (the agent's side, without a Spark driver): authentication, in-order delivery on the
 * session's context, acknowledgements, and a reconnect that loses nothing and repeats nothing.
 */
class AgentServerTest {
  private static final int SESSION = 7;

  private Vertx vertx;
  private Context sessions;
  private AgentServer server;
  private int port;
  private EventLoopGroup clientLoop;
  private final byte[] secret = AgentAuth.newSecret();
  private final Handler handler = new Handler();

  /** Records what the session hears, and on which thread. */
  private final class Handler implements AgentSessionHandler {
    final List<Object> heard = new CopyOnWriteArrayList<>();
    final List<Boolean> onContext = new CopyOnWriteArrayList<>();

    private void note(Object o) {
      onContext.add(Context.isOnEventLoopThread() && Vertx.currentContext() != null
          && ((ContextInternal) Vertx.currentContext()).nettyEventLoop() == ((ContextInternal) sessions).nettyEventLoop());
      heard.add(o);
    }

    @Override
    public void agentConnected() {
      note("connected");
    }

    @Override
    public void agentEvent(Event event) {
      note(event);
    }

    @Override
    public void agentDisconnected(Throwable cause) {
      note("disconnected");
    }

    @Override
    public void agentFailed(String reason) {
      note("failed: " + reason);
    }
  }

  /** The agent's end of one connection: what it reads, after the handshake. */
  private static final class FakeAgentConnection extends ChannelInboundHandlerAdapter {
    final BlockingQueue<Object> received = new LinkedBlockingQueue<>();
    final CompletableFuture<HandshakeCompleted> handshake = new CompletableFuture<>();

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof HandshakeCompleted done) {
        handshake.complete(done);
      }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      received.add(msg);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      handshake.completeExceptionally(cause);
      ctx.close();
    }
  }

  @BeforeEach
  void start() {
    vertx = Vertx.vertx(GatewayTestBase.strictOptions());
    sessions = vertx.getOrCreateContext();
    server = new AgentServer(AgentServer.Settings.defaults());
    port = GatewayTestBase.await(server.start("127.0.0.1", 0, ((ContextInternal) sessions).nettyEventLoop()));
    clientLoop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
  }

  @AfterEach
  void stop() throws Exception {
    GatewayTestBase.await(server.close());
    clientLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
    GatewayTestBase.await(vertx.close());
  }

  private Channel dial(byte[] withSecret, long lastCommandSeq, FakeAgentConnection app) throws InterruptedException {
    return new Bootstrap().group(clientLoop).channel(NioSocketChannel.class)
        .handler(new ChannelInitializer<SocketChannel>() {
          @Override
          protected void initChannel(SocketChannel ch) {
            ch.pipeline().addLast(new FrameCodec(), new ClientHandshake(SESSION, withSecret, lastCommandSeq, 5_000), app);
          }
        })
        .connect("127.0.0.1", port).sync().channel();
  }

  private static void awaitTrue(String what, java.util.function.BooleanSupplier condition) {
    GatewayTestBase.awaitTrue(what, condition::getAsBoolean);
  }

  @Test
  void anAgentWithoutTheSecretIsRefusedAndTheSessionHearsNothing() throws Exception {
    server.register(SESSION, secret, sessions, handler);
    FakeAgentConnection app = new FakeAgentConnection();
    Channel ch = dial(AgentAuth.newSecret(), 0, app);
    Throwable failure = app.handshake.handle((ok, e) -> e).get(10, TimeUnit.SECONDS);
    assertInstanceOf(AuthenticationFailedException.class, failure, String.valueOf(failure));
    ch.closeFuture().await(5, TimeUnit.SECONDS);
    assertTrue(handler.heard.isEmpty(), "heard " + handler.heard);
  }

  @Test
  void eventsArriveInOrderOnTheSessionsContextAndAReconnectLosesAndRepeatsNothing() throws Exception {
    AgentEndpoint endpoint = server.register(SESSION, secret, sessions, handler);
    assertTrue(endpoint.send(new Command.Execute(0, "spark", "1 + 1")), "queued before any agent dialled");

    // First connection: the queued command arrives; three events go up and are acknowledged.
    FakeAgentConnection first = new FakeAgentConnection();
    Channel ch = dial(secret, 0, first);
    assertEquals(0, first.handshake.get(10, TimeUnit.SECONDS).peerLastSeq(), "the gateway has no event yet");
    assertEquals(new Sequenced(1, new Command.Execute(0, "spark", "1 + 1")), first.received.poll(10, TimeUnit.SECONDS));
    ch.writeAndFlush(new Control.Ack(1));
    ch.writeAndFlush(new Sequenced(1, new Event.StatementStarted(0)));
    ch.writeAndFlush(new Sequenced(2, new Event.StatementProgress(0, 1, 2)));
    ch.writeAndFlush(new Sequenced(3, Event.StatementResult.ok(0, "{\"text/plain\":\"2\"}", false)));
    awaitTrue("three events heard", () -> handler.heard.size() == 4);
    awaitTrue("the events acknowledged", () -> first.received.stream()
        .anyMatch(m -> m instanceof Control.Ack a && a.seq() == 3));

    // The connection drops; the gateway queues a command meanwhile.
    ch.close().sync();
    awaitTrue("the session hears the drop", () -> handler.heard.contains("disconnected"));
    assertTrue(endpoint.send(new Command.Cancel(0)));

    // The agent dials back: the gateway says it has events up to 3, the agent replays 3 (a
    // duplicate, as if its ack was lost) and sends 4; the command queued meanwhile arrives.
    FakeAgentConnection second = new FakeAgentConnection();
    Channel again = dial(secret, 1, second);
    assertEquals(3, second.handshake.get(10, TimeUnit.SECONDS).peerLastSeq());
    assertEquals(new Sequenced(2, new Command.Cancel(0)), second.received.poll(10, TimeUnit.SECONDS));
    again.writeAndFlush(new Sequenced(3, Event.StatementResult.ok(0, "{\"text/plain\":\"2\"}", false)));
    again.writeAndFlush(new Sequenced(4, new Event.Completion(9, List.of("range"))));
    awaitTrue("the new event heard", () -> handler.heard.stream().anyMatch(o -> o instanceof Event.Completion));

    assertEquals(List.of(
            "connected",
            new Event.StatementStarted(0),
            new Event.StatementProgress(0, 1, 2),
            Event.StatementResult.ok(0, "{\"text/plain\":\"2\"}", false),
            "disconnected",
            "connected",
            new Event.Completion(9, List.of("range"))),
        handler.heard, "each event once, in order");
    assertTrue(handler.onContext.stream().allMatch(b -> b), "every call on the session's event loop");
    again.close().sync();
  }

  @Test
  void aFrameTooLargeReplayedOnEveryReconnectMakesTheGatewayGiveUpOnTheLink() throws Exception {
    server.register(SESSION, secret, sessions, handler);
    // A peer without the agent's cap (an older agent): its event is larger than the gateway's
    // 8 MiB frame cap, and it replays it after every drop, as an agent replays what is unacknowledged.
    Event.StatementResult huge = Event.StatementResult.error(0, "java.lang.RuntimeException",
        "x".repeat(AgentServer.Settings.DEFAULT_MAX_FRAME_LENGTH + 1), List.of());
    for (int attempt = 1; attempt <= AgentServer.MAX_SAME_FAILURES; attempt++) {
      FakeAgentConnection app = new FakeAgentConnection();
      Channel ch = new Bootstrap().group(clientLoop).channel(NioSocketChannel.class)
          .handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
              ch.pipeline().addLast(new FrameCodec(64 * 1024 * 1024), new ClientHandshake(SESSION, secret, 0, 5_000), app);
            }
          })
          .connect("127.0.0.1", port).sync().channel();
      app.handshake.get(10, TimeUnit.SECONDS);
      ch.writeAndFlush(new Sequenced(1, huge));
      assertTrue(ch.closeFuture().await(10, TimeUnit.SECONDS), "the gateway closes the connection");
    }
    awaitTrue("the session is told", () -> handler.heard.stream().anyMatch(o -> o instanceof String s && s.startsWith("failed: ")));
    String failed = (String) handler.heard.stream().filter(o -> o instanceof String s && s.startsWith("failed: ")).findFirst().orElseThrow();
    assertTrue(failed.contains(AgentServer.MAX_SAME_FAILURES + " times in a row") && failed.contains("exceeds the maximum"), failed);

    // From now on the agent is refused.
    FakeAgentConnection refused = new FakeAgentConnection();
    dial(secret, 0, refused);
    Throwable failure = refused.handshake.handle((ok, e) -> e).get(10, TimeUnit.SECONDS);
    assertEquals(io.sparkgate.proto.Handshake.RejectReason.SESSION_CLOSED,
        assertInstanceOf(io.sparkgate.proto.HandshakeException.class, failure, String.valueOf(failure)).reason());
  }

  @Test
  void aSilentLinkIsDetectedByHeartbeatsAndTheAgentDialsBackThroughTheProxy() throws Exception {
    // A gateway with a short heartbeat, and a proxy on the agent's path that goes half-open: the
    // sockets stay open but nothing flows, so only the heartbeats can tell.
    AgentServer quick = new AgentServer(new AgentServer.Settings(AgentServer.Settings.DEFAULT_MAX_FRAME_LENGTH, 200,
        5_000, 100, 1 << 20));
    int quickPort = GatewayTestBase.await(quick.start("127.0.0.1", 0, ((ContextInternal) sessions).nettyEventLoop()));
    try (io.sparkgate.gateway.testing.LinkProxy proxy = new io.sparkgate.gateway.testing.LinkProxy("127.0.0.1", quickPort)) {
      quick.register(SESSION, secret, sessions, handler);
      FakeAgentConnection app = new FakeAgentConnection();
      Channel ch = new Bootstrap().group(clientLoop).channel(NioSocketChannel.class)
          .handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel c) {
              c.pipeline().addLast(new FrameCodec(), new ClientHandshake(SESSION, secret, 0, 5_000), app);
            }
          })
          .connect("127.0.0.1", proxy.port()).sync().channel();
      app.handshake.get(10, TimeUnit.SECONDS);
      // The agent's heartbeats, as the real agent sends them once connected.
      ch.pipeline().addBefore(ch.pipeline().context(app).name(), "heartbeat", new io.sparkgate.proto.HeartbeatHandler(200));
      awaitTrue("connected", () -> handler.heard.contains("connected"));

      proxy.halfOpen(true);

      awaitTrue("the gateway notices the silence", () -> handler.heard.contains("disconnected"));
      assertEquals(1, proxy.connections());
      ch.close().sync();
    } finally {
      GatewayTestBase.await(quick.close());
    }
  }
}
