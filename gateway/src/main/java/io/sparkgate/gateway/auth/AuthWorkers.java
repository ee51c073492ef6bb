package io.sparkgate.gateway.auth;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.WorkerExecutor;
import java.util.concurrent.Callable;

/**
 * A small worker pool of its own for credential checks that block (LDAP binds, Kerberos ticket
 * decryption with keys read from the keytab): they never run on an event loop, and a flood of
 * requests with bad credentials cannot take the workers that launch drivers.
 */
public final class AuthWorkers {

  /** Threads of the pool: enough for a few slow LDAP servers at once. */
  static final int POOL_SIZE = 4;

  private final WorkerExecutor executor;

  public AuthWorkers(Vertx vertx) {
    this.executor = vertx.createSharedWorkerExecutor("sparkgate-auth", POOL_SIZE);
  }

  /** Runs {@code task} on the pool, unordered; completes on the caller's context. */
  public <T> Future<T> run(Callable<T> task) {
    return executor.executeBlocking(task, false);
  }

  public Future<Void> close() {
    return executor.close();
  }
}
