package io.sparkgate.proto;

import static org.junit.jupiter.api.Assertions.*;

import io.netty.channel.embedded.EmbeddedChannel;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class HeartbeatHandlerTest extends LeakCheckedTest {
  private static final long INTERVAL = 1_000;

  private final HandshakeTest.Recorder app = new HandshakeTest.Recorder();
  private final EmbeddedChannel channel = new EmbeddedChannel();

  HeartbeatHandlerTest() {
    // Only advance() moves the clock, from before the handler reads it: a slow start of the test
    // JVM must not count as idle time.
    channel.freezeTime();
    channel.pipeline().addLast(new HeartbeatHandler(INTERVAL, 3), app);
  }

  @AfterEach
  void close() {
    channel.finishAndReleaseAll();
  }

  private void advance(long millis) {
    channel.advanceTimeBy(millis, TimeUnit.MILLISECONDS);
    channel.runScheduledPendingTasks();
  }

  @Test
  void anIdleWriterSendsAHeartbeatEveryInterval() {
    advance(INTERVAL - 1);
    assertNull(channel.readOutbound());
    advance(1);
    assertEquals(Control.Heartbeat.INSTANCE, channel.readOutbound());
    assertNull(channel.readOutbound());
    channel.writeInbound(Control.Heartbeat.INSTANCE); // keep the reader side alive
    advance(INTERVAL);
    assertEquals(Control.Heartbeat.INSTANCE, channel.readOutbound());
  }

  @Test
  void otherTrafficMakesHeartbeatsUnnecessary() {
    advance(INTERVAL / 2);
    channel.writeOutbound(new Control.Ack(1));
    assertEquals(new Control.Ack(1), channel.readOutbound());
    advance(INTERVAL / 2);
    assertNull(channel.readOutbound(), "written half an interval ago");
  }

  @Test
  void heartbeatsReceivedAreConsumedAndKeepTheConnectionOpen() {
    for (int i = 0; i < 10; i++) {
      advance(INTERVAL);
      channel.writeInbound(Control.Heartbeat.INSTANCE);
    }
    assertTrue(channel.isActive());
    assertTrue(app.messages.isEmpty(), "heartbeats never reach the application");

    Control.Ack ack = new Control.Ack(5);
    channel.writeInbound(ack);
    assertEquals(java.util.List.of(ack), app.messages, "other messages pass through");
  }

  @Test
  void aSilentPeerIsDeclaredDeadAfterTheMissedIntervals() {
    advance(3 * INTERVAL - 1);
    assertTrue(channel.isActive());
    advance(1);
    assertFalse(channel.isActive());
    HeartbeatTimeoutException e = assertInstanceOf(HeartbeatTimeoutException.class, app.errors.get(0));
    assertEquals("nothing received from the peer for 3000 ms (3 heartbeat intervals)", e.getMessage());
  }

  @Test
  void removingTheHandlerRemovesItsIdleDetection() {
    channel.pipeline().remove(HeartbeatHandler.class);
    assertNull(channel.pipeline().get(io.netty.handler.timeout.IdleStateHandler.class));
    advance(10 * INTERVAL);
    assertTrue(channel.isActive());
    assertNull(channel.readOutbound());
  }
}
