package io.sparkgate.gateway.launch;

import io.vertx.core.Future;

/**
 * Starts Spark drivers. Sessions talk only to this interface, so they do not care where the driver
 * runs: a local spark-submit child ({@link SparkSubmitLauncher}) today, a YARN application later.
 */
public interface DriverLauncher {

  /**
   * Starts a driver. Never blocks the caller: process creation runs on a worker thread.
   *
   * @return the running driver, or a failure saying why it could not be started
   */
  Future<DriverProcess> launch(LaunchSpec spec);

  /**
   * Why drivers from this launcher cannot serve sessions of {@code kind}, for the client; null when
   * they can. Answers from memory (it is called on the event loop).
   */
  default String unsupported(io.sparkgate.gateway.session.Kind kind) {
    return null;
  }
}
