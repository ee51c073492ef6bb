package io.sparkgate.agent.interp;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.apache.spark.SparkConf;
import org.apache.spark.SparkContext;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code sparkr} kind: R statements run by a child R process attached to this driver JVM
 * through SparkR's backend, as the sparkR shell attaches to an existing backend, with
 * {@code spark}, {@code sc} and {@code sqlContext} wrapping the driver's own SparkSession and
 * SparkContext ({@code sparkR.session()} returns that session too, so temporary views are shared
 * with the other kinds). The child is {@code Rscript --vanilla} (or {@code spark.r.driver.command},
 * else {@code spark.r.command}) running the resource {@value #SCRIPT_RESOURCE}, copied to a private
 * temporary folder; {@link RProcess} is one such child, {@link RSparkBackend} the backend.
 *
 * <p>SparkR comes with a Spark distribution ({@code $SPARK_HOME/R/lib/SparkR}); when it is missing,
 * {@link #start()} fails with an {@link InterpreterUnavailableException} that says which path it
 * looked at, and the session reports that on every R statement. R itself must be installed
 * ({@code scripts/provision-r}).
 *
 * <h2>Results, in Livy's shapes</h2>
 * <ul>
 *   <li>Success: {@code text/plain} is everything the statement wrote to the process's stdout and
 *       stderr ({@code print}, {@code cat}, {@code message}, warnings, programs run by
 *       {@code system()}), in the order it arrived, including the values of top-level expressions
 *       as the R console auto-prints them ({@code 1 + 1} gives {@code [1] 2}), with trailing
 *       whitespace removed. Output past the constructor's cap is dropped and the text ends with
 *       {@code \n[output truncated: N bytes over the L-byte limit]}.
 *   <li>Error (including a parse error): {@code ename} {@code Error}, {@code evalue} the condition's
 *       message ({@code stop("boom")} gives {@code boom}), {@code traceback} the user's calls as
 *       {@code traceback()} numbers them, innermost first (empty for an error at top level).
 *   <li>The process died during the statement ({@code quit()}, a crash): {@code Error} /
 *       {@code Interpreter died:\n...} with its exit code and last stderr lines; the next statement
 *       starts a new process (R state is lost, the session is not).
 * </ul>
 *
 * <h2>Spark jobs and cancel</h2>
 * The job group, description, tags and scheduler pool set on the calling thread are set on the
 * backend thread that runs the R process's JVM calls, so that its jobs count as the statement's and
 * are cancelled with it. An interrupt of the calling thread cancels that job group and, when the
 * statement still runs (after {@value #SPARKR_INTERRUPT_DELAY_MILLIS} ms with SparkR, so that a
 * cancelled job can end its JVM call cleanly), sends the process SIGINT, again every second until
 * the statement ends; the R REPL turns it into an interrupt of user code only, and reconnects to
 * the backend afterwards in case it cut a JVM call short. {@link #forceStop} kills the process.
 *
 * <p>Completion uses R's own completer ({@code utils}'s {@code rc} functions) and answers only
 * between statements (R runs one thing at a time): while a statement runs it answers nothing.
 */
public final class RInterpreter implements Interpreter {
  public static final String KIND = "sparkr";
  static final String SCRIPT_RESOURCE = "/io/sparkgate/agent/r/sparkgate_repl.R";
  static final Duration START_TIMEOUT = Duration.ofMinutes(2);
  static final long COMPLETION_WAIT_MILLIS = 2_000;
  static final long INTERRUPT_REPEAT_MILLIS = 1_000;
  static final long SPARKR_INTERRUPT_DELAY_MILLIS = 1_000;
  static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(2);
  /** Spark local properties of the calling thread that a statement's JVM calls take over. */
  static final List<String> STATEMENT_PROPERTIES = List.of(
      "spark.jobGroup.id", "spark.job.description", "spark.job.interruptOnCancel", "spark.job.tags", "spark.scheduler.pool");

  private static final Logger log = LoggerFactory.getLogger(RInterpreter.class);

  /** The driver's session, asked for only once SparkR is known to be there; null for a plain R REPL. */
  private final Supplier<SparkSession> session;
  private final SparkConf conf;
  private final int outputLimitBytes;
  private final Map<String, String> environment;
  private final AtomicLong statementIds = new AtomicLong();

  /** Held while a process starts; only {@link #start()} and statements start processes. */
  private final Object startLock = new Object();
  private RLaunch launch; // guarded by startLock
  private Path scriptDir; // guarded by startLock
  private RSparkBackend backend; // guarded by startLock
  private String sessionToken; // guarded by startLock
  private RLaunch.SparkRAttachment attachment; // guarded by startLock

  private final Object lock = new Object();
  private RProcess process; // guarded by lock
  private Thread executingThread; // guarded by lock
  private boolean closed; // guarded by lock
  private RProcess reportedDead; // guarded by lock: the dead process whose death a statement was told of

  /** An interpreter for {@code spark} whose statements' output is capped at {@link CapturedOutput#DEFAULT_LIMIT_BYTES}. */
  public RInterpreter(SparkSession spark) {
    this(spark, CapturedOutput.DEFAULT_LIMIT_BYTES);
  }

  /** @param outputLimitBytes cap on one statement's text output, in UTF-8 bytes */
  public RInterpreter(SparkSession spark, int outputLimitBytes) {
    this(sessionOf(spark), spark.sparkContext().getConf(), outputLimitBytes, System.getenv());
  }

  /**
   * @param session the driver's session, asked for in {@link #start()} once SparkR was found; null
   *     for a plain R REPL
   * @param conf where the R command and {@code spark.home} are read from
   * @param environment the environment the R process inherits and {@code SPARK_HOME} is read from
   */
  RInterpreter(Supplier<SparkSession> session, SparkConf conf, int outputLimitBytes, Map<String, String> environment) {
    if (outputLimitBytes <= 0) {
      throw new IllegalArgumentException("outputLimitBytes must be positive: " + outputLimitBytes);
    }
    this.session = session;
    this.conf = Objects.requireNonNull(conf, "conf");
    this.outputLimitBytes = outputLimitBytes;
    this.environment = Map.copyOf(environment);
  }

  /**
   * A plain R REPL, without SparkR and without Spark: <b>for tests of the REPL itself only</b> (its
   * statements, output, errors, interrupts and restarts), which must run where no Spark distribution
   * with SparkR is installed. A session never gets one: the {@code sparkr} kind always attaches
   * SparkR or fails to start.
   */
  static RInterpreter plainReplForTests(int outputLimitBytes, Map<String, String> environment) {
    return new RInterpreter(null, new SparkConf(false), outputLimitBytes, environment);
  }

  private static Supplier<SparkSession> sessionOf(SparkSession spark) {
    Objects.requireNonNull(spark, "spark");
    return () -> spark;
  }

  @Override
  public String kind() {
    return KIND;
  }

  /**
   * Finds SparkR, starts its backend in this JVM, then starts the R process and waits until SparkR
   * is attached in it (a few seconds).
   *
   * @throws InterpreterUnavailableException SparkR is not there; the message says what is missing
   *     and where it was looked for
   * @throws IOException R could not be run, or SparkR could not attach; the message says why
   */
  @Override
  public void start() throws Exception {
    synchronized (startLock) {
      if (launch != null) {
        throw new IllegalStateException("already started");
      }
      RLaunch resolved = RLaunch.resolve(conf, environment);
      Path library = session != null ? resolved.sparkRLibrary() : null;
      launch = resolved;
      scriptDir = Files.createTempDirectory("sparkgate-r-");
      ChildProcesses.copyScript(SCRIPT_RESOURCE, script());
      if (session != null) {
        SparkSession spark = Objects.requireNonNull(session.get(), "the driver's SparkSession");
        sessionToken = RSparkEntries.register(spark);
        backend = RSparkBackend.start();
        attachment = new RLaunch.SparkRAttachment(library, backend.port(), backend.secret(), sessionToken);
      }
      RProcess started = ensureProcess();
      log.info("R interpreter ready: {} (process {}){}", launch.rCommand(), started.pid(),
          attachment == null ? ", without SparkR (a plain R REPL for tests)" : ", SparkR from " + attachment.library());
    }
  }

  @Override
  public ExecuteResult execute(String code, OutputSink sink) {
    Objects.requireNonNull(code, "code");
    Objects.requireNonNull(sink, "sink");
    if (code.indexOf('\0') >= 0) {
      return ExecuteResult.failure("Error", "the code contains a NUL character, which R cannot read", List.of());
    }
    ExecuteResult diedWhileIdle = unreportedDeath();
    if (diedWhileIdle != null) {
      return diedWhileIdle;
    }
    RProcess r;
    try {
      r = ensureProcess();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return ExecuteResult.failure("Error", "interrupted while the R process was starting", List.of());
    } catch (IOException | RuntimeException e) {
      log.error("cannot start the R process", e);
      return ExecuteResult.failure("Error", "Interpreter died:\n" + e.getMessage(), List.of());
    }
    Map<String, String> properties = statementProperties();
    CapturedOutput output = new CapturedOutput(outputLimitBytes);
    synchronized (lock) {
      executingThread = Thread.currentThread();
    }
    try {
      RProcess.Statement statement = r.execute(statementIds.incrementAndGet(), code, properties, (stream, text) -> {
        output.write(stream, text);
        sink.write(stream, text);
      });
      return result(await(r, statement, properties.get("spark.jobGroup.id")), output);
    } catch (RProcess.DiedException e) {
      synchronized (lock) {
        reportedDead = r;
      }
      return ChildProcesses.died("R", r.pid(), e.getMessage(), false);
    } finally {
      synchronized (lock) {
        executingThread = null;
      }
    }
  }

  /**
   * Waits for the statement's result. On interrupt: cancels the statement's jobs, sends SIGINT
   * (after a delay with SparkR) and again every second until the result comes, and keeps the
   * thread's interrupt status.
   */
  private List<String> await(RProcess r, RProcess.Statement statement, String jobGroup) throws RProcess.DiedException {
    boolean interrupted = false;
    long signalDue = 0;
    try {
      while (true) {
        try {
          if (!interrupted) {
            return statement.result.get();
          }
          long wait = signalDue - System.nanoTime();
          if (wait <= 0) {
            r.interrupt();
            signalDue = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(INTERRUPT_REPEAT_MILLIS);
            continue;
          }
          return statement.result.get(wait, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
          if (!interrupted) {
            interrupted = true;
            long delay = attachment != null ? SPARKR_INTERRUPT_DELAY_MILLIS : 0;
            signalDue = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(delay);
            if (jobGroup != null && session != null) {
              session.get().sparkContext().cancelJobGroup(jobGroup, "the statement was interrupted");
            }
          }
        } catch (TimeoutException e) {
          // the next SIGINT is due: the code caught the interrupt, or is in C code that checks late
        } catch (ExecutionException e) {
          if (e.getCause() instanceof RProcess.DiedException died) {
            throw died;
          }
          throw new IllegalStateException("unexpected failure of an R statement", e.getCause());
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** The REPL's result fields as Livy's statement output. */
  private static ExecuteResult result(List<String> fields, CapturedOutput output) {
    String status = fields.isEmpty() ? "" : fields.get(0);
    switch (status) {
      case "ok" -> {
        boolean truncated = output.truncated();
        return ExecuteResult.text(truncated ? output.text() : output.text().stripTrailing(), truncated);
      }
      case "error" -> {
        String ename = fields.size() > 1 ? fields.get(1) : "Error";
        String evalue = fields.size() > 2 ? fields.get(2) : "";
        return ExecuteResult.failure(ename, evalue, fields.size() > 3 ? fields.subList(3, fields.size()) : List.of());
      }
      case "interrupted" -> {
        return ExecuteResult.failure("Error", "the statement was interrupted", List.of());
      }
      default -> {
        return ExecuteResult.failure("Error", "the R REPL answered '" + status + "'", List.of());
      }
    }
  }

  /**
   * Candidates from R's completer for the token before the caret on the caret's line, each the whole
   * token as completed ({@code Sys.ti} gives {@code Sys.time}, {@code Sys.timezone}); empty while a
   * statement runs or when R does not answer within {@value #COMPLETION_WAIT_MILLIS} ms.
   */
  @Override
  public List<String> complete(String code, int cursor) {
    RProcess r;
    synchronized (lock) {
      r = process;
    }
    if (r == null || !r.isAlive() || r.busy()) {
      return List.of();
    }
    int caret = Math.max(0, Math.min(cursor, code.length()));
    int lineStart = caret == 0 ? 0 : code.lastIndexOf('\n', caret - 1) + 1;
    int lineEnd = code.indexOf('\n', caret);
    String line = code.substring(lineStart, lineEnd < 0 ? code.length() : lineEnd);
    return ChildProcesses.awaitCompletions(r.complete(line, line.codePointCount(0, caret - lineStart)), COMPLETION_WAIT_MILLIS, "R");
  }

  /**
   * Kills the R process if {@code statementThread} is waiting for it: R code that ignores SIGINT
   * (C code that never checks, a handler that swallows interrupts) cannot be stopped otherwise. The
   * statement ends as "Interpreter died" and the next one starts a new process.
   */
  @Override
  public boolean forceStop(Thread statementThread) {
    synchronized (lock) {
      if (executingThread != statementThread || process == null) {
        return false;
      }
      log.warn("killing R process {}: its statement ignored the interrupt", process.pid());
      process.kill("the statement ignored its cancel, so the R process was killed;"
          + " the next statement starts a new one");
      return true;
    }
  }

  /**
   * If the process died since the last statement (killed from outside, out of memory) and no
   * statement was told, the error that tells this one; null otherwise.
   */
  private ExecuteResult unreportedDeath() {
    RProcess dead;
    synchronized (lock) {
      dead = process;
      if (dead == null || dead.isAlive() || dead == reportedDead) {
        return null;
      }
      reportedDead = dead;
    }
    return ChildProcesses.died("R", dead.pid(), dead.deathReport(), true);
  }

  /** Stops the R process and the SparkR backend. */
  @Override
  public void close() {
    RProcess r;
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      r = process;
      process = null;
    }
    if (r != null) {
      r.shutdown(SHUTDOWN_GRACE);
    }
    synchronized (startLock) {
      if (backend != null) {
        backend.close();
      }
      RSparkEntries.unregister(sessionToken);
      if (scriptDir != null) {
        ChildProcesses.deleteScript(script(), scriptDir);
      }
    }
  }

  /** The running process, starting one if there is none or the last one died. */
  private RProcess ensureProcess() throws IOException, InterruptedException {
    synchronized (startLock) {
      RProcess previous;
      synchronized (lock) {
        if (closed) {
          throw new IllegalStateException("the R interpreter is closed");
        }
        previous = process;
      }
      if (previous != null && previous.isAlive()) {
        return previous;
      }
      if (launch == null) {
        throw new IllegalStateException("the R interpreter is not started");
      }
      if (previous != null) {
        log.info("starting a new R process: process {} died", previous.pid());
        if (backend != null) {
          backend.releaseObjects(); // the JVM objects the dead process held
        }
      }
      RProcess started = RProcess.start(launch, script(), attachment, outputLimitBytes, START_TIMEOUT);
      synchronized (lock) {
        if (!closed) {
          process = started;
          return started;
        }
      }
      started.kill("the R interpreter was closed");
      throw new IllegalStateException("the R interpreter is closed");
    }
  }

  private Path script() {
    return scriptDir.resolve("sparkgate_repl.R");
  }

  /** The calling thread's job group and co, for the backend thread that runs the R process's calls. */
  private Map<String, String> statementProperties() {
    Map<String, String> properties = new LinkedHashMap<>();
    if (session == null) {
      return properties;
    }
    SparkContext sc = session.get().sparkContext();
    for (String key : STATEMENT_PROPERTIES) {
      properties.put(key, sc.getLocalProperty(key));
    }
    return properties;
  }

  /** For tests: the running process's id, or -1. */
  long pid() {
    synchronized (lock) {
      return process == null ? -1 : process.pid();
    }
  }
}
