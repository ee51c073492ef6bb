package io.sparkgate.agent.interp;

import java.io.File;
import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.CodeSource;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.Tuple2;
import scala.jdk.javaapi.CollectionConverters;
import scala.tools.nsc.Settings;
import scala.tools.nsc.interpreter.CompletionCandidate;
import scala.tools.nsc.interpreter.IMain;
import scala.tools.nsc.interpreter.Results;
import scala.tools.nsc.interpreter.shell.CompletionResult;
import scala.tools.nsc.interpreter.shell.ReplCompletion;
import scala.util.Either;
import scala.util.Left;
import scala.util.Right;

/**
 * The {@code spark} kind: Scala statements compiled and run by the Scala 2.13 REPL ({@link IMain}),
 * with {@code spark} and {@code sc} bound and spark-shell's imports, as in spark-shell.
 *
 * <h2>Start-up</h2>
 * The REPL writes the classes it compiles to a directory that the SparkContext serves to executors;
 * without it, closures defined in the REPL fail on executors even in local mode. So:
 * <ol>
 *   <li>{@link #prepareClassOutputDir(SparkConf)} before the SparkContext is created;
 *   <li>{@link #start()}, which creates the compiler and compiles a first line (the slow part, a few
 *       seconds), can run on a worker thread while the SparkContext starts;
 *   <li>{@link #bind(SparkSession)} once the session exists (or pass the session to the constructor
 *       and {@link #start()} binds it).
 * </ol>
 *
 * <h2>Results, in Livy's shapes</h2>
 * <ul>
 *   <li>Success: {@code text/plain} is everything the statement printed ({@code println},
 *       {@code Console}, {@code System.out} and {@code System.err}, from its thread and threads it
 *       started) followed by the REPL's result lines as Scala 2.13 prints them
 *       ({@code val res0: Double = 1.00001E10}), and compiler warnings that have a position. Binding
 *       noise and warning summaries are left out.
 *   <li>Compile error: {@code ename} {@code "Error"}, {@code evalue} the first line
 *       ({@code <console>:1: error: not found: value x}), {@code traceback} the remaining lines
 *       (source line, caret, further errors), each ending with a newline, as Livy's Scala
 *       interpreter splits the REPL's text.
 *   <li>Exception: {@code ename} {@code "Error"} as in Livy, {@code evalue} the exception line
 *       ({@code java.lang.ArithmeticException: / by zero}), {@code traceback} the REPL's stack
 *       lines (frames of the REPL's wrappers elided).
 *   <li>Incomplete input ({@code sc.}): {@code "Error"} / {@code "incomplete statement"}.
 * </ul>
 * Unlike Livy, the whole statement is one REPL input (not one per line): definitions spanning lines
 * and companions work, and only the last expression gets a {@code resN}, as with spark-shell's paste.
 *
 * <h2>Concurrency</h2>
 * One statement at a time. Completion may run while a statement's code runs; it waits (at most
 * {@value #COMPLETION_WAIT_MILLIS} ms, then answers nothing) while the statement is being compiled.
 *
 * <h2>Cancel</h2>
 * {@link #interrupt} interrupts the statement's code once it runs; a statement cancelled while it is
 * being compiled does not run (interrupting the compiler could break its file reads for good).
 * {@link #forceStop} stops code that ignores interrupts, on JVMs that still have
 * {@code Thread.stop} (Java 17 to 19); the REPL then reports a {@code ThreadDeath} like any
 * exception of the statement, and stays usable.
 */
public final class ScalaInterpreter implements Interpreter {
  public static final String KIND = "spark";
  /** The Spark conf naming the REPL class directory the SparkContext serves to executors. */
  public static final String CLASS_OUTPUT_DIR_CONF = "spark.repl.class.outputDir";
  /** Where {@link #prepareClassOutputDir} creates the directory; java.io.tmpdir by default (as spark-shell). */
  public static final String CLASS_DIR_ROOT_CONF = "spark.repl.classdir";
  static final long COMPLETION_WAIT_MILLIS = 2_000;

