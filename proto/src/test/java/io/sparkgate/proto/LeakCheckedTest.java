package io.sparkgate.proto;

import static org.junit.jupiter.api.Assertions.fail;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.util.ResourceLeakDetector;
import io.netty.util.ResourceLeakDetectorFactory;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;

/**
 * Base of every test that touches Netty buffers: a leaked buffer fails the test that leaked it.
 *
 * <p>Netty's detector only logs leaks. This base installs a detector that also records them (it
 * must be installed before Netty's buffer classes initialize, hence the static block in the
 * superclass of every such test), and after each test collects garbage, makes the detector poll
 * for collected-but-unreleased buffers, and fails on any report. Surefire runs with
 * {@code -Dio.netty.leakDetection.level=paranoid}, so every buffer is tracked.
 */
abstract class LeakCheckedTest {
  private static final List<String> LEAKS = new ArrayList<>();
  /** Set by the hook's own test, whose deliberate leak need not be logged. */
  static volatile boolean quiet;

  static {
    ResourceLeakDetectorFactory.setResourceLeakDetectorFactory(new RecordingFactory());
  }

  @AfterEach
  void failOnLeaks() throws InterruptedException {
    List<String> leaks = collectLeaks();
    if (!leaks.isEmpty()) {
      fail("Netty buffer leak(s) detected:\n" + String.join("\n", leaks));
    }
  }

  /** Forces a leak check now and returns (and forgets) what was reported so far. */
  static List<String> collectLeaks() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(20);
      // The detector polls for collected buffers when a new one is tracked.
      ByteBuf probe = ByteBufAllocator.DEFAULT.buffer(1);
      probe.release();
    }
    synchronized (LEAKS) {
      List<String> copy = new ArrayList<>(LEAKS);
      LEAKS.clear();
      return copy;
    }
  }

  private static final class RecordingFactory extends ResourceLeakDetectorFactory {
    // The only abstract method, hence deprecated or not, the one to implement.
    @SuppressWarnings("deprecation")
    @Override
    public <T> ResourceLeakDetector<T> newResourceLeakDetector(
        Class<T> resource, int samplingInterval, long maxActive) {
      return new RecordingDetector<>(resource, samplingInterval);
    }
  }

  private static final class RecordingDetector<T> extends ResourceLeakDetector<T> {
    RecordingDetector(Class<T> resource, int samplingInterval) {
      super(resource, samplingInterval);
    }

    @Override
    protected void reportTracedLeak(String resourceType, String records) {
      record("LEAK " + resourceType + records);
      if (!quiet) {
        super.reportTracedLeak(resourceType, records);
      }
    }

    @Override
    protected void reportUntracedLeak(String resourceType) {
      record("LEAK " + resourceType + " (untraced)");
      if (!quiet) {
        super.reportUntracedLeak(resourceType);
      }
    }

    private static void record(String leak) {
      synchronized (LEAKS) {
        LEAKS.add(leak);
      }
    }
  }
}
