package io.sparkgate.gateway.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class LogRingTest {

  @Test
  void keepsTheLastLinesInOrder() {
    LogRing ring = new LogRing(3);
    assertEquals(List.of(), ring.lines());
    ring.append("a");
    ring.append("b");
    assertEquals(List.of("a", "b"), ring.lines());
    ring.append("c");
    ring.append("d");
    assertEquals(List.of("b", "c", "d"), ring.lines());
    assertEquals(List.of("c", "d"), ring.tail(2));
    assertEquals(List.of("b", "c", "d"), ring.tail(10));
    assertEquals(4, ring.written());
  }

  @Test
  void cutsOverlongLines() {
    LogRing ring = new LogRing(2);
    ring.append("x".repeat(LogRing.MAX_LINE_LENGTH + 500));
    String line = ring.lines().get(0);
    assertTrue(line.startsWith("x".repeat(LogRing.MAX_LINE_LENGTH) + " [... line cut"), line.substring(8000));
    assertTrue(line.length() < LogRing.MAX_LINE_LENGTH + 64);
  }

  /** Readers racing a writer always see a contiguous run of lines ending at a recent one. */
  @Test
  void readersSeeConsistentWindowsWhileAWriterAppends() throws Exception {
    LogRing ring = new LogRing(16);
    int total = 200_000;
    AtomicReference<String> problem = new AtomicReference<>();
    Thread writer = new Thread(() -> {
      for (int i = 0; i < total; i++) {
        ring.append(Integer.toString(i));
      }
    });
    Thread[] readers = new Thread[2];
    for (int r = 0; r < readers.length; r++) {
      readers[r] = new Thread(() -> {
        while (ring.written() < total && problem.get() == null) {
          List<String> lines = ring.lines();
          for (int i = 1; i < lines.size(); i++) {
            if (Integer.parseInt(lines.get(i)) != Integer.parseInt(lines.get(i - 1)) + 1) {
              problem.set("gap in " + lines);
            }
          }
          if (lines.size() > 16) {
            problem.set("more lines than kept: " + lines.size());
          }
        }
      });
    }
    for (Thread t : readers) {
      t.start();
    }
    writer.start();
    writer.join();
    for (Thread t : readers) {
      t.join();
    }
    assertEquals(null, problem.get());
    assertEquals(Integer.toString(total - 1), ring.lines().get(15));
  }
}
