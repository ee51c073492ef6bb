package io.sparkgate.gateway.launch;

import io.vertx.core.Future;
import java.time.Duration;

/** A running Spark driver, as its session sees it, wherever it runs. */
public interface DriverProcess {

  /**
   * Completes with the exit code once the driver has ended and its remaining output is in the log.
   * Completes on an arbitrary thread: callers hop to their own context.
   */
  Future<Integer> exit();

  /** Whether the driver still runs. */
  boolean isAlive();

  /** The driver's output lines, the last ones kept. */
  LogRing log();

  /**
   * Ends the driver and everything it started: politely first, forcibly once {@code grace} has
   * passed. Idempotent.
   *
   * @return completes when the driver has exited
   */
  Future<Void> kill(Duration grace);

  /** An identifier for messages (a pid, an application id). */
  String describe();

  /**
   * Calls {@code listener} (on an arbitrary thread) whenever the cluster manager reports something
   * new about the application; drivers that no cluster manager tracks (a local master) never call it.
   */
  default void onInfo(java.util.function.Consumer<AppInfo> listener) {}
}
