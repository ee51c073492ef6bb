package io.sparkgate.gateway.session;

import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * The states of an interactive session, with Livy's names, and the transitions allowed between them
 * as a table of predecessors. Every state change of a session goes through {@link #validate}.
 *
 * <pre>
 *  not_started ─▶ starting ──▶ idle ⇄ busy          (recovering: like starting, for a session
 *                    │           │     │              reloaded after a gateway restart)
 *                    ▼           ▼     ▼
 *                  error     shutting_down ─▶ success | killed | dead
 *    (never became idle)        idle, busy ─▶ dead (the driver died) | killed (killed from outside)
 * </pre>
 *
 * <p>error, dead, killed and success are final.
 */
public enum SessionState {
  NOT_STARTED("not_started"),
  STARTING("starting"),
  RECOVERING("recovering"),
  IDLE("idle"),
  BUSY("busy"),
  SHUTTING_DOWN("shutting_down"),
  ERROR("error"),
  DEAD("dead"),
  KILLED("killed"),
  SUCCESS("success");

  private static final Map<SessionState, Set<SessionState>> PREDECESSORS = new EnumMap<>(SessionState.class);

  static {
    allow(NOT_STARTED);
    allow(STARTING, NOT_STARTED);
    // A session reloaded from the state store waits for its agent to dial back.
    allow(RECOVERING, NOT_STARTED);
    allow(IDLE, STARTING, RECOVERING, BUSY);
    allow(BUSY, IDLE, RECOVERING);
    allow(SHUTTING_DOWN, NOT_STARTED, STARTING, RECOVERING, IDLE, BUSY);
    // Error: the session never became usable (launch failed, agent failed or timed out at start).
    allow(ERROR, NOT_STARTED, STARTING, RECOVERING);
    // Dead: a usable session lost its driver, or a stopping driver ended abnormally.
    allow(DEAD, RECOVERING, IDLE, BUSY, SHUTTING_DOWN);
    // Killed: the driver was terminated from outside the session or had to be killed at stop.
    allow(KILLED, STARTING, RECOVERING, IDLE, BUSY, SHUTTING_DOWN);
    // Success: the driver exited cleanly after a stop.
    allow(SUCCESS, SHUTTING_DOWN);
  }

  private final String livyName;

  SessionState(String livyName) {
    this.livyName = livyName;
  }

  private static void allow(SessionState to, SessionState... from) {
    Set<SessionState> set = EnumSet.noneOf(SessionState.class);
    Collections.addAll(set, from);
    PREDECESSORS.put(to, Collections.unmodifiableSet(set));
  }

  /** The name in Livy's JSON, e.g. {@code shutting_down}. */
  public String livyName() {
    return livyName;
  }

  /** The states this one may be entered from. */
  public Set<SessionState> predecessors() {
    return PREDECESSORS.get(this);
  }

  /** Whether the driver is gone for good: error, dead, killed or success. */
  public boolean isFinished() {
    return this == ERROR || this == DEAD || this == KILLED || this == SUCCESS;
  }

  /** Whether the session accepts statements (they queue while it starts or recovers). */
  public boolean acceptsStatements() {
    return this == NOT_STARTED || this == STARTING || this == RECOVERING || this == IDLE || this == BUSY;
  }

  public static boolean isValid(SessionState from, SessionState to) {
    return PREDECESSORS.get(to).contains(from);
  }

  /**
   * Checks a transition.
   *
   * @throws IllegalStateException when {@code to} may not follow {@code from}
   */
  public static void validate(SessionState from, SessionState to) {
    if (!isValid(from, to)) {
      throw new IllegalStateException("Illegal session transition: " + from.livyName + " -> " + to.livyName);
    }
  }

  @Override
  public String toString() {
    return livyName;
  }
}
