package io.sparkgate.agent;

import io.sparkgate.agent.interp.Interpreter;
import io.sparkgate.agent.interp.InterpreterRegistry;
import io.sparkgate.agent.interp.PythonInterpreter;
import io.sparkgate.agent.interp.RInterpreter;
import io.sparkgate.agent.interp.ScalaInterpreter;
import io.sparkgate.agent.interp.SqlInterpreter;
import io.sparkgate.proto.Command;
import io.sparkgate.proto.Event;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The main class of every interactive Spark application that Sparkgate launches with spark-submit.
 *
 * <p>Start-up is arranged for speed: the agent dials the gateway first, then builds the SparkSession
 * while the session's own interpreter warms up on another thread (the Scala compiler takes seconds,
 * which then overlap SparkContext start-up), binds them, and reports {@link Event.Ready}. Statements
 * that arrive meanwhile wait, in order, and run once the session is ready.
 *
 * <p>It exits when the gateway sends {@link Command.Shutdown} (the session was deleted), when the
 * gateway refuses it, and when it has been without the gateway longer than
 * {@code spark.sparkgate.agent.idleExitSeconds}. Exit codes: 0 after a shutdown, 1 when the session
 * could not start, 2 for a bad launch configuration, 3 when the gateway was lost or refused it.
 */
public final class AgentMain implements GatewayLink.Listener {
  private static final Logger log = LoggerFactory.getLogger(AgentMain.class);
  private static final int MAX_EARLY_COMMANDS = 10_000;
  private static final long DRAIN_MILLIS = 5_000;

  private final AgentConfig config;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private volatile int exitCode;
  private GatewayLink link;
  /** Commands that arrived before the runner existed; guarded by this. */
  private final ArrayDeque<Command> early = new ArrayDeque<>();
  private StatementRunner runner; // guarded by this

  private AgentMain(AgentConfig config) {
    this.config = config;
  }

  public static void main(String[] args) {
    AgentConfig config;
    try {
      config = AgentConfig.from(new SparkConf(), System.getenv());
    } catch (IllegalArgumentException e) {
      System.err.println("sparkgate agent: cannot start: " + e.getMessage());
      System.exit(2);
      return;
    }
    int code = new AgentMain(config).run();
    SparkConf conf = new SparkConf();
    if ("yarn".equals(conf.get("spark.master", "")) && "cluster".equals(conf.get("spark.submit.deployMode", ""))) {
      // In YARN's application master: it reports the final status from how main ends (an exit here
      // would be a FAILED application and another attempt), then exits the JVM itself.
      if (code != 0) {
        throw new IllegalStateException("the sparkgate agent ended with code " + code);
      }
      return;
    }
    // Spark and the interpreters may leave non-daemon threads behind.
    System.exit(code);
  }

