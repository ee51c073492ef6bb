package io.sparkgate.gateway.session;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class StatementStoreTest {

  private static Statement done(Statement s) {
    return s.running(1).ended(StatementState.AVAILABLE, new StatementOutput.Ok(s.id(), "{}"), 2);
  }

  @Test
  void keepsTheLastStatementsAndForgetsOlderOnes() {
    StatementStore store = new StatementStore(3);
    for (int i = 0; i < 5; i++) {
      Statement s = Statement.waiting(i, "code " + i, Kind.SQL);
      store.add(s);
      store.replace(done(s));
    }
    assertNull(store.get(0));
    assertNull(store.get(1));
    assertEquals("code 2", store.get(2).code());
    assertEquals(List.of(2, 3, 4), store.list().stream().map(Statement::id).toList());
    assertNull(store.get(5));
    assertNull(store.get(-1));
    assertEquals(5, store.nextId());
  }

  @Test
  void neverDropsAStatementThatHasNotEnded() {
    StatementStore store = new StatementStore(2);
    store.add(Statement.waiting(0, "a", Kind.SPARK));
    store.add(Statement.waiting(1, "b", Kind.SPARK));
    assertFalse(store.hasRoom());
    assertThrows(IllegalStateException.class, () -> store.add(Statement.waiting(2, "c", Kind.SPARK)));
    assertTrue(store.anyPending());
    store.replace(done(store.get(0)));
    assertTrue(store.hasRoom());
    store.add(Statement.waiting(2, "c", Kind.SPARK));
    assertNull(store.get(0));
  }

  @Test
  void replaceSwapsTheValueReadersSee() {
    StatementStore store = new StatementStore(4);
    Statement s = Statement.waiting(0, "x", Kind.PYSPARK);
    store.add(s);
    Statement running = s.running(10);
    store.replace(running);
    assertSame(running, store.get(0));
    assertThrows(IllegalArgumentException.class, () -> store.replace(Statement.waiting(1, "y", Kind.SPARK)));
    assertThrows(IllegalArgumentException.class, () -> store.add(Statement.waiting(7, "z", Kind.SPARK)));
  }
}
