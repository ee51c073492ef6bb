package io.sparkgate.proto;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The leak hook of {@link LeakCheckedTest} really reports a leaked buffer. */
class LeakCheckTest extends LeakCheckedTest {

  @Test
  void aBufferDroppedWithoutReleaseIsReported() throws InterruptedException {
    List<String> leaks = List.of();
    quiet = true;
    try {
      leakOne();
      for (int i = 0; i < 10 && leaks.isEmpty(); i++) {
        leaks = collectLeaks();
      }
    } finally {
      quiet = false;
    }
    assertFalse(leaks.isEmpty(), "the leaked buffer was not reported");
    assertTrue(leaks.get(0).contains("LEAK"), leaks.get(0));
  }

  private static void leakOne() {
    ByteBuf leaked = ByteBufAllocator.DEFAULT.buffer(16);
    leaked.writeLong(42);
  }
}
