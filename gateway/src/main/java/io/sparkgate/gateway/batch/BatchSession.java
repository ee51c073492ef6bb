package io.sparkgate.gateway.batch;

import io.sparkgate.gateway.launch.AppInfo;
import io.sparkgate.gateway.launch.DriverLauncher;
import io.sparkgate.gateway.launch.DriverProcess;
import io.sparkgate.gateway.launch.LaunchSpec;
import io.sparkgate.gateway.launch.LogRing;
import io.sparkgate.gateway.launch.SparkApplication;
import io.sparkgate.gateway.session.SessionEvent;
import io.sparkgate.gateway.session.SessionEventLog;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A batch: one Spark application run to its end (Livy's batch session), its state and its log. The
 * domain record; the REST shapes live in the api package.
 *
 * <p><b>Threading.</b> State changes happen on the batches' context (the {@link BatchManager}'s);
 * readers on any thread use {@link #status()} and {@link #log()}, immutable values and a lock-free
 * ring, so a GET never waits.
 *
 * <p><b>Lifecycle.</b> {@code starting} while spark-submit runs (on YARN: until the ResourceManager
 * runs the application master), {@code running} while the driver runs, then {@code success} (exit
 * 0, or YARN FINISHED and SUCCEEDED), {@code dead} (it failed or could not be launched) or
 * {@code killed} (deleted, or killed from outside). On YARN the state follows the ResourceManager,
 * not spark-submit, which only submits.
 *
 * <p><b>Events.</b> Every change goes to the batch's {@link SessionEventLog} (what
 * {@code GET /batches/{id}/events} streams): a {@code batch} event with the batch as REST shows it
 * on every state or application change, and {@code log} events with the new log lines.
 */
public final class BatchSession {

  private static final Logger LOG = LoggerFactory.getLogger(BatchSession.class);
  private static final String NOTE = "[sparkgate] ";
  /** Event type of a batch's change: its REST view. */
  public static final String EVENT_BATCH = "batch";

  private final int id;
  private final String owner;
  private final BatchRequest request;
  private final Context context;
  private final BatchSettings settings;
  private final boolean clusterTracked;
  private final SparkApplication app;
  private final LogRing log;
  private final SessionEventLog events;
  private final Function<BatchSession, Buffer> view;
  private final AtomicBoolean logPending = new AtomicBoolean();
  private final Thread contextThread;

  private volatile BatchStatus status = new BatchStatus(BatchState.STARTING, null, null, null);
  private volatile long finishedAt;

  // Context only.
  private boolean stopping;
  private long logPublished;

  /**
   * A batch in {@code starting}; {@link #start()} launches it. Context only.
   *
   * @param owner the authenticated user who created it, or null without authentication
   * @param clusterTracked whether a cluster manager (YARN) reports the application's state: then
   *     the batch is running only once it says so
   */
  BatchSession(int id, String owner, BatchRequest request, Context context, BatchSettings settings,
      DriverLauncher launcher, boolean clusterTracked, Function<BatchSession, Buffer> view) {
    this.id = id;
    this.owner = owner;
    this.request = Objects.requireNonNull(request, "request");
    this.context = Objects.requireNonNull(context, "context");
    this.settings = Objects.requireNonNull(settings, "settings");
    this.clusterTracked = clusterTracked;
    this.view = Objects.requireNonNull(view, "view");
    this.log = new LogRing(settings.logLines(), this::logAppended);
    this.events = new SessionEventLog(context, settings.eventLogEvents(), settings.eventLogBytes(), 1);
    this.app = new SparkApplication("Batch " + id, context, launcher, new AppEvents());
    if (!Context.isOnEventLoopThread()) {
      throw new IllegalStateException("a batch is created on its event-loop context");
    }
    this.contextThread = Thread.currentThread();
  }

  // --- Reads, any thread ------------------------------------------------------------------------

  public int id() {
    return id;
  }

  /** The client's name for the batch, or null. */
  public String name() {
    return request.name();
  }

  /** Who created it; null without authentication. */
  public String owner() {
    return owner;
  }

  /** The user the application runs as, or null. */
  public String proxyUser() {
    return request.app().proxyUser();
  }

  public BatchRequest request() {
    return request;
  }

  /** State and application facts, consistent with each other. */
  public BatchStatus status() {
    return status;
  }

  public BatchState state() {
    return status.state();
  }

  /** spark-submit's and the driver's output, and the gateway's notes. */
  public LogRing log() {
    return log;
  }

  /** The batch's numbered changes, for the push streams. */
  public SessionEventLog events() {
    return events;
  }

  /** Epoch millis when the batch ended; 0 while it has not. */
  public long finishedAt() {
    return finishedAt;
  }

