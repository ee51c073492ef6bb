package io.sparkgate.proto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.embedded.EmbeddedChannel;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Two real pipelines (codec and sequenced connection, as the gateway and the agent assemble them,
 * the handshake's outcome fired by hand) joined by a test that carries the bytes, so that it can
 * drop a connection, replay, and hold acknowledgements back. Buffers are leak-checked.
 */
class SequencedConnectionTest extends LeakCheckedTest {
  private static final int SESSION = 7;
  private static final int HEARTBEAT_MILLIS = 60_000;

  /** What one side heard, in order. */
  static final class Heard implements SequencedConnection.Peer {
    final List<Object> heard = new ArrayList<>();
    boolean accept = true;

    @Override
    public boolean connected(Channel channel, HandshakeCompleted handshake) {
      heard.add("connected after " + handshake.peerLastSeq());
      return accept;
    }

    @Override
    public void received(Sequenced.Payload payload) {
      heard.add(payload);
    }

    @Override
    public void failed(Throwable cause) {
      heard.add(cause);
    }

    @Override
    public void disconnected(Throwable cause) {
      heard.add("disconnected");
    }
  }

  // The streams, which outlive connections: the gateway's commands and the agent's events.
  private final Outbox commands = new Outbox(100, 1 << 20);
  private final SequenceTracker commandsReceived = new SequenceTracker();
  private final Outbox events = new Outbox(100, 1 << 20);
  private final SequenceTracker eventsReceived = new SequenceTracker();
  private final Heard gatewayHeard = new Heard();
  private final Heard agentHeard = new Heard();
  private final List<EmbeddedChannel> channels = new ArrayList<>();

  @AfterEach
  void release() {
    channels.forEach(EmbeddedChannel::finishAndReleaseAll);
  }

  private EmbeddedChannel gateway(SequencedConnection.AckGate gate) {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameCodec(), new SequencedConnection(
        new SequencedConnection.Binding(commands, eventsReceived, gate, gatewayHeard)));
    channels.add(ch);
    return ch;
  }

  private EmbeddedChannel agent() {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameCodec(), new SequencedConnection(
        new SequencedConnection.Binding(events, commandsReceived, SequencedConnection.AckGate.IMMEDIATE, agentHeard)));
    channels.add(ch);
    return ch;
  }

  /** Both ends of a new connection, after a handshake in which each side stated its last seq. */
  private EmbeddedChannel[] connect(SequencedConnection.AckGate gatewayGate) {
    EmbeddedChannel gw = gateway(gatewayGate);
    EmbeddedChannel ag = agent();
    gw.pipeline().fireUserEventTriggered(new HandshakeCompleted(1, SESSION, commandsReceived.lastSeq(), HEARTBEAT_MILLIS));
    ag.pipeline().fireUserEventTriggered(new HandshakeCompleted(1, SESSION, eventsReceived.lastSeq(), HEARTBEAT_MILLIS));
    return new EmbeddedChannel[] {gw, ag};
  }

  /** Carries every pending byte both ways until nothing moves. */
  private static void pump(EmbeddedChannel a, EmbeddedChannel b) {
    boolean moved = true;
    while (moved) {
      moved = carry(a, b) | carry(b, a);
    }
  }

  /** Everything {@code from} wrote, to {@code to} in one read batch (as one TCP read would). */
  private static boolean carry(EmbeddedChannel from, EmbeddedChannel to) {
    List<Object> batch = new ArrayList<>();
    for (Object bytes; (bytes = from.readOutbound()) != null; ) {
      batch.add(bytes);
    }
    if (batch.isEmpty()) {
      return false;
    }
    if (to.isActive()) {
      to.writeInbound(batch.toArray());
    } else {
      batch.forEach(io.netty.util.ReferenceCountUtil::release);
    }
    return true;
  }

  private static Event.StatementStarted started(int id) {
    return new Event.StatementStarted(id);
  }

  @Test
  void whatWasSentWhileDisconnectedIsReplayedOnceInOrderAndAcknowledged() {
    commands.tryOffer(new Command.Execute(1, "spark", "1 + 1"));
    events.tryOffer(started(1));
    events.tryOffer(started(2));

    EmbeddedChannel[] link = connect(SequencedConnection.AckGate.IMMEDIATE);
    pump(link[0], link[1]);

    assertEquals(List.of("connected after 0", started(1), started(2)), gatewayHeard.heard);
    assertEquals(List.of("connected after 0", new Command.Execute(1, "spark", "1 + 1")), agentHeard.heard);
    assertEquals(0, events.size(), "acknowledged events are released");
    assertEquals(0, commands.size(), "acknowledged commands are released");

    // New messages flow at once on the live connection.
    events.tryOffer(started(3));
    pump(link[0], link[1]);
    assertEquals(started(3), gatewayHeard.heard.get(3));
  }

  @Test
  void aDropLosesNothingAndRepeatsNothing() {
    EmbeddedChannel[] first = connect(SequencedConnection.AckGate.IMMEDIATE);
    events.tryOffer(started(1));
    pump(first[0], first[1]);
    // Event 2 is written but the connection drops before it arrives.
    events.tryOffer(started(2));
    ByteBuf lost = first[1].readOutbound(); // lost on the wire
    lost.release();
    first[1].close();
    first[0].close();
    events.tryOffer(started(3)); // while disconnected

    EmbeddedChannel[] second = connect(SequencedConnection.AckGate.IMMEDIATE);
    pump(second[0], second[1]);

    assertEquals(List.of("connected after 0", started(1), "disconnected", "connected after 0", started(2), started(3)),
        gatewayHeard.heard);
    assertEquals(0, events.size());
  }

  @Test
  void aReplayedDuplicateIsSkippedAndAGapFailsTheConnection() {
    EmbeddedChannel gw = gateway(SequencedConnection.AckGate.IMMEDIATE);
    gw.pipeline().fireUserEventTriggered(new HandshakeCompleted(1, SESSION, 0, HEARTBEAT_MILLIS));
    gw.writeInbound(new Sequenced(1, started(1)));
    gw.writeInbound(new Sequenced(1, started(1)));
    assertEquals(List.of("connected after 0", started(1)), gatewayHeard.heard);

    gw.writeInbound(new Sequenced(3, started(3)));

    assertFalse(gw.isActive(), "a gap closes the connection");
    assertInstanceOf(OutOfSequenceException.class, gatewayHeard.heard.get(2));
    assertEquals("disconnected", gatewayHeard.heard.get(3));
    assertEquals(4, gatewayHeard.heard.size(), "told once each");
  }

  @Test
  void theAckWaitsForTheGateAndANotStoredEventIsNeverAcknowledged() {
    List<CompletableFuture<Void>> stores = new ArrayList<>();
    List<Long> asked = new ArrayList<>();
    EmbeddedChannel[] link = connect(seq -> {
      asked.add(seq);
      CompletableFuture<Void> stored = new CompletableFuture<>();
      stores.add(stored);
      return stored;
    });
    events.tryOffer(started(1));
    events.tryOffer(started(2));
    pump(link[0], link[1]);
    assertEquals(List.of(2L), asked, "one ack per batch of reads, cumulative");
    assertEquals(2, events.size(), "not acknowledged before it is stored");

    stores.get(0).complete(null);
    pump(link[0], link[1]);
    assertEquals(0, events.size(), "acknowledged once stored");

    events.tryOffer(started(3));
    pump(link[0], link[1]);
    stores.get(1).completeExceptionally(new IOException("disk full"));
    link[0].runPendingTasks();
    pump(link[0], link[1]);
    assertEquals(1, events.size(), "never acknowledged");
    assertFalse(link[0].isActive(), "the gateway drops the connection: the agent replays on the next one");
    Object failure = gatewayHeard.heard.get(gatewayHeard.heard.size() - 2);
    assertTrue(failure instanceof IOException e && e.getMessage().contains("disk full"), String.valueOf(failure));
  }

  @Test
  void aClosedOutboxOrARefusingPeerClosesTheConnection() {
    commands.close("session ended");
    EmbeddedChannel gw = gateway(SequencedConnection.AckGate.IMMEDIATE);
    gw.pipeline().fireUserEventTriggered(new HandshakeCompleted(1, SESSION, 0, HEARTBEAT_MILLIS));
    assertFalse(gw.isActive());
    assertInstanceOf(OutboxClosedException.class, gatewayHeard.heard.get(0));
    assertEquals(1, gatewayHeard.heard.size(), "never connected, so never disconnected");

    agentHeard.accept = false;
    EmbeddedChannel ag = agent();
    ag.pipeline().fireUserEventTriggered(new HandshakeCompleted(1, SESSION, 0, HEARTBEAT_MILLIS));
    assertFalse(ag.isActive());
    assertEquals(List.of("connected after 0", "disconnected"), agentHeard.heard);
    assertNull(ag.readOutbound());
    assertNotNull(events);
  }
}
