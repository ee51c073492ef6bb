package io.sparkgate.proto;

import java.util.Objects;

/** Gateway to agent, inside a {@link Sequenced} envelope. */
public sealed interface Command extends Sequenced.Payload {

  /**
   * Run {@code code} as statement {@code statementId}. Statements run one at a time, in the order
   * their Execute commands arrive.
   *
   * @param kind one of {@code spark}, {@code pyspark}, {@code sparkr}, {@code sql}
   */
  record Execute(int statementId, String kind, String code) implements Command {
    public Execute {
      Objects.requireNonNull(kind, "kind");
      Objects.requireNonNull(code, "code");
    }
  }

  /** Cancel statement {@code statementId}: drop it if still queued, else cancel its jobs and interrupt it. */
  record Cancel(int statementId) implements Command {}

  /** Ask for completion candidates; answered by {@link Event.Completion} with the same requestId. */
  record Complete(int requestId, String kind, String code, int cursor) implements Command {
    public Complete {
      Objects.requireNonNull(kind, "kind");
      Objects.requireNonNull(code, "code");
    }
  }

  /** Stop the Spark application and exit; the session was deleted. */
  record Shutdown(String reason) implements Command {
    public Shutdown {
      Objects.requireNonNull(reason, "reason");
    }
  }
}
