package io.sparkgate.gateway.launch;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The last {@code capacity} lines of a session's log (its driver's merged stdout and stderr, and the
 * gateway's own notes about the session). Older lines fall off the front.
 *
 * <p>Writers (the thread draining the driver's output, the session's context) serialize among
 * themselves; readers (HTTP handlers on any event loop) take no lock and never wait: each slot holds
 * an immutable line tagged with its sequence number, so a reader skips a slot a writer has already
 * reused.
 */
public final class LogRing {

  /** Longest line kept, in characters; the rest of a longer line is dropped and marked. */
  public static final int MAX_LINE_LENGTH = 8192;

  private static final String CUT_MARK = " [... line cut at " + MAX_LINE_LENGTH + " characters]";

  private record Line(long seq, String text) {}

  private final AtomicReferenceArray<Line> slots;
  private final int capacity;
  private final Runnable onAppend;
  private volatile long written;

  public LogRing(int capacity) {
    this(capacity, null);
  }

  /**
   * @param onAppend called on the writer's thread after each line is appended (to tell a reader
   *     that waits for lines); must not block; null for none
   */
  public LogRing(int capacity, Runnable onAppend) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be positive: " + capacity);
    }
    this.capacity = capacity;
    this.slots = new AtomicReferenceArray<>(capacity);
    this.onAppend = onAppend;
  }

  /** Appends one line (a longer one is cut at {@link #MAX_LINE_LENGTH} characters). */
  public void append(String line) {
    String text = line.length() > MAX_LINE_LENGTH ? line.substring(0, MAX_LINE_LENGTH) + CUT_MARK : line;
    synchronized (this) {
      long seq = written;
      slots.set((int) (seq % capacity), new Line(seq, text));
      written = seq + 1;
    }
    if (onAppend != null) {
      onAppend.run();
    }
  }

  /**
   * The kept lines numbered {@code from} (inclusive) to {@code to} (exclusive; at most
   * {@link #written()}), oldest first, where the first line ever appended is 0; lines that fell off
   * the ring are left out. Lock-free.
   */
  public List<String> range(long from, long to) {
    List<String> out = new ArrayList<>();
    for (long i = Math.max(from, to - capacity); i < to; i++) {
      Line l = slots.get((int) (i % capacity));
      if (l != null && l.seq() == i) { // Else overwritten since by a newer line: gone.
        out.add(l.text());
      }
    }
    return out;
  }

  /** How many lines were ever appended. */
  public long written() {
    return written;
  }

  public int capacity() {
    return capacity;
  }

  /** The lines kept now, oldest first. Lock-free; a consistent window even while lines arrive. */
  public List<String> lines() {
    return window(capacity);
  }

  /** The last {@code n} lines kept, oldest first; reads only those. */
  public List<String> tail(int n) {
    return window(Math.min(n, capacity));
  }

  private List<String> window(int n) {
    long end = written;
    long start = Math.max(0, end - n);
    List<String> out = new ArrayList<>((int) (end - start));
    for (long i = start; i < end; i++) {
      Line l = slots.get((int) (i % capacity));
      // A writer may have reused the slot for a newer line since `end` was read: that line (and
      // every older one before it) is no longer part of the window.
      if (l != null && l.seq() == i) {
        out.add(l.text());
      } else {
        out.clear();
      }
    }
    return Collections.unmodifiableList(out);
  }
}
