package io.sparkgate.proto;

import java.util.List;
import java.util.Objects;

/** Agent to gateway, inside a {@link Sequenced} envelope. */
public sealed interface Event extends Sequenced.Payload {

  /**
   * The SparkSession and the session's own interpreter are up: the session is idle.
   *
   * @param appId the Spark application id
   * @param sparkUiUrl the Spark web UI, or the empty string when disabled
   */
  record Ready(String appId, String sparkUiUrl) implements Event {
    public Ready {
      Objects.requireNonNull(appId, "appId");
      Objects.requireNonNull(sparkUiUrl, "sparkUiUrl");
    }
  }

  /** The agent could not start (no SparkSession, no interpreter); it exits after sending this. */
  record StartFailed(String message) implements Event {
    public StartFailed {
      Objects.requireNonNull(message, "message");
    }
  }

  /** Statement {@code statementId} left the queue and began to run. */
  record StatementStarted(int statementId) implements Event {}

  /** A piece of output of a running statement, as it was produced; for live streams only. */
  record StatementOutput(int statementId, Stream stream, String text) implements Event {
    public StatementOutput {
      Objects.requireNonNull(stream, "stream");
      Objects.requireNonNull(text, "text");
    }
  }

  /** The statement's Spark jobs have completed {@code completedTasks} of {@code totalTasks}. */
  record StatementProgress(int statementId, int completedTasks, int totalTasks) implements Event {}

  /**
   * The statement ended. Exactly one per executed statement; its state and its output arrive
   * together.
   *
   * @param status OK with {@code dataJson}, ERROR with {@code ename}, {@code evalue} and
   *     {@code traceback}, or CANCELLED
   * @param dataJson a JSON object from MIME type to value, e.g. {@code {"text/plain":"..."}}; the
   *     empty string unless OK
   * @param truncated the output passed the agent's cap and was cut (a mark in the text says where)
   * @param executionMicros time the statement spent in the driver, from leaving the queue to its
   *     result, measured by the agent (for benchmarks and metrics; 0 if not measured)
   */
  record StatementResult(
      int statementId,
      Status status,
      String dataJson,
      String ename,
      String evalue,
      List<String> traceback,
      boolean truncated,
      long executionMicros)
      implements Event {
    public StatementResult {
      Objects.requireNonNull(status, "status");
      Objects.requireNonNull(dataJson, "dataJson");
      Objects.requireNonNull(ename, "ename");
      Objects.requireNonNull(evalue, "evalue");
      traceback = List.copyOf(traceback);
    }

    /** This result with the time it took in the driver. */
    public StatementResult withExecutionMicros(long micros) {
      return new StatementResult(statementId, status, dataJson, ename, evalue, traceback, truncated, micros);
    }

    public static StatementResult ok(int statementId, String dataJson, boolean truncated) {
      return new StatementResult(statementId, Status.OK, dataJson, "", "", List.of(), truncated, 0);
    }

    public static StatementResult error(int statementId, String ename, String evalue, List<String> traceback) {
      return new StatementResult(statementId, Status.ERROR, "", ename, evalue, traceback, false, 0);
    }

    public static StatementResult cancelled(int statementId) {
      return new StatementResult(statementId, Status.CANCELLED, "", "", "", List.of(), false, 0);
    }
  }

  /** Candidates for a {@link Command.Complete} with the same requestId. */
  record Completion(int requestId, List<String> candidates) implements Event {
    public Completion {
      candidates = List.copyOf(candidates);
    }
  }

  /** Which stream a piece of output came from. */
  enum Stream {
    STDOUT,
    STDERR
  }

  /** How a statement ended. */
  enum Status {
    OK,
    ERROR,
    CANCELLED
  }
}
