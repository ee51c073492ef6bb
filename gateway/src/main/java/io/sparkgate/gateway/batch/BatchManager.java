package io.sparkgate.gateway.batch;

import io.sparkgate.gateway.launch.DriverLauncher;
import io.sparkgate.gateway.session.SessionException;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The batches of the gateway: creation (with the limit), lookup, paging, deletion (which kills the
 * application), and the sweep that forgets ended batches after the retention time.
 *
 * <p><b>Threading.</b> Batches and the manager's bookkeeping live on one Vert.x context; lookups
 * ({@link #get}, {@link #list}) are lock-free from any thread; changes hop to the context and
 * answer on the caller's.
 */
public final class BatchManager {

  private static final Logger LOG = LoggerFactory.getLogger(BatchManager.class);

  private final Vertx vertx;
  private final Context context;
  private final BatchSettings settings;
  private final DriverLauncher launcher;
  private final boolean clusterTracked;
  private final java.util.function.Function<BatchSession, io.vertx.core.buffer.Buffer> view;

  private final Map<Integer, BatchSession> byId = new ConcurrentHashMap<>();
  private volatile List<BatchSession> ordered = List.of();

  // Context only.
  /** Deleted batches whose application has not ended yet: they still count against the limit. */
  private final Set<BatchSession> stopping = new HashSet<>();
  private int nextId;
  private long sweepTimer = -1;
  private boolean closed;

  /**
   * @param clusterTracked whether the launcher's applications are tracked by YARN
   * @param view renders a batch as REST shows it (the {@code batch} events carry it)
   */
  public BatchManager(Vertx vertx, Context context, BatchSettings settings, DriverLauncher launcher,
      boolean clusterTracked, java.util.function.Function<BatchSession, io.vertx.core.buffer.Buffer> view) {
    this.view = Objects.requireNonNull(view, "view");
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.context = Objects.requireNonNull(context, "context");
    this.settings = Objects.requireNonNull(settings, "settings");
    this.launcher = Objects.requireNonNull(launcher, "launcher");
    this.clusterTracked = clusterTracked;
    context.runOnContext(v -> {
      if (!closed) {
        sweepTimer = vertx.setPeriodic(settings.sweepInterval().toMillis(), t -> sweep());
      }
    });
  }

  // --- Reads, any thread ------------------------------------------------------------------------

  /** Batch {@code id}, or null. */
  public BatchSession get(int id) {
    return byId.get(id);
  }

  /** The batches listed now, by id. */
  public List<BatchSession> list() {
    return ordered;
  }

  // --- Changes ----------------------------------------------------------------------------------

  /**
   * Creates a batch in {@code starting} and launches its application.
   *
   * @param owner the authenticated user, or null
   * @return the new batch; fails with SessionException UNAVAILABLE at the limit
   */
  public Future<BatchSession> create(BatchRequest request, String owner) {
    return call(() -> {
      if (closed) {
        throw new SessionException(SessionException.Reason.UNAVAILABLE, "The gateway is shutting down");
      }
      int alive = stopping.size();
      for (BatchSession b : byId.values()) {
        if (!b.state().isFinished()) {
          alive++;
        }
      }
      if (alive >= settings.maxBatches()) {
        throw new SessionException(SessionException.Reason.UNAVAILABLE, "Rejected: " + alive
            + " batches are running, the most this gateway runs at once; retry later");
      }
      int id = nextId++;
      BatchSession batch = new BatchSession(id, owner, request, context, settings, launcher, clusterTracked, view);
      LOG.info("Batch {} created (file {}, class {}, name {})", id, request.file(), request.className(), request.name());
      batch.start();
      byId.put(id, batch);
      republish();
      return batch;
    });
  }

  /**
   * Deletes batch {@code id}: it is no longer listed and its application is killed (as Livy's
   * {@code DELETE /batches/{id}}). Answers at once; the application ends in the background.
   *
   * @return fails with SessionException NOT_FOUND for an unknown id
   */
  public Future<Void> delete(int id, String reason) {
    return call(() -> {
      BatchSession b = byId.get(id);
      if (b == null) {
        throw new SessionException(SessionException.Reason.NOT_FOUND, "Batch '" + id + "' not found.");
      }
      remove(b, reason);
      return null;
    });
  }

  private void remove(BatchSession b, String reason) {
    byId.remove(b.id());
    republish();
    Future<Void> done = b.stop(reason);
    if (!done.isComplete()) {
      stopping.add(b);
      done.onComplete(ar -> stopping.remove(b));
    }
  }

  /**
   * Kills every batch's application; new batches are refused from now on.
   *
   * @return completes when every application has ended
   */
  public Future<Void> shutdown() {
    Promise<Void> done = Promise.promise();
    context.runOnContext(v -> {
      closed = true;
      if (sweepTimer >= 0) {
        vertx.cancelTimer(sweepTimer);
        sweepTimer = -1;
      }
      for (BatchSession b : new ArrayList<>(byId.values())) {
        remove(b, "the gateway is shutting down");
      }
      List<Future<Void>> waiting = new ArrayList<>();
      for (BatchSession b : stopping) {
        waiting.add(b.terminated());
      }
      Future.join(waiting).<Void>mapEmpty().onComplete(done);
    });
    return done.future();
  }

  /** Forgets batches that ended longer ago than the retention time; on the context. */
  void sweep() {
    long now = System.currentTimeMillis();
    long retain = settings.stateRetain().toMillis();
    for (BatchSession b : new ArrayList<>(byId.values())) {
      if (b.state().isFinished() && now - b.finishedAt() >= retain && b.terminated().isComplete()) {
        LOG.info("Batch {} ended {} ms ago; forgetting it", b.id(), now - b.finishedAt());
        byId.remove(b.id());
        republish();
      }
    }
  }

  private <T> Future<T> call(Callable<T> task) {
    Context caller = Vertx.currentContext();
    if (caller == context) {
      try {
        return Future.succeededFuture(task.call());
      } catch (Throwable t) {
        return Future.failedFuture(t);
      }
    }
    Promise<T> promise = Promise.promise();
    context.runOnContext(v -> {
      Future<T> result;
      try {
        result = Future.succeededFuture(task.call());
      } catch (Throwable t) {
        result = Future.failedFuture(t);
      }
      Future<T> r = result;
      if (caller == null) {
        r.onComplete(promise);
      } else {
        caller.runOnContext(x -> r.onComplete(promise));
      }
    });
    return promise.future();
  }

  private void republish() {
    List<BatchSession> list = new ArrayList<>(byId.values());
    list.sort(Comparator.comparingInt(BatchSession::id));
    ordered = List.copyOf(list);
  }
}
