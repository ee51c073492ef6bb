package io.sparkgate.gateway.session;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The last {@code capacity} statements of a session, by id (0, 1, 2, ...).
 *
 * <p>One writer, the session's context, adds and replaces statements; readers on any thread look
 * them up without locks: slot {@code id % capacity} holds the latest value of statement {@code id}
 * until a newer statement takes the slot. A new statement may only take the slot of one that has
 * ended, so statements still waiting or running are never dropped (and the session refuses new ones
 * while every slot holds one).
 */
final class StatementStore {

  private final AtomicReferenceArray<Statement> slots;
  private final int capacity;
  private volatile int nextId;
  private final java.util.function.Consumer<Statement> onEnded;

  StatementStore(int capacity) {
    this(capacity, s -> {});
  }

  /** @param onEnded called with each statement as it reaches a final state */
  StatementStore(int capacity, java.util.function.Consumer<Statement> onEnded) {
    this.onEnded = onEnded;
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be positive: " + capacity);
    }
    this.capacity = capacity;
    this.slots = new AtomicReferenceArray<>(capacity);
  }

  /** The id the next statement gets. */
  int nextId() {
    return nextId;
  }

  /** Whether a new statement fits without dropping one that has not ended. */
  boolean hasRoom() {
    Statement evicted = slots.get(nextId % capacity);
    return evicted == null || evicted.state().isFinal();
  }

  /** Adds {@code s}, whose id must be {@link #nextId()}. Writer only. */
  void add(Statement s) {
    int id = nextId;
    if (s.id() != id) {
      throw new IllegalArgumentException("expected statement " + id + ", got " + s.id());
    }
    if (!hasRoom()) {
      throw new IllegalStateException("no room for statement " + id);
    }
    slots.set(id % capacity, s);
    nextId = id + 1;
  }

  /** Replaces the value of a kept statement. Writer only. */
  void replace(Statement s) {
    int slot = s.id() % capacity;
    Statement old = slots.get(slot);
    if (old == null || old.id() != s.id()) {
      throw new IllegalArgumentException("statement " + s.id() + " is not kept");
    }
    slots.set(slot, s);
    if (s.state().isFinal() && !old.state().isFinal()) {
      onEnded.accept(s);
    }
  }

  /** Statement {@code id}, or null when it never existed or was dropped. Any thread. */
  Statement get(int id) {
    if (id < 0 || id >= nextId) {
      return null;
    }
    Statement s = slots.get(id % capacity);
    return s != null && s.id() == id ? s : null;
  }

  /** The kept statements, oldest first. Any thread. */
  List<Statement> list() {
    int end = nextId;
    int start = Math.max(0, end - capacity);
    List<Statement> out = new ArrayList<>(end - start);
    for (int id = start; id < end; id++) {
      Statement s = get(id);
      if (s != null) {
        out.add(s);
      }
    }
    return Collections.unmodifiableList(out);
  }

  /** Whether any kept statement is waiting, running or cancelling. Writer only. */
  boolean anyPending() {
    int end = nextId;
    for (int id = Math.max(0, end - capacity); id < end; id++) {
      Statement s = get(id);
      if (s != null && !s.state().isFinal()) {
        return true;
      }
    }
    return false;
  }
}
