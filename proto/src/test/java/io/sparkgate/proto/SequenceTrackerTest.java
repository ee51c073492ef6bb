package io.sparkgate.proto;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

class SequenceTrackerTest {

  @Test
  void newMessagesAreAcceptedInOrderAndReplaysAreSkipped() {
    SequenceTracker tracker = new SequenceTracker();
    assertEquals(0, tracker.lastSeq());
    assertTrue(tracker.accept(1));
    assertTrue(tracker.accept(2));
    assertTrue(tracker.accept(3));
    // The peer reconnected and replayed from 2.
    assertFalse(tracker.accept(2));
    assertFalse(tracker.accept(3));
    assertTrue(tracker.accept(4));
    assertEquals(4, tracker.lastSeq());
  }

  @Test
  void aGapIsAProtocolError() {
    SequenceTracker tracker = new SequenceTracker();
    tracker.accept(1);
    OutOfSequenceException e = assertThrows(OutOfSequenceException.class, () -> tracker.accept(3));
    assertEquals("expected seq 2 but received 3", e.getMessage());
    assertEquals(1, tracker.lastSeq(), "nothing recorded");
    assertTrue(tracker.accept(2));
  }

  @Test
  void aResumedStreamContinuesAfterItsLastSeq() {
    SequenceTracker tracker = new SequenceTracker(41);
    assertFalse(tracker.accept(41));
    assertThrows(OutOfSequenceException.class, () -> tracker.accept(43));
    assertTrue(tracker.accept(42));
    assertThrows(IllegalArgumentException.class, () -> new SequenceTracker(-1));
  }

  @Test
  void anAckIsDueOnlyWhenSomethingNewArrived() {
    SequenceTracker tracker = new SequenceTracker();
    assertEquals(SequenceTracker.NO_ACK, tracker.takeAck());
    tracker.accept(1);
    tracker.accept(2);
    assertEquals(2, tracker.takeAck());
    assertEquals(SequenceTracker.NO_ACK, tracker.takeAck());
    tracker.accept(2);
    assertEquals(SequenceTracker.NO_ACK, tracker.takeAck(), "a duplicate needs no new ack");
    tracker.accept(3);
    assertEquals(3, tracker.takeAck());
  }
}
