package io.sparkgate.agent.interp;

import org.apache.spark.api.r.RAuthHelper;
import org.apache.spark.api.r.RBackend;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;

/**
 * Spark's SparkR backend ({@link RBackend}) running in this driver JVM: a Netty server on a
 * loopback port, guarded by a secret, through which an R process calls JVM methods. This is what
 * {@code spark-submit} starts for the sparkR shell; here the R process attaches to it as to an
 * existing backend ({@code EXISTING_SPARKR_BACKEND_PORT}). One backend serves every R process the
 * interpreter starts, one after another.
 */
final class RSparkBackend implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RSparkBackend.class);

  private final RBackend backend;
  private final int port;
  private final String secret;

  private RSparkBackend(RBackend backend, int port, String secret) {
    this.backend = backend;
    this.port = port;
    this.secret = secret;
  }

  /** Binds the backend to a loopback port. */
  static RSparkBackend start() {
    Thread thread = Thread.currentThread();
    ClassLoader previous = thread.getContextClassLoader();
    // The backend's threads inherit this loader and load classes the R process names with it
    // (RSparkEntries among them), so it must see the agent's classes.
    thread.setContextClassLoader(RSparkBackend.class.getClassLoader());
    try {
      RBackend backend = new RBackend();
      Tuple2<Object, RAuthHelper> bound = backend.init();
      int port = (Integer) bound._1();
      log.info("SparkR backend listening on port {}", port);
      return new RSparkBackend(backend, port, bound._2().secret());
    } finally {
      thread.setContextClassLoader(previous);
    }
  }

  int port() {
    return port;
  }

  String secret() {
    return secret;
  }

  /** Forgets the JVM objects handed out so far: called when the R process that held them died. */
  void releaseObjects() {
    backend.jvmObjectTracker().clear();
  }

  @Override
  public void close() {
    try {
      backend.close();
    } catch (RuntimeException e) {
      log.warn("stopping the SparkR backend failed", e);
    }
  }
}
