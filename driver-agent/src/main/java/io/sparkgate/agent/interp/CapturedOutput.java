package io.sparkgate.agent.interp;

import io.sparkgate.proto.Event;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A statement's output: kept in order up to a cap in UTF-8 bytes, and handed out in pieces for
 * streaming with {@link #drain}. Past the cap, output is counted and dropped; {@link #text()} then
 * ends with {@code \n[output truncated: N bytes over the L-byte limit]}.
 *
 * <h2>Whole lines across streams</h2>
 * Standard output and standard error are merged into one text, and a line of one stream is never
 * split by the other: while one stream has written part of a line, what the other writes is held
 * back until that line is ended (by a newline), then kept after it. Writers on two pipes (an R or
 * Python child's stdout and stderr read by two threads) are merged in the order their text arrives,
 * line by line, so that R's {@code print} (written as {@code [1]} and then {@code  "x"}) never has
 * a {@code message} in the middle. Held text is bounded: past {@value #HOLD_LIMIT_CHARS} characters
 * held, or when {@link #drain} finds text held for longer than {@code maxHoldNanos} (a stream that
 * leaves a line open, like a progress bar), or when the statement ends, it is released as it is.
 *
 * <p>Memory is bounded by the cap and the hold limit: the pieces not yet drained are ranges of the
 * kept text, not copies.
 */
public final class CapturedOutput implements OutputSink {
  /** Default cap on one statement's output, as Sparkgate's {@code statement.maxOutputBytes}. */
  public static final int DEFAULT_LIMIT_BYTES = 1024 * 1024;
  /** Text of one stream held back while the other stream's line is open, beyond which it is released. */
  static final int HOLD_LIMIT_CHARS = 64 * 1024;
  /** How long {@link #drain} lets text wait behind another stream's open line. */
  static final long DEFAULT_MAX_HOLD_NANOS = 1_000_000_000L;

  /** A run of output from one stream. */
  public record Piece(Event.Stream stream, String text) {
    public Piece {
      Objects.requireNonNull(stream, "stream");
      Objects.requireNonNull(text, "text");
    }
  }

  private final int limitBytes;
  private final int backlogChars;
  private final Runnable onBacklog;

  private final StringBuilder kept = new StringBuilder();
  private long keptBytes;
  private long totalBytes;
  // Not yet drained: starts (offsets into kept) of runs from one stream, in order.
  private final List<Integer> runStarts = new ArrayList<>();
  private final List<Event.Stream> runStreams = new ArrayList<>();
  private int drainedTo;
  private boolean backlogSignalled;
  private boolean markDrained;
  // The merge: the stream whose line is open at the end of kept (null when kept ends a line), and
  // per stream (by ordinal) text held back, in the order the streams started holding.
  private Event.Stream openLine;
  private final StringBuilder[] held = newHeld();
  private final List<Event.Stream> holding = new ArrayList<>(2);
  private long holdingSinceNanos;
  private final long maxHoldNanos;

  /** A capture with the given cap and no backlog signal. */
  public CapturedOutput(int limitBytes) {
    this(limitBytes, Integer.MAX_VALUE, () -> {});
  }

  /**
   * @param limitBytes cap on the kept output, in UTF-8 bytes
   * @param backlogChars once this many characters wait to be drained, {@code onBacklog} runs (once
   *     until the next drain), so that a drainer can flush early
   * @param onBacklog must not block: it runs on the writing thread
   */
  public CapturedOutput(int limitBytes, int backlogChars, Runnable onBacklog) {
    this(limitBytes, backlogChars, onBacklog, DEFAULT_MAX_HOLD_NANOS);
  }

  /** As above; {@code maxHoldNanos} bounds how long text waits behind the other stream's open line. */
  CapturedOutput(int limitBytes, int backlogChars, Runnable onBacklog, long maxHoldNanos) {
    this.maxHoldNanos = maxHoldNanos;
    if (limitBytes <= 0) {
      throw new IllegalArgumentException("limitBytes must be positive: " + limitBytes);
    }
    if (backlogChars <= 0) {
      throw new IllegalArgumentException("backlogChars must be positive: " + backlogChars);
    }
    this.limitBytes = limitBytes;
    this.backlogChars = backlogChars;
    this.onBacklog = Objects.requireNonNull(onBacklog, "onBacklog");
  }

  public int limitBytes() {
    return limitBytes;
  }

  @Override
  public void write(Event.Stream stream, CharSequence text) {
    Objects.requireNonNull(stream, "stream");
    if (text.length() == 0) {
      return;
    }
    boolean signal;
    synchronized (this) {
      StringBuilder mine = held[stream.ordinal()];
      if (mine.isEmpty()) {
        if (holding.isEmpty()) {
          holdingSinceNanos = System.nanoTime();
        }
        holding.add(stream);
      }
      mine.append(text);
      signal = merge(false);
    }
    if (signal) {
      onBacklog.run();
    }
  }

  /**
   * Moves held text into the kept text, whole lines of one stream at a time (see the class
   * comment); with {@code release}, everything, open lines or not. Call holding the lock.
   *
   * @return whether the backlog signal is due
   */
  private boolean merge(boolean release) {
    boolean signal = false;
    while (!holding.isEmpty()) {
      Event.Stream next = openLine != null ? openLine : holding.get(0);
      StringBuilder text = held[next.ordinal()];
      if (text.isEmpty()) {
        // The open line's stream has nothing more: the others wait, unless released.
        if (!release && heldChars() <= HOLD_LIMIT_CHARS) {
          break;
        }
        openLine = null;
        continue;
      }
      int end;
      if (openLine != null) {
        int newline = text.indexOf("\n");
        end = newline < 0 ? text.length() : newline + 1;
      } else {
        end = text.length(); // complete lines and, if the text ends inside one, the start of a line
      }
      signal |= keep(next, text, end);
      openLine = text.charAt(end - 1) == '\n' ? null : next;
      text.delete(0, end);
      if (text.isEmpty()) {
        holding.remove(next);
        if (!holding.isEmpty()) {
          holdingSinceNanos = System.nanoTime();
        }
      }
    }
    return signal;
  }

  private static StringBuilder[] newHeld() {
    StringBuilder[] held = new StringBuilder[Event.Stream.values().length];
    for (int i = 0; i < held.length; i++) {
      held[i] = new StringBuilder();
    }
    return held;
  }

  private int heldChars() {
    int chars = 0;
    for (StringBuilder text : held) {
      chars += text.length();
    }
    return chars;
  }

  /** Keeps the first {@code length} characters of {@code text}, up to the cap; returns whether the backlog signal is due. */
  private boolean keep(Event.Stream stream, CharSequence text, int length) {
    text = text.subSequence(0, length);
    int bytes = utf8Length(text, text.length());
    totalBytes += bytes;
    if (keptBytes >= limitBytes) {
      return false;
    }
    int end = text.length();
    int endBytes = bytes;
    if (keptBytes + bytes > limitBytes) {
      end = prefixWithin(text, limitBytes - keptBytes);
      endBytes = utf8Length(text, end);
    }
    if (end == 0) {
      keptBytes = limitBytes; // nothing more fits, not even one character
      return false;
    }
    if (runStreams.isEmpty() || runStreams.get(runStreams.size() - 1) != stream) {
      runStarts.add(kept.length());
      runStreams.add(stream);
    }
    kept.append(text, 0, end);
    keptBytes = end < text.length() ? limitBytes : keptBytes + endBytes;
    boolean signal = !backlogSignalled && kept.length() - drainedTo >= backlogChars;
    if (signal) {
      backlogSignalled = true;
    }
    return signal;
  }

  @Override
  public synchronized String text() {
    merge(true);
    return truncated() ? kept + mark() : kept.toString();
  }

  @Override
  public synchronized boolean truncated() {
    merge(true);
    return totalBytes > keptBytes;
  }

  /** Bytes written in all, kept or not. */
  public synchronized long totalBytes() {
    merge(true);
    return totalBytes;
  }

  /**
   * Takes the output written since the last drain, as runs per stream in the order written.
   *
   * @param last the statement has ended: also hand out the truncation mark, if any, as a
   *     {@link Event.Stream#STDERR} piece
   */
  public synchronized List<Piece> drain(boolean last) {
    merge(last || (!holding.isEmpty() && System.nanoTime() - holdingSinceNanos >= maxHoldNanos));
    List<Piece> pieces = new ArrayList<>(runStreams.size() + 1);
    for (int i = 0; i < runStreams.size(); i++) {
      int start = runStarts.get(i);
      int end = i + 1 < runStarts.size() ? runStarts.get(i + 1) : kept.length();
      if (end > start) {
        pieces.add(new Piece(runStreams.get(i), kept.substring(start, end)));
      }
    }
    runStarts.clear();
    runStreams.clear();
    drainedTo = kept.length();
    backlogSignalled = false;
    if (last && truncated() && !markDrained) {
      markDrained = true;
      pieces.add(new Piece(Event.Stream.STDERR, mark()));
    }
    return pieces;
  }

  private String mark() {
    return "\n[output truncated: " + (totalBytes - limitBytes) + " bytes over the " + limitBytes + "-byte limit]";
  }

  /** UTF-8 length of {@code s} (an unpaired surrogate encodes as one byte, '?'). */
  public static int utf8Length(CharSequence s) {
    return utf8Length(s, s.length());
  }

  /** UTF-8 length of the first {@code end} characters (an unpaired surrogate encodes as one byte, '?'). */
  static int utf8Length(CharSequence s, int end) {
    int bytes = 0;
    for (int i = 0; i < end; i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        bytes += 1;
      } else if (c < 0x800) {
        bytes += 2;
      } else if (Character.isHighSurrogate(c) && i + 1 < end && Character.isLowSurrogate(s.charAt(i + 1))) {
        bytes += 4;
        i++;
      } else if (Character.isSurrogate(c)) {
        bytes += 1;
      } else {
        bytes += 3;
      }
    }
    return bytes;
  }

  /** The longest prefix, in characters, whose UTF-8 form fits in {@code room} bytes; never splits a surrogate pair. */
  private static int prefixWithin(CharSequence s, long room) {
    long bytes = 0;
    int i = 0;
    while (i < s.length()) {
      char c = s.charAt(i);
      int width;
      int chars = 1;
      if (c < 0x80) {
        width = 1;
      } else if (c < 0x800) {
        width = 2;
      } else if (Character.isHighSurrogate(c) && i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
        width = 4;
        chars = 2;
      } else if (Character.isSurrogate(c)) {
        width = 1;
      } else {
        width = 3;
      }
      if (bytes + width > room) {
        break;
      }
      bytes += width;
      i += chars;
    }
    return i;
  }
}
