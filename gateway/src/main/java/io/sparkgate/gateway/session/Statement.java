package io.sparkgate.gateway.session;

import java.util.Objects;
import java.util.function.Function;

/**
 * One statement of a session, as an immutable value: every change makes a new one, so a reader on
 * any thread sees a state and the output that goes with it, never one without the other.
 *
 * <p>A statement never is {@code available} without an output: the constructor refuses it.
 */
public final class Statement {

  private final int id;
  private final String code;
  private final Kind kind;
  private final StatementState state;
  private final StatementOutput output;
  private final double progress;
  private final long started;
  private final long completed;
  private final long executionMicros;
  /** System.nanoTime() when the gateway took the statement, and when its result arrived (0 before). */
  private final long receivedNanos;
  private final long endedNanos;

  /** A rendering of this value (its JSON, say), made at most once per value by whoever needs it. */
  private volatile Memo memo;

  private record Memo(Object renderer, Object value) {}

  private Statement(int id, String code, Kind kind, StatementState state, StatementOutput output, double progress,
      long started, long completed, long executionMicros, long receivedNanos, long endedNanos) {
    this.id = id;
    this.code = Objects.requireNonNull(code, "code");
    this.kind = Objects.requireNonNull(kind, "kind");
    this.state = Objects.requireNonNull(state, "state");
    if (state == StatementState.AVAILABLE && output == null) {
      throw new IllegalArgumentException("an available statement needs its output");
    }
    this.output = output;
    this.progress = progress;
    this.started = started;
    this.completed = completed;
    this.executionMicros = executionMicros;
    this.receivedNanos = receivedNanos;
    this.endedNanos = endedNanos;
  }

  /** A statement just submitted: waiting, no output, no progress. */
  static Statement waiting(int id, String code, Kind kind) {
    return new Statement(id, code, kind, StatementState.WAITING, null, 0.0, 0L, 0L, 0L, System.nanoTime(), 0L);
  }

  /** A statement read back from the state store (its timings relative to this JVM are unknown). */
  static Statement restored(int id, String code, Kind kind, StatementState state, StatementOutput output,
      double progress, long started, long completed, long executionMicros) {
    return new Statement(id, code, kind, state, output, progress, started, completed, executionMicros,
        System.nanoTime(), 0L);
  }

  public int id() {
    return id;
  }

  public String code() {
    return code;
  }

  public Kind kind() {
    return kind;
  }

  public StatementState state() {
    return state;
  }

  /** The output once the statement ended with one (available, or error), else null. */
  public StatementOutput output() {
    return output;
  }

  /** Fraction of the statement's Spark tasks done, 0.0 to 1.0; 1.0 once it ended. */
  public double progress() {
    return progress;
  }

  /** When it began to run, epoch millis; 0 before. */
  public long started() {
    return started;
  }

  /** When it ended, epoch millis; 0 before. */
  public long completed() {
    return completed;
  }

  /**
   * Time the statement spent in the driver, as its agent measured it, in microseconds; 0 until it
   * ended (and for statements that never ran). Not part of Livy's JSON: the REST API sends it as the
   * {@code Sparkgate-Execution-Micros} header.
   */
  public long executionMicros() {
    return executionMicros;
  }

  /**
   * What the gateway, the protocol and the agent's hand-offs added to the statement's time in the
   * driver, in microseconds: from the gateway taking the statement to its result arriving, less
   * {@link #executionMicros()}. -1 until it ended after running. Sent as the
   * {@code Sparkgate-Gateway-Micros} header.
   */
  public long gatewayMicros() {
    if (endedNanos == 0 || executionMicros == 0) {
      return -1;
    }
    return Math.max(0, (endedNanos - receivedNanos) / 1000 - executionMicros);
  }

  /** This statement in {@code next} state (checked against the table), other fields unchanged. */
  Statement to(StatementState next) {
    StatementState.validate(state, next);
    return new Statement(id, code, kind, next, output, progress, started, completed, executionMicros, receivedNanos, endedNanos);
  }

  /** Began to run at {@code now}. */
  Statement running(long now) {
    StatementState.validate(state, StatementState.RUNNING);
    return new Statement(id, code, kind, StatementState.RUNNING, null, progress, now, completed, executionMicros, receivedNanos, endedNanos);
  }

  /** Ended in {@code next} with {@code out} (null unless available or error) at {@code now}. */
  Statement ended(StatementState next, StatementOutput out, long now) {
    return ended(next, out, now, 0L);
  }

  /** As {@link #ended(StatementState, StatementOutput, long)}, with the driver's own timing. */
  Statement ended(StatementState next, StatementOutput out, long now, long executionMicros) {
    StatementState.validate(state, next);
    return new Statement(id, code, kind, next, out, 1.0, started, now, executionMicros, receivedNanos,
        System.nanoTime());
  }

  Statement withProgress(double p) {
    return new Statement(id, code, kind, state, output, p, started, completed, executionMicros, receivedNanos, endedNanos);
  }

  /**
   * The rendering of this value by {@code renderer}, computed on first use and kept: values never
   * change, so neither does their rendering. Safe from any thread; two racing first calls may both
   * render, with equal results.
   */
  @SuppressWarnings("unchecked")
  public <T> T rendered(Function<Statement, T> renderer) {
    Memo m = memo;
    if (m != null && m.renderer() == renderer) {
      return (T) m.value();
    }
    T value = renderer.apply(this);
    memo = new Memo(renderer, value);
    return value;
  }

  @Override
  public String toString() {
    return "Statement[" + id + ", " + kind + ", " + state + "]";
  }
}
