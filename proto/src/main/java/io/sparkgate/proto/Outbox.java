package io.sparkgate.proto;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The sending end of one sequenced stream (the gateway's commands to one agent, or an agent's
 * events): numbers payloads 1, 2, 3, ..., keeps every message until the peer acknowledges it, and
 * replays the rest after a reconnect. It outlives connections: keep one per stream.
 *
 * <p><b>Bounded.</b> At most {@code maxMessages} unacknowledged messages and {@code maxBytes} of
 * them (their {@link FrameSize frame size}). When full, {@link #offer(Sequenced.Payload, long,
 * TimeUnit)} blocks the calling thread until acknowledgements make room or the timeout passes,
 * then returns null; {@link #tryOffer} never blocks and returns null at once. A single message
 * larger than {@code maxBytes} is admitted only into an empty outbox, so it cannot stall the
 * stream forever. Never call the blocking {@code offer} on an event loop: the acks that would
 * make room arrive on it.
 *
 * <p><b>Ordered sending.</b> The receiver rejects gaps, so messages must reach the wire in seq
 * order even when several threads offer at once. The outbox therefore sends them itself, through
 * the {@link Sink} of the current connection, under its lock: {@link #attach} replays what the
 * peer lacks and then makes the sink current, every offer passes its message to the current sink
 * in the same critical section that numbered it, and {@link #detach} stops sending when the
 * connection goes away (messages keep accumulating, up to the bounds, for the next connection).
 *
 * <p>Thread-safe: every method may be called from any thread.
 */
public final class Outbox {

  /**
   * Where the outbox writes messages, typically {@code channel::writeAndFlush}. Called with the
   * outbox lock held, from whichever thread offered or attached: it must not block and must not
   * call back into the outbox.
   */
  @FunctionalInterface
  public interface Sink {
    void send(Sequenced message);
  }

  private record Entry(Sequenced message, long bytes) {}

  private final int maxMessages;
  private final long maxBytes;
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition notFull = lock.newCondition();
  private final ArrayDeque<Entry> unacked = new ArrayDeque<>();
  private long bytes;
  private long lastSeq;
  private long ackedSeq;
  private Sink sink;
  private String closedReason;

  /** An outbox for a new stream, whose first message will have seq 1. */
  public Outbox(int maxMessages, long maxBytes) {
    this(maxMessages, maxBytes, 0);
  }

  /**
   * An outbox that resumes a stream after {@code lastSeq}: the first message gets {@code lastSeq
   * + 1}, and everything up to {@code lastSeq} counts as acknowledged (e.g. a restarted gateway
   * continues the command stream after the agent's {@code lastCommandSeq}).
   */
  public Outbox(int maxMessages, long maxBytes, long lastSeq) {
    if (maxMessages < 1) {
      throw new IllegalArgumentException("maxMessages must be positive: " + maxMessages);
    }
    if (maxBytes < 1) {
      throw new IllegalArgumentException("maxBytes must be positive: " + maxBytes);
    }
    if (lastSeq < 0) {
      throw new IllegalArgumentException("lastSeq must not be negative: " + lastSeq);
    }
    this.maxMessages = maxMessages;
    this.maxBytes = maxBytes;
    this.lastSeq = lastSeq;
    this.ackedSeq = lastSeq;
  }

  /**
   * Numbers {@code payload}, keeps it, and sends it if a sink is attached; waits up to
   * {@code timeout} for room.
   *
   * @return the message as numbered and kept, or null if there was no room within the timeout
   * @throws OutboxClosedException if the outbox is or becomes closed while waiting
   * @throws InterruptedException if the thread is interrupted while waiting
   */
  public Sequenced offer(Sequenced.Payload payload, long timeout, TimeUnit unit) throws InterruptedException {
    long size = FrameSize.ofSequenced(payload);
    long nanos = unit.toNanos(timeout);
    lock.lockInterruptibly();
    try {
      while (true) {
        checkOpen();
        if (hasRoomFor(size)) {
          return append(payload, size);
        }
        if (nanos <= 0) {
          return null;
        }
        nanos = notFull.awaitNanos(nanos);
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Like {@link #offer(Sequenced.Payload, long, TimeUnit)} but never waits: null at once when full.
   * Safe on an event loop.
   */
  public Sequenced tryOffer(Sequenced.Payload payload) {
    long size = FrameSize.ofSequenced(payload);
    lock.lock();
    try {
      checkOpen();
      return hasRoomFor(size) ? append(payload, size) : null;
    } finally {
      lock.unlock();
    }
  }

  private boolean hasRoomFor(long size) {
    return unacked.isEmpty() || (unacked.size() < maxMessages && bytes + size <= maxBytes);
  }

  private Sequenced append(Sequenced.Payload payload, long size) {
    Sequenced message = new Sequenced(lastSeq + 1, payload);
    if (sink != null) {
      // Send before recording: if the sink throws, the seq was not used and nothing is kept.
      sink.send(message);
    }
    lastSeq = message.seq();
    unacked.addLast(new Entry(message, size));
    bytes += size;
    return message;
  }

  /**
   * The peer has received every message up to and including {@code seq}: forget them and wake
   * blocked offers. An ack at or below an earlier one is ignored.
   *
   * @throws OutOfSequenceException if {@code seq} was never sent
   */
  public void ack(long seq) {
    lock.lock();
    try {
      dropThrough(seq);
    } finally {
      lock.unlock();
    }
  }

  private void dropThrough(long seq) {
    if (seq > lastSeq) {
      throw new OutOfSequenceException("peer acknowledged seq " + seq + " but the last one sent is " + lastSeq);
    }
    if (seq <= ackedSeq) {
      return;
    }
    while (!unacked.isEmpty() && unacked.peekFirst().message().seq() <= seq) {
      bytes -= unacked.removeFirst().bytes();
    }
    ackedSeq = seq;
    notFull.signalAll();
  }

  /**
   * The messages after {@code peerLastSeq}, oldest first: what a peer that received up to
   * {@code peerLastSeq} still needs. Changes nothing; a connection should use {@link #attach},
   * which also keeps concurrent offers in order.
   *
   * @throws OutOfSequenceException if the peer claims a seq never sent, or lacks messages already
   *     acknowledged and dropped
   */
  public List<Sequenced> unackedAfter(long peerLastSeq) {
    lock.lock();
    try {
      checkReplayable(peerLastSeq);
      List<Sequenced> out = new ArrayList<>();
      for (Entry e : unacked) {
        if (e.message().seq() > peerLastSeq) {
          out.add(e.message());
        }
      }
      return out;
    } finally {
      lock.unlock();
    }
  }

  private void checkReplayable(long peerLastSeq) {
    if (peerLastSeq > lastSeq) {
      throw new OutOfSequenceException(
          "peer claims seq " + peerLastSeq + " but the last one sent is " + lastSeq);
    }
    if (peerLastSeq < ackedSeq) {
      throw new OutOfSequenceException(
          "peer has seq " + peerLastSeq + " but messages up to " + ackedSeq
              + " were acknowledged and dropped; they cannot be replayed");
    }
  }

  /**
   * Starts sending to a new connection: treats {@code peerLastSeq} (from the handshake) as an ack,
   * sends every remaining message to {@code sink} in order, then makes {@code sink} the current
   * sink for new offers, all atomically with respect to offers.
   *
   * @throws OutOfSequenceException as {@link #unackedAfter}; nothing is attached then
   * @throws OutboxClosedException if the outbox is closed
   */
  public void attach(long peerLastSeq, Sink sink) {
    lock.lock();
    try {
      checkOpen();
      checkReplayable(peerLastSeq);
      dropThrough(peerLastSeq);
      this.sink = null;
      for (Entry e : unacked) {
        sink.send(e.message());
      }
      this.sink = sink;
    } finally {
      lock.unlock();
    }
  }

  /**
   * Stops sending to {@code sink} if it is still the current one (a late close of an old
   * connection must not detach its successor). Unacknowledged messages stay for the next
   * {@link #attach}.
   */
  public void detach(Sink sink) {
    lock.lock();
    try {
      if (this.sink == sink) {
        this.sink = null;
      }
    } finally {
      lock.unlock();
    }
  }

  /**
   * Closes the outbox for good (the session ended): detaches, and every waiting and later offer
   * fails with {@link OutboxClosedException} carrying {@code reason}. Idempotent; the first reason
   * wins.
   */
  public void close(String reason) {
    lock.lock();
    try {
      if (closedReason == null) {
        closedReason = reason;
        sink = null;
        notFull.signalAll();
      }
    } finally {
      lock.unlock();
    }
  }

  private void checkOpen() {
    if (closedReason != null) {
      throw new OutboxClosedException(closedReason);
    }
  }

  /** The seq of the most recent message offered, 0 if none. */
  public long lastSeq() {
    lock.lock();
    try {
      return lastSeq;
    } finally {
      lock.unlock();
    }
  }

  /** The highest seq acknowledged (explicitly or by a handshake), 0 if none. */
  public long ackedSeq() {
    lock.lock();
    try {
      return ackedSeq;
    } finally {
      lock.unlock();
    }
  }

  /** Number of messages kept, awaiting acknowledgement. */
  public int size() {
    lock.lock();
    try {
      return unacked.size();
    } finally {
      lock.unlock();
    }
  }

  /** Total frame bytes of the messages kept. */
  public long bytes() {
    lock.lock();
    try {
      return bytes;
    } finally {
      lock.unlock();
    }
  }

  @Override
  public String toString() {
    lock.lock();
    try {
      return "Outbox[lastSeq=" + lastSeq + ", ackedSeq=" + ackedSeq + ", unacked=" + unacked.size()
          + ", bytes=" + bytes + (closedReason != null ? ", closed" : "") + "]";
    } finally {
      lock.unlock();
    }
  }
}