  /** Completes when nothing of the batch runs any more (spark-submit and the application). */
  public Future<Void> terminated() {
    return app.terminated();
  }

  // --- Lifecycle, context only ------------------------------------------------------------------

  /** Launches the application. Context only. */
  void start() {
    checkContext();
    publish();
    String appName = request.name() != null ? request.name() : "sparkgate-batch-" + id;
    app.launch(new LaunchSpec(LaunchSpec.BATCH, id, appName, request.className(), request.file(), request.args(),
        request.app(), Map.of(), Map.of(), log));
  }

  /**
   * Kills the application (a no-op once it ended): politely, forcibly after the stop grace.
   * Idempotent. Context only.
   *
   * @return completes when nothing of the batch runs any more
   */
  Future<Void> stop(String reason) {
    checkContext();
    if (!stopping && !status.state().isFinished()) {
      stopping = true;
      LOG.info("Batch {}: killing it ({})", id, reason);
      note("Killing the batch: " + reason + ".");
    }
    app.kill(settings.stopGrace());
    return app.terminated();
  }

  /** Receives the application supervisor's calls, on the batches' context. */
  private final class AppEvents implements SparkApplication.Listener {
    @Override
    public void launched(DriverProcess process) {
      LOG.info("Batch {}: started ({})", id, process.describe());
      if (!clusterTracked && status.state() == BatchState.STARTING) {
        transition(status.withState(BatchState.RUNNING));
      }
    }

    @Override
    public void launchFailed(Throwable cause) {
      String why = cause.getMessage() != null ? cause.getMessage() : cause.toString();
      LOG.warn("Batch {}: could not launch: {}", id, why);
      note("Could not launch the application: " + why);
      finish(BatchState.DEAD);
    }

    @Override
    public void infoChanged(AppInfo info) {
      BatchStatus now = status;
      BatchState state = now.state();
      if (!state.isFinished()) {
        if (info.ended()) {
          state = info.succeeded() ? BatchState.SUCCESS : info.killed() ? BatchState.KILLED : BatchState.DEAD;
        } else if (info.running()) {
          state = BatchState.RUNNING;
        }
      }
      BatchStatus next = new BatchStatus(now.state(), info.appId(), info.driverLogUrl(), info.sparkUiUrl());
      if (state != now.state()) {
        BatchState.validate(now.state(), state);
        next = next.withState(state);
        if (state.isFinished()) {
          finishedAt = System.currentTimeMillis();
        }
        LOG.info("Batch {}: {} -> {} (YARN {})", id, now.state(), state, info.state());
      }
      if (!next.equals(now)) {
        status = next;
        publish();
      }
    }

    @Override
    public void exited(int code, boolean killedByGateway) {
      note("The application exited with code " + code + ".");
      if (!status.state().isFinished()) {
        finish(killedByGateway || (clusterTracked && code == 143) ? BatchState.KILLED
            : code == 0 ? BatchState.SUCCESS : BatchState.DEAD);
      }
    }
  }

  private void finish(BatchState next) {
    BatchState state = status.state();
    if (state.isFinished()) {
      return;
    }
    transition(status.withState(next));
    LOG.info("Batch {}: {}", id, next);
  }

  private void transition(BatchStatus next) {
    BatchState.validate(status.state(), next.state());
    if (next.state().isFinished()) {
      finishedAt = System.currentTimeMillis();
    }
    status = next;
    publish();
  }

  /** Appends a {@code batch} event: the batch as REST shows it now (after the lines logged before). */
  private void publish() {
    publishLog();
    events.append(EVENT_BATCH, SessionEvent.NO_STATEMENT, SessionEvent.Mark.NONE, view.apply(this));
  }

  /** The log got a line (on any thread): publish it on the context, many lines in one event. */
  private void logAppended() {
    if (logPending.compareAndSet(false, true)) {
      context.runOnContext(v -> {
        logPending.set(false);
        publishLog();
      });
    }
  }

  /** Appends a {@code log} event with the lines logged since the last one, if any. Context only. */
  private void publishLog() {
    long end = log.written();
    List<String> lines = log.range(logPublished, end);
    logPublished = end;
    if (!lines.isEmpty()) {
      events.append(SessionEvent.LOG, SessionEvent.NO_STATEMENT, SessionEvent.Mark.NONE,
          new JsonObject().put("lines", new JsonArray(List.copyOf(lines))).toBuffer());
    }
  }

  private void note(String message) {
    log.append(NOTE + message);
  }

  private void checkContext() {
    if (Thread.currentThread() != contextThread) {
      throw new IllegalStateException("batch " + id + " used off its context");
    }
  }

  @Override
  public String toString() {
    return "BatchSession[" + id + ", " + status.state() + "]";
  }
}
