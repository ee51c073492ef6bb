package io.sparkgate.gateway.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The event log's numbering, window, resets and listeners. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SessionEventLogTest {

  private Vertx vertx;
  private Context context;

  @BeforeAll
  void start() {
    vertx = Vertx.vertx();
    context = vertx.getOrCreateContext();
  }

  @AfterAll
  void stop() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** Runs {@code body} on the log's context and waits for it. */
  private void on(Consumer<SessionEventLog> body, SessionEventLog log) {
    CompletableFuture<Void> done = new CompletableFuture<>();
    context.runOnContext(v -> {
      try {
        body.accept(log);
        done.complete(null);
      } catch (Throwable t) {
        done.completeExceptionally(t);
      }
    });
    try {
      done.get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static void append(SessionEventLog log, String text) {
    log.append(SessionEvent.OUTPUT, 0, SessionEvent.Mark.NONE, Buffer.buffer("\"" + text + "\""));
  }

  private static List<Long> ids(List<SessionEvent> events) {
    return events.stream().map(SessionEvent::id).toList();
  }

  @Test
  void idsIncreaseByOneAndReadersGetExactlyTheEventsAfterTheirId() {
    SessionEventLog log = new SessionEventLog(context, 100, 1 << 20, 1);
    assertEquals(0, log.newestId());
    assertEquals(List.of(), ((SessionEventLog.Events) log.readAfter(0)).events());
    on(l -> {
      for (int i = 0; i < 5; i++) {
        append(l, "e" + i);
      }
    }, log);
    assertEquals(5, log.newestId());
    assertEquals(1, log.oldestId());
    assertEquals(List.of(1L, 2L, 3L, 4L, 5L), ids(((SessionEventLog.Events) log.readAfter(0)).events()));
    assertEquals(List.of(4L, 5L), ids(((SessionEventLog.Events) log.readAfter(3)).events()));
    assertEquals(List.of(), ids(((SessionEventLog.Events) log.readAfter(5)).events()));
  }

  @Test
  void theWindowIsBoundedByCountAndBytesAndOlderIdsGetAReset() {
    SessionEventLog byCount = new SessionEventLog(context, 3, 1 << 20, 1);
    on(l -> {
      for (int i = 0; i < 10; i++) {
        append(l, "e" + i);
      }
    }, byCount);
    assertEquals(3, byCount.size());
    assertEquals(8, byCount.oldestId());
    SessionEventLog.Reset reset = assertInstanceOf(SessionEventLog.Reset.class, byCount.readAfter(2));
    assertEquals(8, reset.oldestId());
    assertEquals(List.of(8L, 9L, 10L), ids(reset.events()));
    // The one just before the oldest kept is still a full answer.
    assertEquals(List.of(8L, 9L, 10L), ids(((SessionEventLog.Events) byCount.readAfter(7)).events()));
    // An id from another numbering (past the newest) is a reset too.
    assertInstanceOf(SessionEventLog.Reset.class, byCount.readAfter(11));

    SessionEventLog byBytes = new SessionEventLog(context, 1000, 1024, 1);
    on(l -> l.append(SessionEvent.OUTPUT, 0, SessionEvent.Mark.NONE, Buffer.buffer("\"" + "x".repeat(2000) + "\"")),
        byBytes);
    assertEquals(1, byBytes.size()); // The newest is kept even when alone over the bound.
    on(l -> append(l, "small"), byBytes);
    assertEquals(1, byBytes.size());
    assertEquals(2, byBytes.oldestId());
  }

  @Test
  void listenersHearEveryAppendInOrderOnTheContextAndMayLeaveWhileHearing() {
    SessionEventLog log = new SessionEventLog(context, 100, 1 << 20, 1);
    List<Long> heard = new ArrayList<>();
    SessionEventLog.Listener[] once = new SessionEventLog.Listener[1];
    List<Long> heardOnce = new ArrayList<>();
    once[0] = e -> {
      heardOnce.add(e.id());
      log.unsubscribe(once[0]);
    };
    on(l -> {
      l.subscribe(e -> heard.add(e.id()));
      l.subscribe(once[0]);
      l.subscribe(e -> {
        throw new IllegalStateException("a broken listener is dropped, the others go on");
      });
      append(l, "a");
      append(l, "b");
      append(l, "c");
      assertEquals(1, l.listeners());
    }, log);
    assertEquals(List.of(1L, 2L, 3L), heard);
    assertEquals(List.of(1L), heardOnce);
    assertThrows(IllegalStateException.class, () -> append(log, "off the context"));
  }

  @Test
  void aRecoveredLogContinuesItsNumbering() {
    SessionEventLog log = new SessionEventLog(context, 10, 1 << 20, 42);
    assertEquals(41, log.newestId());
    on(l -> append(l, "x"), log);
    assertEquals(List.of(42L), ids(((SessionEventLog.Events) log.readAfter(41)).events()));
  }
}
