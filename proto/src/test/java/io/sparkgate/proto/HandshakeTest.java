package io.sparkgate.proto;

import static org.junit.jupiter.api.Assertions.*;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.ReferenceCountUtil;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The handshake between a real {@link ClientHandshake} pipeline and a real {@link ServerHandshake}
 * pipeline, each behind a {@link FrameCodec}: the bytes one side writes are fed to the other.
 */
class HandshakeTest extends LeakCheckedTest {
  private static final int SESSION = 7;
  private static final byte[] SECRET = AgentAuth.newSecret();
  private static final long TIMEOUT_MILLIS = 10_000;
  private static final int HEARTBEAT_MILLIS = 5_000;

  /** What reached the application handler after the handshake handler. */
  static final class Recorder extends ChannelInboundHandlerAdapter {
    final List<Object> events = new ArrayList<>();
    final List<Object> messages = new ArrayList<>();
    final List<Throwable> errors = new ArrayList<>();

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      messages.add(msg);
      ReferenceCountUtil.release(msg);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      events.add(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      errors.add(cause);
    }
  }

  private final List<EmbeddedChannel> channels = new ArrayList<>();
  /** Every message the server sent, decoded from the bytes on the way to the client. */
  private final List<Message> serverSent = new ArrayList<>();
  private final Recorder serverApp = new Recorder();
  private final Recorder clientApp = new Recorder();
  private long lastEventSeq = 42;

  @AfterEach
  void closeChannels() {
    channels.forEach(EmbeddedChannel::finishAndReleaseAll);
  }

  private EmbeddedChannel track(EmbeddedChannel ch) {
    channels.add(ch);
    return ch;
  }

  private ServerHandshake serverHandshake() {
    return new ServerHandshake(
        id -> id == SESSION ? SECRET : null,
        (id, agentLastCommandSeq) -> lastEventSeq,
        HEARTBEAT_MILLIS,
        TIMEOUT_MILLIS);
  }

  private EmbeddedChannel server(ServerHandshake handshake) {
    return track(new EmbeddedChannel(new FrameCodec(), handshake, serverApp));
  }

  private EmbeddedChannel client(ClientHandshake handshake) {
    return track(new EmbeddedChannel(new FrameCodec(), handshake, clientApp));
  }

  /** Moves bytes both ways until neither side has anything more to say. */
  private void pump(EmbeddedChannel client, EmbeddedChannel server) {
    boolean moved = true;
    while (moved) {
      moved = forward(client, server, null) | forward(server, client, serverSent);
    }
  }

  private boolean forward(EmbeddedChannel from, EmbeddedChannel to, List<Message> tap) {
    boolean moved = false;
    for (ByteBuf buf; (buf = from.readOutbound()) != null; ) {
      moved = true;
      if (tap != null) {
        tap.addAll(decode(buf.retainedDuplicate()));
      }
      if (to.isActive()) {
        to.writeInbound(buf);
      } else {
        buf.release();
      }
    }
    return moved;
  }

  private static List<Message> decode(ByteBuf bytes) {
    EmbeddedChannel decoder = new EmbeddedChannel(new FrameCodec());
    decoder.writeInbound(bytes);
    List<Message> out = new ArrayList<>();
    for (Object m; (m = decoder.readInbound()) != null; ) {
      out.add((Message) m);
    }
    decoder.finishAndReleaseAll();
    return out;
  }

  private static ByteBuf encode(Message... messages) {
    EmbeddedChannel encoder = new EmbeddedChannel(new FrameCodec());
    CompositeByteBuf all = Unpooled.compositeBuffer();
    for (Message m : messages) {
      encoder.writeOutbound(m);
      all.addComponent(true, encoder.readOutbound());
    }
    encoder.finishAndReleaseAll();
    return all;
  }

  @Test
  void anAgentWithTheRightSecretIsWelcomedAndBothSidesLearnWhereToResume() {
    ServerHandshake serverHandshake = serverHandshake();
    ClientHandshake clientHandshake = new ClientHandshake(SESSION, SECRET, 3, TIMEOUT_MILLIS);
    EmbeddedChannel server = server(serverHandshake);
    EmbeddedChannel client = client(clientHandshake);

    pump(client, server);

    assertEquals(List.of(new HandshakeCompleted(1, SESSION, 3, HEARTBEAT_MILLIS)), serverApp.events);
    assertEquals(List.of(new HandshakeCompleted(1, SESSION, 42, HEARTBEAT_MILLIS)), clientApp.events);
    assertEquals(serverApp.events.get(0), serverHandshake.outcome().join());
    assertEquals(clientApp.events.get(0), clientHandshake.outcome().join());
    assertNull(server.pipeline().get(ServerHandshake.class), "removed itself");
    assertNull(client.pipeline().get(ClientHandshake.class), "removed itself");
    assertTrue(server.isActive() && client.isActive());
    assertEquals(List.of(), serverApp.errors);
    assertEquals(List.of(), clientApp.errors);

    Handshake.Challenge challenge = (Handshake.Challenge) serverSent.get(0);
    assertEquals(ProtocolVersion.NONCE_LENGTH, challenge.nonce().length);
    assertEquals(new Handshake.Welcome(42, HEARTBEAT_MILLIS), serverSent.get(1));

    // After the handshake, sequenced traffic flows straight to the application handlers.
    Sequenced execute = new Sequenced(4, new Command.Execute(1, "spark", "1 + 1"));
    server.writeOutbound(execute);
    Sequenced ready = new Sequenced(43, new Event.StatementStarted(1));
    client.writeOutbound(ready);
    pump(client, server);
    assertEquals(List.of(execute), clientApp.messages);
    assertEquals(List.of(ready), serverApp.messages);
  }

