package io.sparkgate.gateway.batch;

import java.util.Collections;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.Map;
import java.util.Set;

/**
 * The states of a batch, with Livy's names, and the transitions allowed between them as a table of
 * predecessors. Every state change of a batch goes through {@link #validate}.
 *
 * <pre>
 *  starting ─▶ running ─▶ success | dead | killed
 *      └──────────────────▶ success | dead | killed   (ended before it was seen running)
 * </pre>
 *
 * <p>starting: spark-submit runs, or YARN has not started the application master yet; running: the
 * driver runs; success: it exited 0 (on YARN: FINISHED and SUCCEEDED); dead: it failed or could not
 * be launched; killed: it was deleted, or killed from outside (e.g. {@code yarn application -kill}).
 * success, dead and killed are final.
 */
public enum BatchState {
  STARTING("starting"),
  RUNNING("running"),
  SUCCESS("success"),
  DEAD("dead"),
  KILLED("killed");

  private static final Map<BatchState, Set<BatchState>> PREDECESSORS = new EnumMap<>(BatchState.class);

  static {
    allow(STARTING);
    allow(RUNNING, STARTING);
    allow(SUCCESS, STARTING, RUNNING);
    allow(DEAD, STARTING, RUNNING);
    allow(KILLED, STARTING, RUNNING);
  }

  private final String livyName;

  BatchState(String livyName) {
    this.livyName = livyName;
  }

  private static void allow(BatchState to, BatchState... from) {
    Set<BatchState> set = EnumSet.noneOf(BatchState.class);
    Collections.addAll(set, from);
    PREDECESSORS.put(to, Collections.unmodifiableSet(set));
  }

  /** The name in Livy's JSON. */
  public String livyName() {
    return livyName;
  }

  /** Whether the application is gone for good. */
  public boolean isFinished() {
    return this == SUCCESS || this == DEAD || this == KILLED;
  }

  public static boolean isValid(BatchState from, BatchState to) {
    return PREDECESSORS.get(to).contains(from);
  }

  /**
   * Checks a transition.
   *
   * @throws IllegalStateException when {@code to} may not follow {@code from}
   */
  public static void validate(BatchState from, BatchState to) {
    if (!isValid(from, to)) {
      throw new IllegalStateException("Illegal batch transition: " + from.livyName + " -> " + to.livyName);
    }
  }

  @Override
  public String toString() {
    return livyName;
  }
}