  private int run() {
    link = new GatewayLink(config.gatewayHost(), config.gatewayPort(), config.sessionId(), config.secret(),
        config.maxFrameLength(), 100_000, 4L * config.maxFrameLength(), config.idleExitMillis(), this);
    link.start();
    SparkSession spark = null;
    InterpreterRegistry interpreters = new InterpreterRegistry();
    StatementRunner started = null;
    try {
      SparkConf conf = new SparkConf();
      Path classDir = ScalaInterpreter.prepareClassOutputDir(conf);
      String kind = config.kind();

      // The session's own interpreter warms up while Spark starts.
      ScalaInterpreter scala = kind.equals(ScalaInterpreter.KIND) ? new ScalaInterpreter(classDir) : null;
      CompletableFuture<Void> warm = scala == null
          ? CompletableFuture.completedFuture(null)
          : CompletableFuture.runAsync(() -> startUnchecked(scala), r -> daemon("sparkgate-repl-start", r).start());

      spark = SparkSession.builder().config(conf).getOrCreate();
      warm.join();
      SparkSession session = spark;
      if (scala != null) {
        scala.bind(session);
        interpreters.registerStarted(scala);
      } else {
        interpreters.register(ScalaInterpreter.KIND, () -> new ScalaInterpreter(classDir, session));
      }
      SqlInterpreter sql = new SqlInterpreter(session, config.sqlMaxRows(), config.maxOutputBytes());
      if (kind.equals(SqlInterpreter.KIND)) {
        sql.start();
        interpreters.registerStarted(sql);
      } else {
        interpreters.register(SqlInterpreter.KIND, () -> sql);
      }

      if (kind.equals(PythonInterpreter.KIND)) {
        PythonInterpreter python = new PythonInterpreter(session, config.maxOutputBytes());
        python.start();
        interpreters.registerStarted(python);
      } else {
        interpreters.register(PythonInterpreter.KIND, () -> new PythonInterpreter(session, config.maxOutputBytes()));
      }

      // R starts on its first statement, also in a sparkr session: a distribution without SparkR
      // then fails R statements with a clear message instead of failing the whole session.
      interpreters.register(RInterpreter.KIND, () -> new RInterpreter(session, config.maxOutputBytes()));

      StatementRunner.Settings settings = StatementRunner.Settings.defaults()
          .withOutputLimitBytes(config.maxOutputBytes())
          .withCancelGrace(config.cancelGrace());
      started = new StatementRunner(spark.sparkContext(), interpreters, link::send, settings, this::unstoppable);
      started.start();
      synchronized (this) {
        runner = started;
        while (!early.isEmpty()) {
          dispatch(early.poll());
        }
      }
      String ui = spark.sparkContext().uiWebUrl().isDefined() ? spark.sparkContext().uiWebUrl().get() : "";
      link.send(new Event.Ready(spark.sparkContext().applicationId(), ui));
      log.info("Session {} ready: kind {}, application {}", config.sessionId(),
          kind.isEmpty() ? "shared" : kind, spark.sparkContext().applicationId());
      stopped.await();
      return exitCode;
    } catch (Throwable t) {
      Throwable cause = t instanceof java.util.concurrent.CompletionException && t.getCause() != null ? t.getCause() : t;
      log.error("Session {} could not start", config.sessionId(), cause);
      link.send(new Event.StartFailed(cause.getClass().getName() + ": " + cause.getMessage()));
      drainQuietly();
      return 1;
    } finally {
      if (started != null) {
        started.close();
      }
      interpreters.close();
      drainQuietly();
      link.close();
      if (spark != null) {
        spark.stop();
      }
    }
  }

  private static void startUnchecked(Interpreter interpreter) {
    try {
      interpreter.start();
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      throw new IllegalStateException("the " + interpreter.kind() + " interpreter did not start: " + e.getMessage(), e);
    }
  }

  private void drainQuietly() {
    try {
      link.drain(DRAIN_MILLIS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static Thread daemon(String name, Runnable r) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  // GatewayLink.Listener: called on the link's I/O thread, so nothing here blocks.

  @Override
  public void command(Command command) {
    if (command instanceof Command.Shutdown shutdown) {
      log.info("Session {}: shutting down ({})", config.sessionId(), shutdown.reason());
      stop(0);
      return;
    }
    synchronized (this) {
      if (runner == null) {
        if (early.size() >= MAX_EARLY_COMMANDS) {
          log.error("Session {}: more than {} commands before start-up finished; stopping",
              config.sessionId(), MAX_EARLY_COMMANDS);
          stop(1);
          return;
        }
        early.add(command);
        return;
      }
      dispatch(command);
    }
  }

  private void dispatch(Command command) {
    runner.handle(command);
  }

  /**
   * A cancelled statement could not be ended: its thread would hold every later statement. Its
   * CANCELLED result has been sent; the driver exits (the gateway sees the driver end, and the
   * session's log has this line).
   */
  private void unstoppable(String reason) {
    log.error("Session {}: {}", config.sessionId(), reason);
    stop(EXIT_UNSTOPPABLE_STATEMENT);
  }

  @Override
  public void refused(String reason) {
    log.error("Session {}: the gateway refused this agent: {}", config.sessionId(), reason);
    stop(3);
  }

  @Override
  public void gatewayLost(long millisWithoutGateway) {
    log.error("Session {}: no gateway for {} s; exiting", config.sessionId(),
        TimeUnit.MILLISECONDS.toSeconds(millisWithoutGateway));
    stop(3);
  }

  /** Exit code of a driver that gave up on a statement it could not stop. */
  static final int EXIT_UNSTOPPABLE_STATEMENT = 4;

  private void stop(int code) {
    exitCode = code;
    stopped.countDown();
  }
}