  @Test
  void framesThatFollowWelcomeInTheSameReadReachTheApplicationAfterTheCompletionEvent() {
    EmbeddedChannel client = client(new ClientHandshake(SESSION, SECRET, 0, TIMEOUT_MILLIS));
    Handshake.Hello hello = (Handshake.Hello) decode(client.readOutbound()).get(0);
    assertEquals(new Handshake.Hello(ProtocolVersion.MIN_SUPPORTED, ProtocolVersion.MAX_SUPPORTED, SESSION), hello);

    byte[] nonce = AgentAuth.newNonce();
    client.writeInbound(encode(new Handshake.Challenge(1, nonce)));
    Handshake.Auth auth = (Handshake.Auth) decode(client.readOutbound()).get(0);
    assertTrue(AgentAuth.verify(SECRET, 1, SESSION, nonce, auth.proof()));
    assertEquals(0, auth.lastCommandSeq());

    Sequenced replayed = new Sequenced(1, new Command.Execute(0, "sql", "select 1"));
    client.writeInbound(encode(new Handshake.Welcome(0, 1000), replayed));
    assertEquals(List.of(new HandshakeCompleted(1, SESSION, 0, 1000)), clientApp.events);
    assertEquals(List.of(replayed), clientApp.messages);
  }

  @Test
  void anAgentWithoutACommonVersionIsRejectedAndBothSidesSayWhy() {
    EmbeddedChannel server = server(serverHandshake());
    ClientHandshake clientHandshake = new ClientHandshake(SESSION, SECRET, 0, TIMEOUT_MILLIS, 2, 3);
    EmbeddedChannel client = client(clientHandshake);

    pump(client, server);

    Handshake.Reject reject = (Handshake.Reject) serverSent.get(0);
    assertEquals(Handshake.RejectReason.UNSUPPORTED_VERSION, reject.reasonCode());
    assertTrue(reject.reason().contains("2 to 3"), reject.reason());
    assertInstanceOf(UnsupportedProtocolVersionException.class, serverApp.errors.get(0));
    UnsupportedProtocolVersionException e =
        assertInstanceOf(UnsupportedProtocolVersionException.class, clientApp.errors.get(0));
    assertEquals(Handshake.RejectReason.UNSUPPORTED_VERSION, e.reason());
    assertFalse(server.isActive(), "the gateway closes after Reject");
    assertFalse(client.isActive());
    CompletionException failed = assertThrows(CompletionException.class, () -> clientHandshake.outcome().join());
    assertInstanceOf(UnsupportedProtocolVersionException.class, failed.getCause());
    assertEquals(List.of(), clientApp.events);
  }

  @Test
  void anAgentWithTheWrongSecretIsRejected() {
    EmbeddedChannel server = server(serverHandshake());
    EmbeddedChannel client = client(new ClientHandshake(SESSION, AgentAuth.newSecret(), 0, TIMEOUT_MILLIS));

    pump(client, server);

    assertEquals(Handshake.RejectReason.AUTH_FAILED, ((Handshake.Reject) serverSent.get(1)).reasonCode());
    assertInstanceOf(AuthenticationFailedException.class, serverApp.errors.get(0));
    assertInstanceOf(AuthenticationFailedException.class, clientApp.errors.get(0));
    assertFalse(server.isActive());
    assertFalse(client.isActive());
    assertEquals(List.of(), serverApp.events);
  }

  @Test
  void aProofForAnotherSessionIsRejected() {
    // An agent of session 8 (with its own secret) claims session 7 using its own proof.
    EmbeddedChannel server = server(serverHandshake());
    EmbeddedChannel client = client(new ClientHandshake(SESSION, "another session secret!!".getBytes(StandardCharsets.US_ASCII), 0, TIMEOUT_MILLIS));
    pump(client, server);
    assertInstanceOf(AuthenticationFailedException.class, clientApp.errors.get(0));
  }

  @Test
  void anUnknownSessionIsRejectedBeforeAnyChallenge() {
    EmbeddedChannel server = server(serverHandshake());
    EmbeddedChannel client = client(new ClientHandshake(99, SECRET, 0, TIMEOUT_MILLIS));

    pump(client, server);

    assertEquals(
        List.of(new Handshake.Reject(Handshake.RejectReason.UNKNOWN_SESSION, "unknown session 99")), serverSent);
    HandshakeException e = assertInstanceOf(HandshakeException.class, clientApp.errors.get(0));
    assertEquals(Handshake.RejectReason.UNKNOWN_SESSION, e.reason());
    assertFalse(client.isActive());
  }

