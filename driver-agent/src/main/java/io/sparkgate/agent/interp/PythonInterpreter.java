package io.sparkgate.agent.interp;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.SparkContext;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@code pyspark} kind: Python statements run by a child Python process attached to this driver
 * JVM through py4j, as the pyspark shell attaches to an existing gateway, with {@code spark},
 * {@code sc} and {@code sqlContext} wrapping the driver's own SparkSession and SparkContext. The
 * child runs the resource {@value #SCRIPT_RESOURCE}, copied to a private temporary folder;
 * {@link PythonLaunch} says which Python runs it and with which {@code PYTHONPATH};
 * {@link PythonProcess} is one such child.
 *
 * <h2>Results, in Livy's shapes</h2>
 * <ul>
 *   <li>Success: {@code text/plain} is everything the statement printed to {@code sys.stdout} and
 *       {@code sys.stderr}, in order, including the value of a last expression as Python's
 *       interactive mode prints it ({@code 1 + 1} gives {@code 2}), with trailing whitespace
 *       removed. Output past the constructor's cap is dropped and the text ends with
 *       {@code \n[output truncated: N bytes over the L-byte limit]}.
 *   <li>Livy's magics on a line of their own: {@code %json x} gives {@code application/json},
 *       {@code %table x} gives {@code application/vnd.livy.table.v1+json}, {@code %matplot plt} (or
 *       a figure) gives {@code image/png} in base64; {@code text/plain} then only if something was
 *       printed. Livy takes a variable name; an expression works too.
 *   <li>Exception: {@code ename} the exception class, {@code evalue} its message, {@code traceback}
 *       Python's lines without the REPL's frames and the statement's top-level frame (as Livy);
 *       syntax errors as Python 3 reports them.
 *   <li>The process died during the statement: {@code Error} / {@code Interpreter died:\n...} with
 *       its exit code and last stderr lines; the next statement starts a new process (statement
 *       state is lost, the session is not).
 * </ul>
 *
 * <h2>Spark jobs and cancel</h2>
 * The job group and description set on the calling thread (the runner's {@code sparkgate-<id>}),
 * job tags and scheduler pool are given to the JVM thread that serves the statement's Python
 * thread, so that its jobs count as the statement's and are cancelled with it. An interrupt of the
 * calling thread cancels that job group and raises KeyboardInterrupt in the statement (again every
 * second while it runs); {@link #forceStop} kills the process.
 *
 * <p>Completion answers while a statement runs (from another thread in the process), waiting at most
 * {@value #COMPLETION_WAIT_MILLIS} ms.
 */
public final class PythonInterpreter implements Interpreter {
  public static final String KIND = "pyspark";
  static final long COMPLETION_WAIT_MILLIS = 2_000;
  static final Duration START_TIMEOUT = Duration.ofMinutes(2);
  static final long INTERRUPT_REPEAT_MILLIS = 1_000;
  static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(2);
  static final String SCRIPT_RESOURCE = "/io/sparkgate/agent/python/sparkgate_repl.py";
  /** Spark local properties of the calling thread that a statement's Python side takes over. */
  static final List<String> STATEMENT_PROPERTIES = List.of(
      "spark.jobGroup.id", "spark.job.description", "spark.job.interruptOnCancel", "spark.job.tags", "spark.scheduler.pool");

  private static final Logger log = LoggerFactory.getLogger(PythonInterpreter.class);

  private final SparkSession spark;
  private final int outputLimitBytes;
  private final Map<String, String> environment;
  private final AtomicLong statementIds = new AtomicLong();

  /** Held while a process starts; only {@link #start()} and statements start processes. */
  private final Object startLock = new Object();
  private PythonLaunch launch; // guarded by startLock
  private Path scriptDir; // guarded by startLock
  private PythonEntryPoint entryPoint; // guarded by startLock

  private final Object lock = new Object();
  private PythonProcess process; // guarded by lock
  private Thread executingThread; // guarded by lock
  private boolean closed; // guarded by lock
  private PythonProcess reportedDead; // guarded by lock: the dead process whose death a statement was told of

  /** An interpreter for {@code spark} whose statements' output is capped at {@link CapturedOutput#DEFAULT_LIMIT_BYTES}. */
  public PythonInterpreter(SparkSession spark) {
    this(spark, CapturedOutput.DEFAULT_LIMIT_BYTES);
  }

  /**
   * @param outputLimitBytes cap on one statement's text output, in UTF-8 bytes, and on its other
   *     results (a {@code %json} value larger than that is an error)
   */
  public PythonInterpreter(SparkSession spark, int outputLimitBytes) {
    this(spark, outputLimitBytes, System.getenv());
  }

  /** @param environment the environment the Python process inherits and its Python is resolved from */
  PythonInterpreter(SparkSession spark, int outputLimitBytes, Map<String, String> environment) {
    this.spark = Objects.requireNonNull(spark, "spark");
    if (outputLimitBytes <= 0) {
      throw new IllegalArgumentException("outputLimitBytes must be positive: " + outputLimitBytes);
    }
    this.outputLimitBytes = outputLimitBytes;
    this.environment = Map.copyOf(environment);
  }

  @Override
  public String kind() {
    return KIND;
  }

  /** Starts the Python process and waits until pyspark is attached in it (a few seconds). */
  @Override
  public void start() throws Exception {
    synchronized (startLock) {
      if (launch != null) {
        throw new IllegalStateException("already started");
      }
      launch = PythonLaunch.resolve(spark.sparkContext().getConf(), environment);
      scriptDir = Files.createTempDirectory("sparkgate-python-");
      ChildProcesses.copyScript(SCRIPT_RESOURCE, script());
      entryPoint = new PythonEntryPoint(spark);
      PythonProcess started = ensureProcess();
      log.info("Python interpreter ready: {} (process {}), workers run {}", launch.driverPython(), started.pid(), launch.workerPython());
    }
  }

  @Override
  public ExecuteResult execute(String code, OutputSink sink) {
    Objects.requireNonNull(code, "code");
    Objects.requireNonNull(sink, "sink");
    ExecuteResult diedWhileIdle = unreportedDeath();
    if (diedWhileIdle != null) {
      return diedWhileIdle;
    }
    PythonProcess python;
    try {
      python = ensureProcess();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return ExecuteResult.failure("KeyboardInterrupt", "interrupted while the Python process was starting", List.of());
    } catch (IllegalStateException e) {
      return ExecuteResult.failure("InterpreterError", e.getMessage(), List.of());
    } catch (IOException | RuntimeException e) {
      log.error("cannot start the Python process", e);
      return ExecuteResult.failure("Error", "Interpreter died:\ncannot start the Python process: " + e.getMessage(), List.of());
    }
    Map<String, String> properties = statementProperties();
    CapturedOutput output = new CapturedOutput(outputLimitBytes);
    synchronized (lock) {
      executingThread = Thread.currentThread();
    }
    try {
      PythonProcess.Statement statement = python.execute(statementIds.incrementAndGet(), code, properties, (stream, text) -> {
        output.write(stream, text);
        sink.write(stream, text);
      });
      return result(await(python, statement, properties.get("spark.jobGroup.id")), output);
    } catch (PythonProcess.DiedException e) {
      synchronized (lock) {
        reportedDead = python;
      }
      return ChildProcesses.died("Python", python.pid(), e.getMessage(), false);
    } finally {
      synchronized (lock) {
        executingThread = null;
      }
    }
  }

  /**
   * Waits for the statement's result. On interrupt: cancels the statement's jobs, asks Python for a
   * KeyboardInterrupt, asks again every second until the result comes, and keeps the thread's
   * interrupt status.
   */
  private JsonNode await(PythonProcess python, PythonProcess.Statement statement, String jobGroup) throws PythonProcess.DiedException {
    boolean interrupted = false;
    try {
      while (true) {
        try {
          return interrupted
              ? statement.result().get(INTERRUPT_REPEAT_MILLIS, TimeUnit.MILLISECONDS)
              : statement.result().get();
        } catch (InterruptedException e) {
          if (!interrupted) {
            interrupted = true;
            if (jobGroup != null) {
              spark.sparkContext().cancelJobGroup(jobGroup, "the statement was interrupted");
            }
          }
          python.interrupt(statement.id());
        } catch (TimeoutException e) {
          python.interrupt(statement.id()); // the code caught KeyboardInterrupt, or had not reached Python code
        } catch (ExecutionException e) {
          if (e.getCause() instanceof PythonProcess.DiedException died) {
            throw died;
          }
          throw new IllegalStateException("unexpected failure of a Python statement", e.getCause());
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /** The REPL's result message as Livy's statement output. */
  private static ExecuteResult result(JsonNode reply, CapturedOutput output) {
    if ("error".equals(reply.path("status").asText())) {
      List<String> traceback = new ArrayList<>();
      reply.path("traceback").forEach(line -> traceback.add(line.asText()));
      return ExecuteResult.failure(reply.path("ename").asText("Error"), reply.path("evalue").asText(""), traceback);
    }
    Map<String, Object> data = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> entry : reply.path("data").properties()) {
      JsonNode value = entry.getValue();
      boolean json = entry.getKey().endsWith("json");
      data.put(entry.getKey(), value.isTextual() && !json ? value.asText() : value);
    }
    boolean truncated = output.truncated();
    String text = truncated ? output.text() : stripTrailingPythonWhitespace(output.text());
    // As Livy: the text is left out only when it is empty and there is another representation.
    if (!text.isEmpty() || data.isEmpty()) {
      data.put(ExecuteResult.TEXT_PLAIN, text);
    }
    return new ExecuteResult.Ok(data, truncated);
  }

  /** Python's {@code str.rstrip()}: Livy strips the output so. */
  static String stripTrailingPythonWhitespace(String text) {
    int end = text.length();
    while (end > 0) {
      char c = text.charAt(end - 1);
      if (!Character.isWhitespace(c) && !Character.isSpaceChar(c) && c != '\u0085') {
        break;
      }
      end--;
    }
    return text.substring(0, end);
  }

  @Override
  public List<String> complete(String code, int cursor) {
    PythonProcess python;
    synchronized (lock) {
      python = process;
    }
    if (python == null || !python.isAlive()) {
      return List.of();
    }
    int caret = Math.max(0, Math.min(cursor, code.length()));
    return ChildProcesses.awaitCompletions(python.complete(code, code.codePointCount(0, caret)), COMPLETION_WAIT_MILLIS, "Python");
  }

  /**
   * Kills the Python process if {@code statementThread} is waiting for it: Python code that ignores
   * KeyboardInterrupt cannot be stopped otherwise. The statement ends as "Interpreter died" and the
   * next one starts a new process.
   */
  @Override
  public boolean forceStop(Thread statementThread) {
    synchronized (lock) {
      if (executingThread != statementThread || process == null) {
        return false;
      }
      log.warn("killing Python process {}: its statement ignored the interrupt", process.pid());
      process.kill("the statement ignored its cancel, so the Python process was killed;"
          + " the next statement starts a new one");
      return true;
    }
  }

  /**
   * If the process died since the last statement (killed from outside, out of memory) and no
   * statement was told, the error that tells this one; null otherwise.
   */
  private ExecuteResult unreportedDeath() {
    PythonProcess dead;
    synchronized (lock) {
      dead = process;
      if (dead == null || dead.isAlive() || dead == reportedDead) {
        return null;
      }
      reportedDead = dead;
    }
    return ChildProcesses.died("Python", dead.pid(), dead.deathReport(), true);
  }

  /** Stops the Python process and its py4j gateway. */
  @Override
  public void close() {
    PythonProcess python;
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
      python = process;
      process = null;
    }
    if (python != null) {
      python.shutdown(SHUTDOWN_GRACE);
    }
    synchronized (startLock) {
      if (scriptDir != null) {
        ChildProcesses.deleteScript(script(), scriptDir);
      }
    }
  }

  /** The running process, starting one if there is none or the last one died. */
  private PythonProcess ensureProcess() throws IOException, InterruptedException {
    synchronized (startLock) {
      PythonProcess previous;
      synchronized (lock) {
        if (closed) {
          throw new IllegalStateException("the Python interpreter is closed");
        }
        previous = process;
      }
      if (previous != null && previous.isAlive()) {
        return previous;
      }
      if (launch == null) {
        throw new IllegalStateException("the Python interpreter is not started");
      }
      if (previous != null) {
        log.info("starting a new Python process: process {} died", previous.pid());
      }
      PythonProcess started = PythonProcess.start(launch, script(), entryPoint, outputLimitBytes, START_TIMEOUT);
      synchronized (lock) {
        if (!closed) {
          process = started;
          return started;
        }
      }
      started.kill("the Python interpreter was closed");
      throw new IllegalStateException("the Python interpreter is closed");
    }
  }

  private Path script() {
    return scriptDir.resolve("sparkgate_repl.py");
  }

  /** The calling thread's job group and co, for the statement's JVM thread on the Python side. */
  private Map<String, String> statementProperties() {
    SparkContext sc = spark.sparkContext();
    Map<String, String> properties = new LinkedHashMap<>();
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
