package io.sparkgate.agent.interp;

import io.sparkgate.proto.Event;

/**
 * Where a running statement's output goes, piece by piece, as it is produced. Thread-safe: the
 * statement's own thread and threads it started write to it concurrently.
 *
 * <p>The sink keeps the statement's output (up to a cap) so that the interpreter can return it as
 * {@code text/plain}; {@link CapturedOutput} is the implementation.
 */
public interface OutputSink {

  /** Appends {@code text}, which came from {@code stream}. Never blocks on I/O. */
  void write(Event.Stream stream, CharSequence text);

  /**
   * Everything written so far, in order, both streams interleaved as written; when the cap was passed,
   * cut at the cap and ended with a mark saying how much was dropped.
   */
  String text();

  /** Whether output was dropped because it passed the cap. */
  boolean truncated();
}
