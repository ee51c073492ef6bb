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
    output.write(OUT, "b");
    output.write(ERR, "c");
    output.write(OUT, "d");
    assertEquals("abcd", output.text());
    assertFalse(output.truncated());
    assertEquals(List.of(new Piece(OUT, "ab"), new Piece(ERR, "c"), new Piece(OUT, "d")), output.drain(false));
    assertEquals(List.of(), output.drain(false));
    output.write(OUT, "e");
    assertEquals(List.of(new Piece(OUT, "e")), output.drain(true));
    assertEquals("abcde", output.text());
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
    output.write(OUT, "01234567");
    output.write(ERR, "89abc");
    output.write(OUT, "more");
    assertTrue(output.truncated());
    assertEquals(17, output.totalBytes());
    assertEquals("0123456789\n[output truncated: 7 bytes over the 10-byte limit]", output.text());
    assertEquals(
        List.of(new Piece(OUT, "01234567"), new Piece(ERR, "89"),
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
