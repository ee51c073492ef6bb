package io.sparkgate.gateway.launch;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Spark application on YARN, as its session or batch sees it: the spark-submit process that
 * submitted it plus the YARN application found by its tag. Its state is the ResourceManager's: it
 * is alive until YARN reports it FINISHED, FAILED or KILLED (and spark-submit has exited), and a
 * kill goes to YARN, so nothing is left running whether spark-submit is still there or not.
 *
 * <p>When spark-submit ends in error and YARN never heard of the application, the application
 * ended with spark-submit's exit code. Thread-safe; its listeners are called on arbitrary threads.
 */
final class YarnDriver implements DriverProcess {

  private static final Logger LOG = LoggerFactory.getLogger(YarnDriver.class);

  /** How long after spark-submit failed YARN may still report the application before we stop looking. */
  private static final long LATE_REPORT_MILLIS = 3000;
  /** How long after spark-submit succeeded the application must show up in YARN. */
  private static final long MISSING_MILLIS = 60_000;
  /** How long a spark-submit process may outlive its ended application before it is killed. */
  private static final Duration SUBMIT_GRACE = Duration.ofSeconds(5);
  private static final String NOTE = "[sparkgate] ";

  private final Vertx vertx;
  private final String label;
  private final String ownTag;
  private final DriverProcess submit;
  private final YarnApplications yarn;
  private final LogRing log;
  private final Path secretDir;
  private final Promise<Integer> exit = Promise.promise();
  private final List<Consumer<AppInfo>> listeners = new CopyOnWriteArrayList<>();

  private volatile AppInfo info;
  private volatile boolean killRequested;
  private volatile Integer submitCode;

  YarnDriver(Vertx vertx, String label, String tags, DriverProcess submit, YarnApplications yarn, LogRing log,
      boolean clusterMode, Path secretDir) {
    this.vertx = vertx;
    this.label = label;
    this.ownTag = YarnApplications.ownTag(tags);
    this.submit = submit;
    this.yarn = yarn;
    this.log = log;
    this.secretDir = secretDir;
    yarn.watch(ownTag, this::onReport);
    submit.exit().onComplete(ar -> onSubmitExit(ar.succeeded() ? ar.result() : -1));
  }

  private void onReport(AppInfo now) {
    AppInfo before = info;
    info = now;
    if (before == null) {
      LOG.info("{}: YARN application {} ({})", label, now.appId(), now.state());
      log.append(NOTE + "YARN application " + now.appId() + " submitted.");
      if (killRequested) {
        yarn.kill(now.appId());
      }
    }
    for (Consumer<AppInfo> l : listeners) {
      l.accept(now);
    }
    if (now.ended()) {
      log.append(NOTE + "YARN application " + now.appId() + " ended: " + now.state()
          + (now.finalStatus() == null ? "" : " (" + now.finalStatus() + ")") + ".");
      if (now.diagnostics() != null) {
        for (String line : now.diagnostics().split("\\R")) {
          log.append(NOTE + "YARN diagnostics: " + line);
        }
      }
      if (submit.isAlive()) {
        vertx.setTimer(SUBMIT_GRACE.toMillis(), t -> submit.kill(SUBMIT_GRACE));
      }
      submit.exit().onComplete(ar -> finish(now.succeeded() ? 0 : now.killed() ? 143 : 1));
    }
  }

  private void onSubmitExit(int code) {
    submitCode = code;
    SecretFile.delete(secretDir);
    if (info != null) {
      return; // YARN decides.
    }
    long wait = code == 0 && !killRequested ? MISSING_MILLIS : LATE_REPORT_MILLIS;
    vertx.setTimer(wait, t -> {
      if (info == null) {
        yarn.unwatch(ownTag);
        if (code == 0 && !killRequested) {
          log.append(NOTE + "spark-submit succeeded but YARN shows no application tagged " + ownTag + ".");
        }
        finish(code == 0 && !killRequested ? 1 : code);
      }
    });
  }

  private void finish(int code) {
    if (exit.tryComplete(code)) {
      LOG.info("{}: application ended with code {}", label, code);
    }
  }

  @Override
  public Future<Integer> exit() {
    return exit.future();
  }

  @Override
  public boolean isAlive() {
    return !exit.future().isComplete();
  }

  @Override
  public LogRing log() {
    return log;
  }

  @Override
  public Future<Void> kill(Duration grace) {
    killRequested = true;
    AppInfo now = info;
    if (now != null && !now.ended()) {
      yarn.kill(now.appId());
    }
    if (submit.isAlive()) {
      submit.kill(grace);
    }
    return exit.future().mapEmpty();
  }

  @Override
  public String describe() {
    AppInfo now = info;
    return now != null ? now.appId() : "YARN application tagged " + ownTag + ", " + submit.describe();
  }

  @Override
  public void onInfo(Consumer<AppInfo> listener) {
    listeners.add(listener);
    AppInfo now = info;
    if (now != null) {
      listener.accept(now);
    }
  }
}