  @Test
  void aClosedSessionRefusesItsAgentAfterAuthentication() {
    lastEventSeq = ServerHandshake.Admission.CLOSED;
    EmbeddedChannel server = server(serverHandshake());
    EmbeddedChannel client = client(new ClientHandshake(SESSION, SECRET, 0, TIMEOUT_MILLIS));

    pump(client, server);

    assertEquals(Handshake.RejectReason.SESSION_CLOSED, ((Handshake.Reject) serverSent.get(1)).reasonCode());
    assertEquals(Handshake.RejectReason.SESSION_CLOSED, ((HandshakeException) clientApp.errors.get(0)).reason());
    assertFalse(server.isActive());
  }

  @Test
  void aSequencedFrameBeforeTheHandshakeClosesTheConnection() {
    ServerHandshake handshake = serverHandshake();
    EmbeddedChannel server = server(handshake);
    server.writeInbound(encode(new Sequenced(1, new Event.Ready("app", ""))));

    HandshakeException e = assertInstanceOf(HandshakeException.class, serverApp.errors.get(0));
    assertTrue(e.getMessage().contains("Sequenced received before the handshake completed"), e.getMessage());
    assertFalse(server.isActive());
    assertEquals(List.of(), serverApp.messages, "the frame was not passed on");
    assertTrue(handshake.outcome().isCompletedExceptionally());
  }

  @Test
  void authBeforeHelloClosesTheConnection() {
    EmbeddedChannel server = server(serverHandshake());
    server.writeInbound(encode(new Handshake.Auth(new byte[AgentAuth.PROOF_LENGTH], 0)));
    HandshakeException e = assertInstanceOf(HandshakeException.class, serverApp.errors.get(0));
    assertEquals("Auth received while waiting for Hello", e.getMessage());
    assertFalse(server.isActive());
  }

  @Test
  void aChallengeForAVersionTheAgentDidNotOfferFailsTheAgent() {
    EmbeddedChannel client = client(new ClientHandshake(SESSION, SECRET, 0, TIMEOUT_MILLIS));
    ReferenceCountUtil.release(client.readOutbound());
    client.writeInbound(encode(new Handshake.Challenge(ProtocolVersion.MAX_SUPPORTED + 1, AgentAuth.newNonce())));
    assertInstanceOf(UnsupportedProtocolVersionException.class, clientApp.errors.get(0));
    assertNull(client.readOutbound(), "no proof was sent");
    assertFalse(client.isActive());
  }

  @Test
  void aMalformedFrameDuringTheHandshakeFailsItWithTheProtocolError() {
    ServerHandshake handshake = serverHandshake();
    EmbeddedChannel server = server(handshake);
    server.writeInbound(Unpooled.buffer().writeInt(1).writeByte(0x7e));
    assertInstanceOf(ProtocolException.class, serverApp.errors.get(0));
    assertFalse(server.isActive());
    CompletionException e = assertThrows(CompletionException.class, () -> handshake.outcome().join());
    assertInstanceOf(ProtocolException.class, e.getCause());
  }

  @Test
  void aSilentPeerFailsTheHandshakeAtTheTimeout() {
    ServerHandshake handshake = serverHandshake();
    EmbeddedChannel server = server(handshake);
    server.freezeTime(); // only advanceTimeBy moves the clock
    server.advanceTimeBy(TIMEOUT_MILLIS - 1, TimeUnit.MILLISECONDS);
    server.runScheduledPendingTasks();
    assertTrue(server.isActive());

    server.advanceTimeBy(1, TimeUnit.MILLISECONDS);
    server.runScheduledPendingTasks();
    HandshakeTimeoutException e = assertInstanceOf(HandshakeTimeoutException.class, serverApp.errors.get(0));
    assertTrue(e.getMessage().contains("10000 ms"), e.getMessage());
    assertFalse(server.isActive());
    assertTrue(handshake.outcome().isCompletedExceptionally());
  }

  @Test
  void aCompletedHandshakeCancelsItsTimeout() {
    EmbeddedChannel server = server(serverHandshake());
    EmbeddedChannel client = client(new ClientHandshake(SESSION, SECRET, 0, TIMEOUT_MILLIS));
    pump(client, server);
    server.advanceTimeBy(2 * TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
    client.advanceTimeBy(2 * TIMEOUT_MILLIS, TimeUnit.MILLISECONDS);
    server.runScheduledPendingTasks();
    client.runScheduledPendingTasks();
    assertTrue(server.isActive() && client.isActive());
    assertEquals(List.of(), serverApp.errors);
  }

  @Test
  void theConnectionClosingMidHandshakeFailsIt() {
    ClientHandshake handshake = new ClientHandshake(SESSION, SECRET, 0, TIMEOUT_MILLIS);
    EmbeddedChannel client = client(handshake);
    client.close();
    CompletionException e = assertThrows(CompletionException.class, () -> handshake.outcome().join());
    assertEquals("connection closed before the handshake completed", e.getCause().getMessage());
  }
}
