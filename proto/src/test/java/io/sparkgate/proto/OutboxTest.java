package io.sparkgate.proto;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class OutboxTest {
  private static Event output(String text) {
    return new Event.StatementOutput(1, Event.Stream.STDOUT, text);
  }

  private static List<Long> seqs(List<Sequenced> messages) {
    return messages.stream().map(Sequenced::seq).toList();
  }

  @Test
  void messagesAreNumberedFromOneAndKeptUntilAcknowledged() {
    Outbox outbox = new Outbox(100, 1 << 20);
    assertEquals(1, outbox.tryOffer(output("a")).seq());
    assertEquals(2, outbox.tryOffer(output("b")).seq());
    assertEquals(3, outbox.tryOffer(output("c")).seq());
    assertEquals(3, outbox.size());
    assertEquals(3, outbox.lastSeq());

    outbox.ack(2);
    assertEquals(1, outbox.size());
    assertEquals(2, outbox.ackedSeq());
    assertEquals(List.of(3L), seqs(outbox.unackedAfter(2)));
    outbox.ack(1); // stale: ignored
    assertEquals(1, outbox.size());
    assertThrows(OutOfSequenceException.class, () -> outbox.ack(4), "never sent");
  }

  @Test
  void theByteCountIsTheFrameSizeOfWhatIsKept() {
    Outbox outbox = new Outbox(100, 1 << 20);
    Sequenced a = outbox.tryOffer(output("hello"));
    Sequenced b = outbox.tryOffer(output("wörld"));
    assertEquals(FrameSize.of(a) + FrameSize.of(b), outbox.bytes());
    outbox.ack(1);
    assertEquals(FrameSize.of(b), outbox.bytes());
  }

  @Test
  void aReconnectReplaysEverythingThePeerLacksThenNewMessagesFollowInOrder() {
    Outbox outbox = new Outbox(100, 1 << 20);
    List<Sequenced> oldConnection = new ArrayList<>();
    Outbox.Sink oldSink = oldConnection::add;
    outbox.attach(0, oldSink);
    for (int i = 0; i < 5; i++) {
      outbox.tryOffer(output("m" + i));
    }
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L), seqs(oldConnection));
    outbox.ack(1);

    outbox.detach(m -> {}); // not the current sink: ignored
    outbox.tryOffer(output("m5"));
    assertEquals(6, oldConnection.size());

    outbox.detach(oldSink); // the old connection closed
    outbox.tryOffer(output("while disconnected"));
    assertEquals(6, oldConnection.size());

    // The peer says (in the handshake) it got up to 3: replay 4..7, then new ones.
    List<Sequenced> newConnection = new ArrayList<>();
    Outbox.Sink newSink = newConnection::add;
    outbox.attach(3, newSink);
    assertEquals(3, outbox.ackedSeq(), "the handshake's seq counts as an ack");
    outbox.detach(oldSink); // a late close of the old connection does not detach the new one
    outbox.tryOffer(output("after reconnect"));
    assertEquals(List.of(4L, 5L, 6L, 7L, 8L), seqs(newConnection));
    assertEquals("while disconnected", ((Event.StatementOutput) newConnection.get(3).payload()).text());
  }

  @Test
  void aPeerThatClaimsTooMuchOrTooLittleCannotBeServed() {
    Outbox outbox = new Outbox(100, 1 << 20);
    outbox.tryOffer(output("a"));
    outbox.tryOffer(output("b"));
    outbox.ack(1);
    assertThrows(OutOfSequenceException.class, () -> outbox.attach(3, m -> {}), "seq 3 never sent");
    OutOfSequenceException e = assertThrows(OutOfSequenceException.class, () -> outbox.attach(0, m -> {}));
    assertTrue(e.getMessage().contains("cannot be replayed"), e.getMessage());
    assertThrows(OutOfSequenceException.class, () -> outbox.unackedAfter(0));
  }

  @Test
  void aResumedStreamContinuesAfterTheGivenSeq() {
    Outbox outbox = new Outbox(10, 1 << 20, 41);
    assertEquals(42, outbox.tryOffer(output("x")).seq());
    assertEquals(List.of(42L), seqs(outbox.unackedAfter(41)));
  }

  @Test
  void theMessageCountIsBounded() {
    Outbox outbox = new Outbox(2, 1 << 20);
    assertNotNull(outbox.tryOffer(output("a")));
    assertNotNull(outbox.tryOffer(output("b")));
    assertNull(outbox.tryOffer(output("c")), "full");
    assertEquals(2, outbox.lastSeq(), "no seq was used by the refused offer");
    outbox.ack(1);
    assertEquals(3, outbox.tryOffer(output("c")).seq());
  }

  @Test
  void theByteTotalIsBoundedButOneHugeMessageStillPassesAlone() {
    long small = FrameSize.ofSequenced(output("0123456789"));
    Outbox outbox = new Outbox(100, 2 * small);
    assertNotNull(outbox.tryOffer(output("0123456789")));
    assertNotNull(outbox.tryOffer(output("0123456789")));
    assertNull(outbox.tryOffer(output("x")), "over the byte bound");
    outbox.ack(2);
    Event huge = output("y".repeat(1000));
    assertNotNull(outbox.tryOffer(huge), "larger than the bound, but the outbox is empty");
    assertNull(outbox.tryOffer(output("z")));
  }

  @Test
  void aBlockingOfferWaitsForAnAckOrGivesUpAtItsTimeout() throws Exception {
    Outbox outbox = new Outbox(1, 1 << 20);
    outbox.tryOffer(output("a"));

    long start = System.nanoTime();
    assertNull(outbox.offer(output("b"), 50, TimeUnit.MILLISECONDS));
    assertTrue(System.nanoTime() - start >= TimeUnit.MILLISECONDS.toNanos(50));

    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      CountDownLatch waiting = new CountDownLatch(1);
      Future<Sequenced> blocked = pool.submit(() -> {
        waiting.countDown();
        return outbox.offer(output("b"), 10, TimeUnit.SECONDS);
      });
      waiting.await();
      Thread.sleep(50);
      assertFalse(blocked.isDone(), "still waiting for room");
      outbox.ack(1);
      assertEquals(2, blocked.get(5, TimeUnit.SECONDS).seq());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void closingReleasesWaitingOffersWithTheReason() throws Exception {
    Outbox outbox = new Outbox(1, 1 << 20);
    outbox.tryOffer(output("a"));
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try {
      Future<Sequenced> blocked = pool.submit(() -> outbox.offer(output("b"), 10, TimeUnit.SECONDS));
      Thread.sleep(50);
      outbox.close("session 7 deleted");
      Exception e = assertThrows(Exception.class, () -> blocked.get(5, TimeUnit.SECONDS));
      assertInstanceOf(OutboxClosedException.class, e.getCause());
      assertEquals("outbox closed: session 7 deleted", e.getCause().getMessage());
    } finally {
      pool.shutdownNow();
    }
    assertThrows(OutboxClosedException.class, () -> outbox.tryOffer(output("c")));
    assertThrows(OutboxClosedException.class, () -> outbox.attach(1, m -> {}));
  }

  @Test
  void concurrentOffersReachTheSinkInSeqOrder() throws Exception {
    Outbox outbox = new Outbox(100_000, 1L << 30);
    List<Long> sent = Collections.synchronizedList(new ArrayList<>());
    outbox.attach(0, m -> sent.add(m.seq()));
    int threads = 4;
    int perThread = 2_000;
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < threads; t++) {
        done.add(pool.submit(() -> {
          for (int i = 0; i < perThread; i++) {
            outbox.offer(output("x"), 10, TimeUnit.SECONDS);
          }
          return null;
        }));
      }
      for (Future<?> f : done) {
        f.get(30, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertEquals(threads * perThread, sent.size());
    for (int i = 0; i < sent.size(); i++) {
      assertEquals(i + 1, sent.get(i), "position " + i);
    }
  }
}
