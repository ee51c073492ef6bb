package io.sparkgate.gateway.session;

import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * The states of a statement, with Livy's names, and the transitions allowed between them as a
 * table of predecessors.
 *
 * <p>As in Livy, a statement whose code raised an error is {@code available}: its output says
 * {@code "status": "error"}. The state {@code error} means the statement could not complete at
 * all because its session died under it.
 *
 * <pre>
 *  waiting ─▶ running ─▶ available
 *     │          │
 *     │          └▶ cancelling ─▶ cancelled
 *     └──────────────────────────▶ cancelled      (waiting, running, cancelling ─▶ error)
 * </pre>
 */
public enum StatementState {
  WAITING("waiting"),
  RUNNING("running"),
  AVAILABLE("available"),
  ERROR("error"),
  CANCELLING("cancelling"),
  CANCELLED("cancelled");

  private static final Map<StatementState, Set<StatementState>> PREDECESSORS = new EnumMap<>(StatementState.class);

  static {
    allow(WAITING);
    allow(RUNNING, WAITING);
    allow(AVAILABLE, RUNNING);
    allow(ERROR, WAITING, RUNNING, CANCELLING);
    allow(CANCELLING, RUNNING);
    // RUNNING -> CANCELLED: the agent reports a cancellation nobody asked for here (a job killed
    // from the Spark UI).
    allow(CANCELLED, WAITING, RUNNING, CANCELLING);
  }

  private final String livyName;

  StatementState(String livyName) {
    this.livyName = livyName;
  }

  private static void allow(StatementState to, StatementState... from) {
    Set<StatementState> set = EnumSet.noneOf(StatementState.class);
    Collections.addAll(set, from);
    PREDECESSORS.put(to, Collections.unmodifiableSet(set));
  }

  /** The name in Livy's JSON. */
  public String livyName() {
    return livyName;
  }

  /** The states this one may be entered from. */
  public Set<StatementState> predecessors() {
    return PREDECESSORS.get(this);
  }

  /** Whether the statement is over: available, error or cancelled. */
  public boolean isFinal() {
    return this == AVAILABLE || this == ERROR || this == CANCELLED;
  }

  public static boolean isValid(StatementState from, StatementState to) {
    return PREDECESSORS.get(to).contains(from);
  }

  /**
   * Checks a transition.
   *
   * @throws IllegalStateException when {@code to} may not follow {@code from}
   */
  public static void validate(StatementState from, StatementState to) {
    if (!isValid(from, to)) {
      throw new IllegalStateException("Illegal statement transition: " + from.livyName + " -> " + to.livyName);
    }
  }

  @Override
  public String toString() {
    return livyName;
  }
}
