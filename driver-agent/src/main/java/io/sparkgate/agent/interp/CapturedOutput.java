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
 * <p>Memory is bounded by the cap: the pieces not yet drained are ranges of the kept text, not
 * copies.
 */
public final class CapturedOutput implements OutputSink {
  /** Default cap on one statement's output, as Sparkgate's {@code statement.maxOutputBytes}. */
  public static final int DEFAULT_LIMIT_BYTES = 1024 * 1024;

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
      int bytes = utf8Length(text, text.length());
      totalBytes += bytes;
      if (keptBytes >= limitBytes) {
        return;
      }
      int end = text.length();
      int endBytes = bytes;
      if (keptBytes + bytes > limitBytes) {
        end = prefixWithin(text, limitBytes - keptBytes);
        endBytes = utf8Length(text, end);
      }
      if (end == 0) {
        keptBytes = limitBytes; // nothing more fits, not even one character
        return;
      }
      if (runStreams.isEmpty() || runStreams.get(runStreams.size() - 1) != stream) {
        runStarts.add(kept.length());
        runStreams.add(stream);
      }
      kept.append(text, 0, end);
      keptBytes = end < text.length() ? limitBytes : keptBytes + endBytes;
      signal = !backlogSignalled && kept.length() - drainedTo >= backlogChars;
      if (signal) {
        backlogSignalled = true;
      }
    }
    if (signal) {
      onBacklog.run();
    }
  }

  @Override
  public synchronized String text() {
    return truncated() ? kept + mark() : kept.toString();
  }

  @Override
  public synchronized boolean truncated() {
    return totalBytes > keptBytes;
  }

  /** Bytes written in all, kept or not. */
  public synchronized long totalBytes() {
    return totalBytes;
  }

  /**
   * Takes the output written since the last drain, as runs per stream in the order written.
   *
   * @param last the statement has ended: also hand out the truncation mark, if any, as a
   *     {@link Event.Stream#STDERR} piece
   */
  public synchronized List<Piece> drain(boolean last) {
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