  private static final Logger log = LoggerFactory.getLogger(ScalaInterpreter.class);
  /**
   * What spark-shell sets up, compiled before the SparkSession exists: {@code spark} and {@code sc}
   * as lazy values that find the driver's default SparkSession on first use ({@code @transient}, so
   * that closures do not try to serialize them), then spark-shell's imports.
   */
  private static final String PREDEF = String.join("\n",
      "@transient lazy val spark: org.apache.spark.sql.classic.SparkSession ="
          + " org.apache.spark.sql.SparkSession.builder().getOrCreate().asInstanceOf[org.apache.spark.sql.classic.SparkSession]",
      "@transient lazy val sc: org.apache.spark.SparkContext = spark.sparkContext",
      "import org.apache.spark.SparkContext._",
      "import spark.implicits._",
      "import spark.sql",
      "import org.apache.spark.sql.functions._");
  private static final List<String> SPARK_SHELL_IMPORTS = List.of(
      "import org.apache.spark.SparkContext._",
      "import spark.implicits._",
      "import spark.sql",
      "import org.apache.spark.sql.functions._");
  /** The method of a request's wrapper that runs the code and returns the result text. */
  private static final String PRINT_METHOD = "$print";
  private static final Pattern LINE_END = Pattern.compile("(?<=\n)");

  private final Path classOutputDir;
  private final SparkSession sessionToBind;
  private final ClassLoader applicationLoader;
  private final Object stopLock = new Object();

  /**
   * Guards the REPL's compiler: held for each compile and book-keeping step of a statement (and for
   * the REPL's binding of {@code lastException} after an exception), not while user code runs, so
   * that completion (the presentation compiler reads the REPL's compiler state) can run meanwhile.
   */
  private final ReentrantLock compilerLock = new ReentrantLock();

  private volatile IMain intp;
  private volatile StatementReporter reporter;
  private volatile ReplCompletion completion;
  private volatile boolean bound;
  /** Whether {@link #PREDEF} compiled: spark and sc need no binding then. */
  private boolean predefined;
  private Thread evaluatingThread; // guarded by stopLock
  private boolean interruptPending; // guarded by stopLock

