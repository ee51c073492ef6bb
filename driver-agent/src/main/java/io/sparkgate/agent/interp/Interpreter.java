package io.sparkgate.agent.interp;

import java.util.List;

/**
 * One language of a session (Livy's "kind"): runs statements and answers completion requests.
 *
 * <p>Threading contract: {@link #start()} is called once, before anything else, possibly on a
 * worker thread. {@link #execute} is called by one statement thread at a time, never concurrently
 * with itself. {@link #complete} may be called from another thread while a statement runs; an
 * implementation that cannot complete safely during a statement says so and answers what it can
 * (for instance nothing) instead of blocking for long.
 */
public interface Interpreter extends AutoCloseable {

  /** The session kind this interpreter serves: {@code spark}, {@code pyspark}, {@code sparkr} or {@code sql}. */
  String kind();

  /** Heavy initialisation (a compiler, a child process); called once. */
  void start() throws Exception;

  /**
   * Runs one statement on the calling thread and returns its outcome. Output produced while it runs
   * goes to {@code sink} as it is produced, so that it can be streamed; the result's
   * {@code text/plain} repeats what a user would have seen.
   *
   * <p>Never throws for anything the user's code does: compile errors, exceptions and incomplete
   * input are {@link ExecuteResult.Failure}s.
   */
  ExecuteResult execute(String code, OutputSink sink);

  /** Completion candidates for {@code code} with the caret at {@code cursor}; empty when there are none. */
  List<String> complete(String code, int cursor);

  /**
   * Interrupts the statement running on {@code statementThread} (a cancel). Called from another
   * thread. The default interrupts the thread; an interpreter whose own machinery must not be
   * interrupted (the Scala compiler's file reads) delays the interrupt until user code runs.
   */
  default void interrupt(Thread statementThread) {
    statementThread.interrupt();
  }

  /**
   * Last resort for a statement that ignored interruption (a busy loop): stop {@code statementThread}
   * if, and only if, it is running user code where stopping it cannot corrupt the interpreter.
   * Called from another thread.
   *
   * @return whether a stop was delivered
   */
  default boolean forceStop(Thread statementThread) {
    return false;
  }

  /** Releases what {@link #start()} acquired. Does not stop the SparkSession. */
  @Override
  void close();
}
