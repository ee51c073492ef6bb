package io.sparkgate.gateway.session;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Deque;
import java.util.EnumSet;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Walks every (from, to) pair of both state machines: {@code validate} must accept exactly the
 * transitions written out below, by Livy name, and refuse all others with an IllegalStateException.
 */
class StateTablesTest {

  private static final Set<String> SESSION_TRANSITIONS = Set.of(
      "not_started->starting", "not_started->recovering",
      "starting->idle", "recovering->idle", "busy->idle",
      "idle->busy", "recovering->busy",
      "not_started->shutting_down", "starting->shutting_down", "recovering->shutting_down",
      "idle->shutting_down", "busy->shutting_down",
      "not_started->error", "starting->error", "recovering->error",
      "recovering->dead", "idle->dead", "busy->dead", "shutting_down->dead",
      "starting->killed", "recovering->killed", "idle->killed", "busy->killed", "shutting_down->killed",
      "shutting_down->success");

  private static final Set<String> STATEMENT_TRANSITIONS = Set.of(
      "waiting->running",
      "running->available",
      "waiting->error", "running->error", "cancelling->error",
      "running->cancelling",
      "waiting->cancelled", "running->cancelled", "cancelling->cancelled");

  @Test
  void sessionTableIsExactlyTheDocumentedOne() {
    int allowed = 0;
    for (SessionState from : SessionState.values()) {
      for (SessionState to : SessionState.values()) {
        String pair = from.livyName() + "->" + to.livyName();
        if (SESSION_TRANSITIONS.contains(pair)) {
          allowed++;
          assertTrue(SessionState.isValid(from, to), pair);
          assertDoesNotThrow(() -> SessionState.validate(from, to), pair);
        } else {
          IllegalStateException e =
              assertThrows(IllegalStateException.class, () -> SessionState.validate(from, to), pair);
          assertEquals("Illegal session transition: " + pair.replace("->", " -> "), e.getMessage());
        }
      }
    }
    assertEquals(SESSION_TRANSITIONS.size(), allowed);
  }

  @Test
  void statementTableIsExactlyTheDocumentedOne() {
    int allowed = 0;
    for (StatementState from : StatementState.values()) {
      for (StatementState to : StatementState.values()) {
        String pair = from.livyName() + "->" + to.livyName();
        if (STATEMENT_TRANSITIONS.contains(pair)) {
          allowed++;
          assertTrue(StatementState.isValid(from, to), pair);
          assertDoesNotThrow(() -> StatementState.validate(from, to), pair);
        } else {
          IllegalStateException e =
              assertThrows(IllegalStateException.class, () -> StatementState.validate(from, to), pair);
          assertEquals("Illegal statement transition: " + pair.replace("->", " -> "), e.getMessage());
        }
      }
    }
    assertEquals(STATEMENT_TRANSITIONS.size(), allowed);
  }

  @Test
  void livyNamesAreLivys() {
    assertEquals("not_started starting recovering idle busy shutting_down error dead killed success",
        Arrays.stream(SessionState.values()).map(SessionState::livyName).collect(Collectors.joining(" ")));
    assertEquals("waiting running available error cancelling cancelled",
        Arrays.stream(StatementState.values()).map(StatementState::livyName).collect(Collectors.joining(" ")));
  }

  @Test
  void everySessionStateIsReachableAndFinishedStatesAreTerminal() {
    Set<SessionState> seen = EnumSet.of(SessionState.NOT_STARTED);
    Deque<SessionState> todo = new ArrayDeque<>(seen);
    while (!todo.isEmpty()) {
      SessionState from = todo.pop();
      for (SessionState to : SessionState.values()) {
        if (SessionState.isValid(from, to) && seen.add(to)) {
          todo.push(to);
        }
      }
    }
    assertEquals(EnumSet.allOf(SessionState.class), seen);
    for (SessionState from : SessionState.values()) {
      if (from.isFinished()) {
        for (SessionState to : SessionState.values()) {
          assertTrue(!SessionState.isValid(from, to), from + " is finished but may become " + to);
        }
      }
    }
  }

  @Test
  void finalStatementStatesAreTerminalAndAllAreReachable() {
    Set<StatementState> seen = EnumSet.of(StatementState.WAITING);
    Deque<StatementState> todo = new ArrayDeque<>(seen);
    while (!todo.isEmpty()) {
      StatementState from = todo.pop();
      for (StatementState to : StatementState.values()) {
        if (StatementState.isValid(from, to) && seen.add(to)) {
          todo.push(to);
        }
      }
    }
    assertEquals(EnumSet.allOf(StatementState.class), seen);
    for (StatementState from : StatementState.values()) {
      for (StatementState to : StatementState.values()) {
        if (from.isFinal()) {
          assertTrue(!StatementState.isValid(from, to), from + " is final but may become " + to);
        }
      }
    }
  }

  @Test
  void anAvailableStatementAlwaysHasItsOutput() {
    Statement running = Statement.waiting(0, "1 + 1", Kind.SPARK).running(1L);
    assertThrows(IllegalArgumentException.class, () -> running.ended(StatementState.AVAILABLE, null, 2L));
    Statement done = running.ended(StatementState.AVAILABLE, new StatementOutput.Ok(0, "{}"), 2L);
    assertEquals(StatementState.AVAILABLE, done.state());
    assertEquals(1.0, done.progress());
    assertThrows(IllegalStateException.class, () -> done.to(StatementState.RUNNING));
  }

  @Test
  void kindsAcceptLivysAliases() {
    assertEquals(Kind.SPARK, Kind.parse("scala"));
    assertEquals(Kind.PYSPARK, Kind.parse("Python"));
    assertEquals(Kind.SPARKR, Kind.parse("r"));
    assertEquals(Kind.SQL, Kind.parse("sql"));
    assertThrows(IllegalArgumentException.class, () -> Kind.parse("shared"));
    assertThrows(IllegalArgumentException.class, () -> Kind.parse("cobol"));
  }
}
