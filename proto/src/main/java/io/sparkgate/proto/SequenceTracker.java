package io.sparkgate.proto;

/**
 * The receiving end of one sequenced stream (the agent's commands, or one session's events): it
 * tells new messages from replayed duplicates and remembers how far the stream got, for
 * {@link Control.Ack} and for the handshake ({@code Auth.lastCommandSeq},
 * {@code Welcome.lastEventSeq}).
 *
 * <p>It outlives connections: keep one per stream, not per channel. Thread-safe (every method is
 * synchronized; they are short).
 */
public final class SequenceTracker {
  /** What {@link #takeAck()} returns when nothing new needs acknowledging. */
  public static final long NO_ACK = -1;

  private long lastSeq;
  private long lastAcked;

  /** A stream that has received nothing yet. */
  public SequenceTracker() {
    this(0);
  }

  /** A stream resumed from {@code lastSeq} (e.g. read back from a state store). */
  public SequenceTracker(long lastSeq) {
    if (lastSeq < 0) {
      throw new IllegalArgumentException("lastSeq must not be negative: " + lastSeq);
    }
    this.lastSeq = lastSeq;
    this.lastAcked = lastSeq;
  }

  /**
   * Records {@code seq} if it is the next one.
   *
   * @return true if the message is new and must be applied, false if it is a duplicate (a replay
   *     of something already received) and must be skipped
   * @throws OutOfSequenceException if {@code seq} skips ahead: a message was lost, which the
   *     protocol forbids
   */
  public synchronized boolean accept(long seq) {
    if (seq <= lastSeq) {
      return false;
    }
    if (seq != lastSeq + 1) {
      throw new OutOfSequenceException("expected seq " + (lastSeq + 1) + " but received " + seq);
    }
    lastSeq = seq;
    return true;
  }

  /** The highest seq received, 0 if none. */
  public synchronized long lastSeq() {
    return lastSeq;
  }

  /**
   * The seq to acknowledge now, or {@link #NO_ACK} if nothing arrived since the last call. Lets a
   * receiver send one Ack per batch of reads (e.g. in {@code channelReadComplete}).
   */
  public synchronized long takeAck() {
    if (lastSeq == lastAcked) {
      return NO_ACK;
    }
    lastAcked = lastSeq;
    return lastSeq;
  }

  @Override
  public synchronized String toString() {
    return "SequenceTracker[lastSeq=" + lastSeq + "]";
  }
}
