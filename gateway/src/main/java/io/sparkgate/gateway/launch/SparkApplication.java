package io.sparkgate.gateway.launch;

import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.time.Duration;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The application supervisor: starts, watches and stops one Spark application through a
 * {@link DriverLauncher}, for an interactive session or a batch alike. It knows nothing of agents or
 * statements; its owner hears of the launch, a failed launch and the application's end through a
 * {@link Listener}, on the owner's context.
 *
 * <p><b>Threading.</b> Context only: every method must be called on the owner's event-loop context,
 * and every listener call arrives there. The launcher's work (process creation, kills) runs on
 * worker threads.
 *
 * <p>A stop asked while the launch is still under way is remembered: the application is killed as
 * soon as it exists, so nothing started for a deleted or timed-out owner keeps running.
 */
public final class SparkApplication {

  private static final Logger LOG = LoggerFactory.getLogger(SparkApplication.class);

  /** What the owner hears, always on its context. */
  public interface Listener {
    /** The application runs; {@code process} is what the launcher started. */
    void launched(DriverProcess process);

    /** The application could not be started; {@link #terminated()} is complete. */
    void launchFailed(Throwable cause);

    /**
     * The application ended (its remaining output is in the log); {@link #terminated()} is complete.
     *
     * @param code its exit code, -1 when unknown
     * @param killedByGateway whether the gateway had asked it to stop
     */
    void exited(int code, boolean killedByGateway);

    /** The cluster manager reports something new about the application (YARN only). */
    default void infoChanged(AppInfo info) {}
  }

  private final String label;
  private final Context context;
  private final DriverLauncher launcher;
  private final Listener listener;
  private final Promise<Void> terminated = Promise.promise();

  private DriverProcess process;
  private boolean launching;
  private boolean killedByGateway;
  private Duration killOnLaunch;

  /**
   * @param label who the application belongs to, for messages ("Session 3", "Batch 7")
   * @param context the owner's context; the listener is called there
   */
  public SparkApplication(String label, Context context, DriverLauncher launcher, Listener listener) {
    this.label = Objects.requireNonNull(label, "label");
    this.context = Objects.requireNonNull(context, "context");
    this.launcher = Objects.requireNonNull(launcher, "launcher");
    this.listener = Objects.requireNonNull(listener, "listener");
  }

  /** Launches the application described by {@code spec}. Once only. */
  public void launch(LaunchSpec spec) {
    if (launching || process != null || terminated.future().isComplete()) {
      throw new IllegalStateException(label + ": the application was already launched");
    }
    launching = true;
    launcher.launch(spec).onComplete(ar -> context.runOnContext(v -> {
      launching = false;
      if (ar.succeeded()) {
        onLaunched(ar.result());
      } else {
        terminated.tryComplete();
        listener.launchFailed(ar.cause());
      }
    }));
  }

  private void onLaunched(DriverProcess p) {
    process = p;
    LOG.info("{}: application started ({})", label, p.describe());
    p.onInfo(info -> context.runOnContext(v -> info(info)));
    p.exit().onComplete(ar -> context.runOnContext(v -> {
      terminated.tryComplete();
      listener.exited(ar.succeeded() ? ar.result() : -1, killedByGateway);
    }));
    listener.launched(p);
    if (killOnLaunch != null) {
      kill(killOnLaunch);
    }
  }

  private void info(AppInfo info) {
    if (!terminated.future().isComplete()) {
      listener.infoChanged(info);
    }
  }

  /**
   * Ends the application: politely, then forcibly once {@code grace} has passed. During the launch
   * the kill waits for the application to exist. Idempotent; nothing to do once it ended.
   */
  public void kill(Duration grace) {
    if (process != null) {
      if (process.isAlive()) {
        killedByGateway = true;
        process.kill(grace);
      }
    } else if (launching) {
      killOnLaunch = grace;
    }
  }

  /** Whether the application was started and still runs. */
  public boolean isRunning() {
    return process != null && process.isAlive();
  }

  /** Whether the launch is under way. */
  public boolean isLaunching() {
    return launching;
  }

  /** Whether there is nothing to wait for: never launched, or launched and ended. */
  public boolean isIdle() {
    return !launching && (process == null || terminated.future().isComplete());
  }

  /** The started application, or null before the launch completed. */
  public DriverProcess process() {
    return process;
  }

  /** Whether the gateway asked the application to stop. */
  public boolean killedByGateway() {
    return killedByGateway;
  }

  /** Completes once the application ended or could not be started. */
  public Future<Void> terminated() {
    return terminated.future();
  }
}