  /**
   * Creates the REPL class directory and names it in {@code conf} as
   * {@value #CLASS_OUTPUT_DIR_CONF}. Call before the SparkContext is created. The directory is
   * deleted when the JVM exits.
   */
  public static Path prepareClassOutputDir(SparkConf conf) throws IOException {
    Path root = Paths.get(conf.get(CLASS_DIR_ROOT_CONF, System.getProperty("java.io.tmpdir")));
    Files.createDirectories(root);
    Path dir = Files.createTempDirectory(root, "sparkgate-repl-");
    conf.set(CLASS_OUTPUT_DIR_CONF, dir.toAbsolutePath().toString());
    Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteRecursively(dir), "sparkgate-repl-dir-cleanup"));
    return dir;
  }

  /** An interpreter to be bound with {@link #bind(SparkSession)} after {@link #start()}. */
  public ScalaInterpreter(Path classOutputDir) {
    this(classOutputDir, null);
  }

  /**
   * An interpreter that binds {@code spark} at the end of {@link #start()}: for starting lazily,
   * when the session already exists.
   *
   * <p>The calling thread's context class loader is remembered: jars it holds (spark-submit's
   * {@code --jars}) are put on the REPL's class path, except the agent's own jar.
   */
  public ScalaInterpreter(Path classOutputDir, SparkSession spark) {
    this.classOutputDir = Objects.requireNonNull(classOutputDir, "classOutputDir");
    this.sessionToBind = spark;
    this.applicationLoader = Thread.currentThread().getContextClassLoader();
  }

  @Override
  public String kind() {
    return KIND;
  }

  /** Creates the compiler and compiles a first line; binds the session given to the constructor, if any. */
  @Override
  public synchronized void start() throws Exception {
    if (intp != null) {
      throw new IllegalStateException("already started");
    }
    List<String> args = new ArrayList<>(List.of(
        "-Yrepl-class-based", "-Yrepl-outdir", classOutputDir.toAbsolutePath().toString(), "-usejavacp"));
    String jars = applicationJars();
    if (!jars.isEmpty()) {
      args.add("-classpath");
      args.add(jars);
    }
    Settings settings = new Settings();
    Tuple2<Object, scala.collection.immutable.List<String>> processed =
        settings.processArguments(CollectionConverters.asScala(args).toList(), true);
    if (!(Boolean) processed._1() || !processed._2().isEmpty()) {
      throw new IllegalStateException("the Scala compiler refused the settings " + args);
    }
    reporter = StatementReporter.create(settings);
    IMain created = new IMain(settings, reporter);
    intp = created;
    long started = System.nanoTime();
    // The first compile warms the compiler up. Make it spark-shell's own set-up, so that nothing is
    // left to compile once the SparkSession exists: this runs while the SparkContext starts, and
    // bind() then costs nothing. Synthetic: it takes no resN name from the user.
    predefined = interpretQuietly(PREDEF, true) == Results.Success$.MODULE$;
    if (!predefined) {
      log.warn("spark-shell's set-up did not compile ahead of the session ({}); binding after it instead",
          reporter.errors());
      Results.Result warm = interpretQuietly("List(1, 2).map(_ + 1).sum", true);
      if (warm != Results.Success$.MODULE$) {
        throw new IllegalStateException("the Scala interpreter cannot compile a trivial line: " + reporter.errors());
      }
    }
    completion = new ReplCompletion(created, ReplCompletion.$lessinit$greater$default$2());
    log.info("Scala interpreter ready in {} ms (class directory {})",
        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started), classOutputDir);
    if (sessionToBind != null) {
      bind(sessionToBind);
    }
  }

  /**
   * Binds {@code spark} and {@code sc} (both {@code @transient}, so that closures do not try to
   * serialize them) and runs spark-shell's imports.
   *
   * @throws IllegalStateException if not started, already bound, or the REPL refused a binding
   */
  public synchronized void bind(SparkSession spark) {
    Objects.requireNonNull(spark, "spark");
    if (intp == null) {
      throw new IllegalStateException("start() first");
    }
    if (bound) {
      throw new IllegalStateException("already bound");
    }
    if (predefined && SparkSession.getDefaultSession().isDefined() && SparkSession.getDefaultSession().get() == spark) {
      // PREDEF's lazy vals resolve to this session on first use.
      bound = true;
      return;
    }
    scala.collection.immutable.List<String> transientOnly =
        CollectionConverters.asScala(List.of("@transient")).toList();
    compilerLock.lock();
    try {
      reporter.begin(null);
      try {
        requireSuccess("binding spark",
            intp.bind("spark", spark.getClass().getCanonicalName(), spark, transientOnly));
        requireSuccess("binding sc",
            intp.bind("sc", "org.apache.spark.SparkContext", spark.sparkContext(), transientOnly));
      } finally {
        reporter.end();
      }
      for (String line : SPARK_SHELL_IMPORTS) {
        requireSuccess(line, interpretQuietly(line, false));
      }
    } finally {
      compilerLock.unlock();
    }
    bound = true;
  }

  /** Whether {@code spark} and {@code sc} are bound. */
  public boolean isBound() {
    return bound;
  }

  @Override
  public ExecuteResult execute(String code, OutputSink sink) {
    Objects.requireNonNull(code, "code");
    Objects.requireNonNull(sink, "sink");
    if (intp == null) {
      return ExecuteResult.failure("InterpreterError", "the Scala interpreter is not started", List.of());
    }
    synchronized (stopLock) {
      interruptPending = false;
    }
    try {
      return OutputCapture.capture(sink, () -> run(code, sink));
    } catch (Exception e) {
      log.error("Scala statement failed outside the REPL", e);
      return ExecuteResult.failure("Internal Error: " + e.getClass().getName(), String.valueOf(e.getMessage()), List.of());
    }
  }

  private ExecuteResult run(String code, OutputSink sink) {
    reporter.begin(sink);
    try {
      Results.Result result = interpretNow(code, false);
      if (result == Results.Success$.MODULE$) {
        return ExecuteResult.text(sink.text(), sink.truncated());
      }
      if (result == Results.Incomplete$.MODULE$) {
        return ExecuteResult.incomplete();
      }
      String failure = reporter.runtimeFailure();
      if (failure != null) {
        return livyError(failure);
      }
      List<String> errors = reporter.errors();
      if (!errors.isEmpty()) {
        return livyError(String.join("\n", errors));
      }
      if (hasNothingToRun(code)) {
        // Only comments or blank lines: the REPL says Error without a message; Livy says ok.
        return ExecuteResult.text(sink.text(), sink.truncated());
      }
      return ExecuteResult.failure("Error", "the Scala compiler rejected the statement without saying why", List.of());
    } finally {
      reporter.end();
    }
  }

  private Results.Result interpretQuietly(String code, boolean synthetic) {
    reporter.begin(null);
    try {
      return interpretNow(code, synthetic);
    } finally {
      reporter.end();
    }
  }

  /**
   * What {@code IMain.interpret} does (compile, load and run, print, record), with the compiler lock
   * held around each compiler step and released while user code runs.
   */
  private Results.Result interpretNow(String code, boolean synthetic) {
    IMain repl = intp;
    Either<Results.Result, IMain.Request> compiled;
    compilerLock.lock();
    try {
      compiled = repl.compile(code, synthetic);
    } finally {
      compilerLock.unlock();
    }
    Results.Result result;
    if (compiled instanceof Left<Results.Result, IMain.Request> left) {
      result = left.value();
    } else {
      IMain.Request request = ((Right<Results.Result, IMain.Request>) compiled).value();
      Either<String, String> outcome = evaluate(request);
      compilerLock.lock();
      try {
        reporter.printResult(outcome);
        if (outcome.isLeft()) {
          result = Results.Error$.MODULE$;
        } else {
          repl.recordRequest(request);
          result = Results.Success$.MODULE$;
        }
      } finally {
        compilerLock.unlock();
      }
    }
    if (result != Results.Incomplete$.MODULE$) {
      // As the REPL does: clear errors and pending warnings so they do not leak into the next input.
      compilerLock.lock();
      try {
        reporter.reset();
        repl.global().currentRun().reporting().clearAllConditionalWarnings();
      } finally {
        compilerLock.unlock();
      }
    }
    return result;
  }

  /**
   * Runs the compiled request, as {@code Request.loadAndRun} does: this is where user code runs, with
   * the REPL's class loader as context and without the compiler lock. On an exception, the REPL binds
   * {@code lastException} and formats the stack trace, which compiles: under the lock.
   */
  private Either<String, String> evaluate(IMain.Request request) {
    Thread thread = Thread.currentThread();
    ClassLoader previous = thread.getContextClassLoader();
    thread.setContextClassLoader(intp.classLoader());
    try {
      Object printed;
      synchronized (stopLock) {
        if (interruptPending) {
          // Cancelled while compiling: the code does not run at all.
          interruptPending = false;
          return new Left<>("java.lang.InterruptedException: the statement was cancelled before it ran");
        }
        evaluatingThread = thread;
      }
      try {
        printed = request.lineRep().call(PRINT_METHOD, scala.collection.immutable.List$.MODULE$.empty());
      } finally {
        synchronized (stopLock) {
          evaluatingThread = null;
        }
      }
      return new Right<>(String.valueOf(printed));
    } catch (Throwable t) {
      // Binding lastException compiles: a cancel's interrupt must not reach the compiler's file reads.
      boolean interrupted = Thread.interrupted();
      compilerLock.lock();
      try {
        return new Left<>(request.lineRep().bindError(t));
      } finally {
        compilerLock.unlock();
        if (interrupted) {
          thread.interrupt();
        }
      }
    } finally {
      thread.setContextClassLoader(previous);
    }
  }

  private boolean hasNothingToRun(String code) {
    compilerLock.lock();
    try {
      var parsed = intp.parse(code);
      return parsed.isRight() && parsed.toOption().get()._1().isEmpty();
    } catch (RuntimeException e) {
      return false;
    } finally {
      compilerLock.unlock();
    }
  }

  /** Livy's split of the REPL's error text: first line as evalue, the rest as traceback lines. */
  static ExecuteResult.Failure livyError(String text) {
    String[] lines = LINE_END.split(text.endsWith("\n") ? text : text + "\n");
    List<String> traceback = new ArrayList<>(lines.length);
    for (int i = 1; i < lines.length; i++) {
      traceback.add(lines[i]);
    }
    return ExecuteResult.failure("Error", lines[0].strip(), traceback);
  }

  @Override
  public List<String> complete(String code, int cursor) {
    IMain repl = intp;
    ReplCompletion completer = completion;
    if (repl == null || completer == null) {
      return List.of();
    }
    int caret = Math.max(0, Math.min(cursor, code.length()));
    try {
      if (!compilerLock.tryLock(COMPLETION_WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
        log.debug("completion skipped: the compiler is busy with a statement");
        return List.of();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return List.of();
    }
    try {
      CompletionResult result = completer.complete(code, caret);
      Set<String> names = new LinkedHashSet<>();
      for (CompletionCandidate candidate : CollectionConverters.asJava(result.candidates())) {
        names.add(candidate.name());
      }
      return List.copyOf(names);
    } catch (RuntimeException e) {
      log.warn("completion failed for cursor {}", caret, e);
      return List.of();
    } finally {
      compilerLock.unlock();
    }
  }

  /**
   * Interrupts the statement's code if it is running; if the statement is still being compiled
   * (an interrupt there could break the compiler's file reads), its code will not run at all.
   */
  @Override
  public void interrupt(Thread statementThread) {
    synchronized (stopLock) {
      if (evaluatingThread == statementThread) {
        statementThread.interrupt();
      } else {
        interruptPending = true;
      }
    }
  }

  /**
   * Stops a statement thread that ignores interruption, with {@link Thread#stop()}, when it is
   * running user code and the compiler is idle: the stop then lands in user code, the REPL reports
   * it as that code's exception and stays usable. Needs a JVM that still implements
   * {@code Thread.stop} (Java 17 to 19); elsewhere this returns false and the statement runs on.
   */
  @Override
  public boolean forceStop(Thread statementThread) {
    IMain repl = intp;
    if (repl == null) {
      return false;
    }
    synchronized (stopLock) {
      if (evaluatingThread != statementThread || !compilerLock.tryLock()) {
        return false;
      }
      try {
        return ThreadStop.stop(statementThread);
      } finally {
        compilerLock.unlock();
      }
    }
  }

  @Override
  public synchronized void close() {
    IMain repl = intp;
    intp = null;
    completion = null;
    if (repl != null) {
      repl.close();
    }
  }

  private static void requireSuccess(String what, Results.Result result) {
    if (result != Results.Success$.MODULE$) {
      throw new IllegalStateException("the Scala interpreter failed at " + what + ": " + result);
    }
  }

  /** Jars of the application class loader (spark-submit's --jars), minus the agent's own jar. */
  private String applicationJars() {
    if (!(applicationLoader instanceof URLClassLoader urls)) {
      return "";
    }
    Path own = null;
    CodeSource source = ScalaInterpreter.class.getProtectionDomain().getCodeSource();
    try {
      if (source != null && source.getLocation() != null) {
        own = Paths.get(source.getLocation().toURI()).toAbsolutePath();
      }
    } catch (URISyntaxException | IllegalArgumentException e) {
      log.debug("cannot locate the agent jar", e);
    }
    List<String> jars = new ArrayList<>();
    for (URL url : urls.getURLs()) {
      if (!"file".equals(url.getProtocol())) {
        continue;
      }
      try {
        Path path = Paths.get(url.toURI()).toAbsolutePath();
        if (Files.isRegularFile(path) && !path.equals(own)) {
          jars.add(path.toString());
        }
      } catch (URISyntaxException | IllegalArgumentException e) {
        log.debug("skipping class path entry {}", url, e);
      }
    }
    return String.join(File.pathSeparator, jars);
  }

  private static void deleteRecursively(Path dir) {
    try {
      Files.walkFileTree(dir, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
          Files.deleteIfExists(file);
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
          Files.deleteIfExists(d);
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (IOException e) {
      // Best effort at JVM exit.
    }
  }

  /** {@code Thread.stop()}, looked up reflectively: deprecated, and unsupported from Java 20. */
  static final class ThreadStop {
    private static volatile boolean unsupported;

    private ThreadStop() {}

    static boolean stop(Thread thread) {
      if (unsupported) {
        return false;
      }
      try {
        Thread.class.getMethod("stop").invoke(thread);
        return true;
      } catch (InvocationTargetException e) {
        unsupported = true;
        log.warn("this JVM cannot stop a thread ({}): statements that ignore a cancel run on", e.getCause().toString());
        return false;
      } catch (ReflectiveOperationException e) {
        unsupported = true;
        log.warn("cannot stop a thread", e);
        return false;
      }
    }
  }
}
