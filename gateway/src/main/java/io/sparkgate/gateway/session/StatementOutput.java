package io.sparkgate.gateway.session;

import java.util.List;
import java.util.Objects;

/** The output of a statement that ended, in Livy's two shapes. */
public sealed interface StatementOutput {

  /** Livy's {@code execution_count}: the statement's id. */
  int executionCount();

  /**
   * The code ran: {@code {"status":"ok","execution_count":n,"data":{...}}}.
   *
   * @param dataJson a JSON object from MIME type to value, checked to be one
   */
  record Ok(int executionCount, String dataJson) implements StatementOutput {
    public Ok {
      Objects.requireNonNull(dataJson, "dataJson");
    }
  }

  /** The code raised: {@code {"status":"error","execution_count":n,"ename":..,"evalue":..,"traceback":[..]}}. */
  record Error(int executionCount, String ename, String evalue, List<String> traceback) implements StatementOutput {
    public Error {
      Objects.requireNonNull(ename, "ename");
      Objects.requireNonNull(evalue, "evalue");
      traceback = List.copyOf(traceback);
    }
  }
}
