package io.sparkgate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.sparkgate.gateway.testing.GatewayTestBase;
import io.vertx.core.Vertx;
import io.vertx.junit5.VertxExtension;
import io.vertx.junit5.VertxTestContext;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;

/**
 * The guard every gateway test relies on can fail: an event loop blocked for 300 ms is reported on
 * the logger {@link GatewayTestBase} watches.
 */
@ExtendWith(VertxExtension.class)
class BlockedThreadGuardTest {

  @Test
  void aBlockedEventLoopIsReported(VertxTestContext test) throws Exception {
    ListAppender<ILoggingEvent> warnings = GatewayTestBase.captureBlockedThreadWarnings();
    Vertx vertx = Vertx.vertx(GatewayTestBase.strictOptions());
    try {
      vertx.runOnContext(v -> {
        try {
          Thread.sleep(300); // Deliberately blocking.
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        test.completeNow();
      });
      assertTrue(test.awaitCompletion(5, TimeUnit.SECONDS));
      GatewayTestBase.awaitTrue("the blocked-thread warning", () -> warnings.list.stream()
          .anyMatch(e -> e.getFormattedMessage().contains("has been blocked for")));
    } finally {
      ((Logger) LoggerFactory.getLogger(GatewayTestBase.BLOCKED_THREAD_LOGGER)).detachAppender(warnings);
      GatewayTestBase.await(vertx.close());
    }
  }
}
