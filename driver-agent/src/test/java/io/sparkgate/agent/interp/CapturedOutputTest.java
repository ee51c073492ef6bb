package io.sparkgate.agent.interp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.proto.Event;
import io.sparkgate.agent.interp.CapturedOutput.Piece;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class CapturedOutputTest {
  private static final Event.Stream OUT = Event.Stream.STDOUT;
  private static final Event.Stream ERR = Event.Stream.STDERR;

  @Test
  void keepsOutputInOrderAndDrainsRunsPerStream() {
    CapturedOutput output = new CapturedOutput(1024);
    output.write(OUT, "a");
    output.write(OUT, "b\n");
    output.write(ERR, "c\n");
    output.write(OUT, "d");
    assertEquals("ab\nc\nd", output.text());
    assertFalse(output.truncated());
    assertEquals(List.of(new Piece(OUT, "ab\n"), new Piece(ERR, "c\n"), new Piece(OUT, "d")), output.drain(false));
    assertEquals(List.of(), output.drain(false));
    output.write(OUT, "e");
    assertEquals(List.of(new Piece(OUT, "e")), output.drain(true));
    assertEquals("ab\nc\nde", output.text());
  }

  @Test
  void aLineOfOneStreamIsNeverSplitByTheOther() {
    // R's print('x') writes "[1]" and then ' "x"\n'; a message() on stderr read in between.
    CapturedOutput output = new CapturedOutput(1024, Integer.MAX_VALUE, () -> {}, Long.MAX_VALUE);
    output.write(OUT, "[1]");
    output.write(ERR, "a note");
    output.write(OUT, " \"x\"\n");
    output.write(ERR, " more\nnext ");
    output.write(OUT, "second");
    output.write(ERR, "line\n");
    output.write(OUT, " line\n");
    assertEquals("[1] \"x\"\na note more\nnext line\nsecond line\n", output.text());
    assertEquals(List.of(
            new Piece(OUT, "[1] \"x\"\n"),
            new Piece(ERR, "a note more\nnext line\n"),
            new Piece(OUT, "second line\n")),
        output.drain(true));
  }

  @Test
  void heldTextStreamsAtOnceWhenTheOpenLineEnds() {
    CapturedOutput output = new CapturedOutput(1024, Integer.MAX_VALUE, () -> {}, Long.MAX_VALUE);
    output.write(OUT, "progress: ");
    output.write(ERR, "warning\n");
    assertEquals(List.of(new Piece(OUT, "progress: ")), output.drain(false), "the warning waits for the line");
    output.write(OUT, "done\n");
    assertEquals(List.of(new Piece(OUT, "done\n"), new Piece(ERR, "warning\n")), output.drain(false));
  }

  @Test
  void aLineLeftOpenHoldsTheOtherStreamOnlyForAWhileOrUpToTheLimit() throws Exception {
    // A progress bar that never ends its line: the other stream is not held forever.
    CapturedOutput timed = new CapturedOutput(1 << 20, Integer.MAX_VALUE, () -> {}, 0);
    timed.write(OUT, "50%");
    timed.write(ERR, "log line\n");
    assertEquals(List.of(new Piece(OUT, "50%"), new Piece(ERR, "log line\n")), timed.drain(false));

    CapturedOutput bounded = new CapturedOutput(1 << 20, Integer.MAX_VALUE, () -> {}, Long.MAX_VALUE);
    bounded.write(OUT, "50%");
    String many = "x".repeat(CapturedOutput.HOLD_LIMIT_CHARS) + "\n";
    bounded.write(ERR, many);
    assertEquals(List.of(new Piece(OUT, "50%"), new Piece(ERR, many)), bounded.drain(false));
  }

  @Test
  void theEndReleasesEveryOpenLine() {
    CapturedOutput output = new CapturedOutput(1024, Integer.MAX_VALUE, () -> {}, Long.MAX_VALUE);
    output.write(OUT, "no newline");
    output.write(ERR, "nor here");
    assertEquals("no newlinenor here", output.text());
    assertEquals(List.of(new Piece(OUT, "no newline"), new Piece(ERR, "nor here")), output.drain(true));
  }

  @Test
  void outputUpToTheCapIsNotTruncated() {
    CapturedOutput output = new CapturedOutput(10);
    output.write(OUT, "0123456789");
    assertFalse(output.truncated());
    assertEquals("0123456789", output.text());
  }

  @Test
  void outputPastTheCapIsDroppedAndMarked() {
    CapturedOutput output = new CapturedOutput(10);
    output.write(OUT, "0123456\n");
    output.write(ERR, "89abc");
    output.write(OUT, "more");
    assertTrue(output.truncated());
    assertEquals(17, output.totalBytes());
    assertEquals("0123456\n89\n[output truncated: 7 bytes over the 10-byte limit]", output.text());
    assertEquals(
        List.of(new Piece(OUT, "0123456\n"), new Piece(ERR, "89"),
            new Piece(ERR, "\n[output truncated: 7 bytes over the 10-byte limit]")),
        output.drain(true));
    assertEquals(List.of(), output.drain(true), "the mark is handed out once");
  }

  @Test
  void theCapCountsUtf8BytesAndNeverSplitsACharacter() {
    CapturedOutput output = new CapturedOutput(5);
    output.write(OUT, "a\u00e9\u20ac"); // 1 + 2 + 3 bytes
    assertEquals("a\u00e9\n[output truncated: 1 bytes over the 5-byte limit]", output.text());

    CapturedOutput emoji = new CapturedOutput(6);
    emoji.write(OUT, "ab\uD83D\uDE00\uD83D\uDE00"); // 2 + 4 + 4 bytes
    assertEquals("ab\uD83D\uDE00\n[output truncated: 4 bytes over the 6-byte limit]", emoji.text());
  }

  @Test
  void signalsABacklogOnceUntilDrained() {
    AtomicInteger signals = new AtomicInteger();
    CapturedOutput output = new CapturedOutput(1024, 4, signals::incrementAndGet);
    output.write(OUT, "abc");
    assertEquals(0, signals.get());
    output.write(OUT, "d");
    output.write(OUT, "efgh");
    assertEquals(1, signals.get());
    output.drain(false);
    output.write(OUT, "ijkl");
    assertEquals(2, signals.get());
  }
}
