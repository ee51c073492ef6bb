package io.sparkgate.agent.interp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.sparkgate.proto.Event;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.apache.spark.SparkConf;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The R interpreter against a real R (installed by {@code scripts/provision-r}; these tests fail,
 * not skip, without it).
 *
 * <p>Most tests run the plain R REPL ({@link RInterpreter#plainReplForTests}), without SparkR: this
 * machine's Spark (the pyspark package) has no SparkR, and a test double of SparkR's backend would
 * prove nothing. They test the REPL itself: statements, output, errors, state, the output cap,
 * process death and interrupts. The {@code sparkr} kind proper is tested where it must fail: with
 * SparkR absent, it refuses to start and says where it looked. Attaching a real SparkR needs a Spark
 * distribution that includes it, which is not available here.
 */
class RInterpreterTest {
  private RInterpreter interpreter;

  @AfterEach
  void close() {
    if (interpreter != null) {
      interpreter.close();
    }
  }

  @Test
  void autoPrintsTheValueOfATopLevelExpression() throws Exception {
    RInterpreter r = startPlainRepl(CapturedOutput.DEFAULT_LIMIT_BYTES);

    assertEquals("[1] 2", text(r.execute("1 + 1", sink())));
    assertEquals("", text(r.execute("invisible(3)", sink())));
    assertEquals("[1] \"a\" \"b\"", text(r.execute("x <- 1\nc('a', 'b')", sink())));
  }

  @Test
  void printedOutputIsTheTextAndIsStreamedByStream() throws Exception {
    RInterpreter r = startPlainRepl(CapturedOutput.DEFAULT_LIMIT_BYTES);
    CapturedOutput sink = sink();

    // Both streams leave a line open while the other writes: stdout's "[1]" is read well before
    // stderr's "a note" (the pauses order them across the two pipes), so a merge that splits lines
    // would give "[1]a note "x"" here every time.
    String text = text(r.execute("""
        cat('hello\\n'); cat('[1]'); flush(stdout()); Sys.sleep(0.5)
        message('a note', appendLF = FALSE); Sys.sleep(0.5)
        cat(' "x"\\n'); flush(stdout()); message(' more'); print('x'); cat('é 日本\\n')""", sink));

    List<CapturedOutput.Piece> pieces = sink.drain(true);
    assertEquals("hello\n[1] \"x\"\n[1] \"x\"\né 日本\n", joined(pieces, Event.Stream.STDOUT));
    assertEquals("a note more\n", joined(pieces, Event.Stream.STDERR));
    // Across the two streams the order is the order of arrival, line by line: every line whole.
    assertEquals(List.of("[1] \"x\"", "[1] \"x\"", "a note more", "hello", "é 日本"), text.lines().sorted().toList(), text);
  }

  @Test
  void warningsArePrintedAfterTheExpressionAsTheConsoleDoes() throws Exception {
    RInterpreter r = startPlainRepl(CapturedOutput.DEFAULT_LIMIT_BYTES);

    String text = text(r.execute("f <- function() { warning('careful'); 1 }\nf()", sink()));

    assertTrue(text.contains("[1] 1"), text);
    assertTrue(text.contains("Warning message:\nIn f() : careful"), text);
  }

  @Test
  void multiLineFunctionDefinitionThenCall() throws Exception {
    RInterpreter r = startPlainRepl(CapturedOutput.DEFAULT_LIMIT_BYTES);

    String defined = text(r.execute("""
        double_it <- function(x) {
          # keeps its comment, as the console does
          x * 2
        }""", sink()));
    assertEquals("", defined);
    assertEquals("[1] 42", text(r.execute("double_it(21)", sink())));
    assertTrue(text(r.execute("double_it", sink())).contains("# keeps its comment, as the console does"));
  }

  @Test
  void stateIsKeptAcrossStatements() throws Exception {
    RInterpreter r = startPlainRepl(CapturedOutput.DEFAULT_LIMIT_BYTES);

    text(r.execute("total <- 40", sink()));
    text(r.execute("total <- total + 1", sink()));

    assertEquals("[1] 41", text(r.execute("total", sink())));
  }

  @Test
  void anErrorIsAFailureWithTheConditionMessageAndTheUsersCalls() throws Exception {
    RInterpreter r = startPlainRepl(CapturedOutput.DEFAULT_LIMIT_BYTES);

    ExecuteResult.Failure top = failure(r.execute("stop('boom')", sink()));
    assertEquals("Error", top.ename());
    assertEquals("boom", top.evalue());

    ExecuteResult.Failure nested = failure(r.execute("outer <- function() inner()\ninner <- function() stop('deep')\nouter()", sink()));
    assertEquals("Error", nested.ename());
    assertEquals("deep", nested.evalue());
    assertEquals(List.of("3: stop(\"deep\")\n", "2: inner()\n", "1: outer()\n"), nested.traceback());
  }

  @Test
  void outputBeforeAnErrorIsStreamedAndLaterExpressionsDoNotRun() throws Exception {
    RInterpreter r = startPlainRepl(CapturedOutput.DEFAULT_LIMIT_BYTES);
    CapturedOutput sink = sink();

    failure(r.execute("cat('before\\n')\nstop('boom')\nafter <- TRUE", sink));

    assertEquals("before\n", sink.text());
    assertEquals("Error", failure(r.execute("after", sink())).ename());
  }

  @Test
  void anErrorWithATwentyMegabyteMessageIsCutAndTheNextStatementRuns() throws Exception {
    RInterpreter r = startPlainRepl(CapturedOutput.DEFAULT_LIMIT_BYTES);

    ExecuteResult.Failure error = assertInstanceOf(ExecuteResult.Failure.class,
        r.execute("stop(strrep('x', 20 * 1024 * 1024))", sink()));

    assertTrue(error.evalue().startsWith("xxxx"), error.evalue().substring(0, 20));
    assertTrue(error.evalue().length() <= ExecuteResult.Failure.MAX_EVALUE_CHARS + 40, "evalue of " + error.evalue().length());
    assertEquals("[1] 2", text(r.execute("1 + 1", sink())));
  }

  @Test
  void anUndefinedVariableIsReportedAsRReportsIt() throws Exception {
    RInterpreter r = startPlainRepl(CapturedOutput.DEFAULT_LIMIT_BYTES);

    ExecuteResult.Failure failure = failure(r.execute("no_such_variable + 1", sink()));

    assertEquals("Error", failure.ename());
    assertEquals("object 'no_such_variable' not found", failure.evalue());
    assertEquals(List.of(), failure.traceback());
  }

  @Test
  void aSyntaxErrorIsAFailureWithRsParseMessage() throws Exception {
    RInterpreter r = startPlainRepl(CapturedOutput.DEFAULT_LIMIT_BYTES);

    ExecuteResult.Failure incomplete = failure(r.execute("1 +", sink()));
    assertEquals("Error", incomplete.ename());
    assertTrue(incomplete.evalue().contains("unexpected end of input"), incomplete.evalue());

    ExecuteResult.Failure wrong = failure(r.execute("x y", sink()));
    assertTrue(wrong.evalue().contains("unexpected symbol"), wrong.evalue());
  }

  @Test
  void outputPastTheCapIsCutWithTheMark() throws Exception {
    RInterpreter r = startPlainRepl(1000);
    CapturedOutput sink = sink();

    ExecuteResult.Ok ok = assertInstanceOf(ExecuteResult.Ok.class, r.execute("cat(strrep('a', 5000))", sink));

    assertTrue(ok.truncated());
    assertEquals("a".repeat(1000) + "\n[output truncated: 4000 bytes over the 1000-byte limit]", ok.data().get(ExecuteResult.TEXT_PLAIN));
    assertEquals(5000, sink.totalBytes(), "the sink got all of it (its own cap applies there)");
    assertEquals("[1] \"next\"", text(r.execute("'next'", sink())), "the next statement is not affected");
  }

  @Test
  void aDeadProcessFailsTheStatementAndTheNextStatementRestartsIt() throws Exception {
    RInterpreter r = startPlainRepl(CapturedOutput.DEFAULT_LIMIT_BYTES);
    text(r.execute("kept <- 1", sink()));
    long firstPid = r.pid();

    ExecuteResult.Failure died = failure(r.execute("message('going away'); quit(save = 'no', status = 1)", sink()));

    assertEquals("Error", died.ename());
    assertTrue(died.evalue().startsWith("Interpreter died:\n"), died.evalue());
    assertTrue(died.evalue().contains("exited with code 1"), died.evalue());
    assertTrue(died.evalue().contains("going away"), "the report shows its last stderr lines: " + died.evalue());

    assertEquals("[1] 2", text(r.execute("1 + 1", sink())));
    assertNotEquals(firstPid, r.pid());
    assertEquals("object 'kept' not found", failure(r.execute("kept", sink())).evalue(), "a new process has a new state");
  }

  @Test
  void interruptStopsARunningStatementPromptlyAndKeepsTheState() throws Exception {
    RInterpreter r = startPlainRepl(CapturedOutput.DEFAULT_LIMIT_BYTES);
    text(r.execute("kept <- 'still here'", sink()));
    CapturedOutput sink = sink();
    AtomicReference<ExecuteResult> result = new AtomicReference<>();
    Thread statement = new Thread(() -> result.set(r.execute("cat('sleeping\\n'); Sys.sleep(60); 'woke'", sink)));
    statement.start();
    awaitText(sink, "sleeping\n"); // streamed while the statement runs

    long started = System.nanoTime();
    r.interrupt(statement);
    statement.join(10_000);

    assertFalse(statement.isAlive(), "the statement did not end");
    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
    assertTrue(millis < 5_000, "took " + millis + " ms");
    ExecuteResult.Failure failure = failure(result.get());
    assertEquals("the statement was interrupted", failure.evalue());
    assertEquals("[1] \"still here\"", text(r.execute("kept", sink())));
  }

  @Test
  void aSigintBetweenStatementsDoesNotReachTheNextOne() throws Exception {
    RInterpreter r = startPlainRepl(CapturedOutput.DEFAULT_LIMIT_BYTES);
    text(r.execute("1", sink()));

    Process kill = new ProcessBuilder("kill", "-INT", Long.toString(r.pid())).start();
    assertTrue(kill.waitFor(5, TimeUnit.SECONDS));
    Thread.sleep(200);

    assertEquals("[1] 7", text(r.execute("Sys.sleep(0.3); 7", sink())));
  }

  @Test
  void completesWithRsCompleter() throws Exception {
    RInterpreter r = startPlainRepl(CapturedOutput.DEFAULT_LIMIT_BYTES);
    text(r.execute("my_list <- list(alpha = 1, beta = 2)", sink()));

    assertTrue(r.complete("x <- Sys.ti", 11).contains("Sys.time"));
    assertEquals(List.of("my_list$alpha", "my_list$beta"), r.complete("1\nmy_list$", 10));
  }

  @Test
  void withoutSparkRTheSparkrKindRefusesToStartAndSaysWhereItLooked(@TempDir Path sparkHome) throws Exception {
    Files.createDirectories(sparkHome.resolve("R").resolve("lib")); // a distribution without SparkR in it
    Path missing = sparkHome.resolve("R").resolve("lib").resolve("SparkR").toAbsolutePath().normalize();
    Map<String, String> env = new HashMap<>(System.getenv());
    env.put("SPARK_HOME", sparkHome.toString());
    interpreter = new RInterpreter(() -> fail("the session is asked for only once SparkR is found"),
        new SparkConf(false), CapturedOutput.DEFAULT_LIMIT_BYTES, env);

    InterpreterUnavailableException e = assertThrows(InterpreterUnavailableException.class, interpreter::start);

    assertEquals(RInterpreter.KIND, e.kind());
    assertEquals("SparkR is not in this Spark distribution: " + missing + " does not exist; set SPARK_HOME to a"
        + " Spark distribution that includes SparkR (the pip-installed pyspark package has none)", e.getMessage());
  }

  @Test
  void withoutSparkHomeTheSparkrKindSaysSo() {
    Map<String, String> env = new HashMap<>(System.getenv());
    env.remove("SPARK_HOME");
    interpreter = new RInterpreter(() -> fail("the session is asked for only once SparkR is found"),
        new SparkConf(false), CapturedOutput.DEFAULT_LIMIT_BYTES, env);

    InterpreterUnavailableException e = assertThrows(InterpreterUnavailableException.class, interpreter::start);

    assertTrue(e.getMessage().startsWith("SparkR needs a Spark distribution that includes it, but SPARK_HOME is not set"), e.getMessage());
  }

  @Test
  void theRegistryReportsTheMissingSparkROnEveryStatement(@TempDir Path sparkHome) {
    Map<String, String> env = new HashMap<>(System.getenv());
    env.put("SPARK_HOME", sparkHome.toString());
    SparkConf conf = new SparkConf(false).set("spark.home", "/not/used/when/the/variable/is/set");
    Path missing = sparkHome.resolve("R").resolve("lib").resolve("SparkR").toAbsolutePath().normalize();
    try (InterpreterRegistry registry = new InterpreterRegistry()) {
      registry.register(RInterpreter.KIND, () -> new RInterpreter(
          () -> fail("the session is asked for only once SparkR is found"), conf, CapturedOutput.DEFAULT_LIMIT_BYTES, env));

      for (int statement = 0; statement < 2; statement++) {
        InterpreterUnavailableException e = assertThrows(InterpreterUnavailableException.class, () -> registry.get(RInterpreter.KIND));
        assertTrue(e.getMessage().contains(missing + " does not exist"), e.getMessage());
      }
    }
  }

  @Test
  void sparkHomeComesFromTheConfWhenTheVariableIsUnset(@TempDir Path sparkHome) {
    Map<String, String> env = new HashMap<>(System.getenv());
    env.remove("SPARK_HOME");
    interpreter = new RInterpreter(() -> fail("the session is asked for only once SparkR is found"),
        new SparkConf(false).set("spark.home", sparkHome.toString()), CapturedOutput.DEFAULT_LIMIT_BYTES, env);

    InterpreterUnavailableException e = assertThrows(InterpreterUnavailableException.class, interpreter::start);

    assertTrue(e.getMessage().contains(sparkHome.toAbsolutePath().normalize() + File.separator + "R"), e.getMessage());
  }

  @Test
  void whenSparkRCannotAttachTheProcessFailsToStartWithRsReason(@TempDir Path dir) throws Exception {
    assertTrue(onPath("Rscript"), "R is not installed (no Rscript on PATH): run scripts/provision-r");
    Path script = dir.resolve("sparkgate_repl.R");
    try (InputStream in = RInterpreter.class.getResourceAsStream(RInterpreter.SCRIPT_RESOURCE)) {
      Files.copy(in, script);
    }
    Path emptyLibrary = Files.createDirectories(dir.resolve("lib")); // SparkR vanished after the check
    RLaunch launch = RLaunch.resolve(new SparkConf(false), System.getenv());

    IOException e = assertThrows(IOException.class, () -> RProcess.start(launch, script,
        new RLaunch.SparkRAttachment(emptyLibrary, 1, "secret", "token"), 1 << 20, Duration.ofSeconds(30)));

    assertTrue(e.getMessage().startsWith("SparkR could not attach to the driver: there is no package called"), e.getMessage());
  }

  @Test
  void sparksRBackendStartsOnALoopbackPortAndStops() throws Exception {
    // Spark's own backend, as the sparkr kind starts it (no R process attaches here: see above).
    RSparkBackend backend = RSparkBackend.start();
    try {
      assertTrue(backend.port() > 0);
      assertEquals(64, backend.secret().length(), "a 256-bit secret, in hex");
      try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), backend.port())) {
        assertTrue(socket.isConnected());
      }
    } finally {
      backend.close();
    }
    // The listener goes away shortly after close() returns (its event loop closes it).
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (true) {
      try (Socket socket = new Socket(InetAddress.getLoopbackAddress(), backend.port())) {
        assertTrue(System.nanoTime() < deadline, "the backend still listens after close()");
        Thread.sleep(50);
      } catch (ConnectException refused) {
        break;
      }
    }
  }

  // ---------------------------------------------------------------- helpers

  /** The plain R REPL (no SparkR): see the class comment for why the tests use it. */
  private RInterpreter startPlainRepl(int outputLimitBytes) throws Exception {
    assertTrue(onPath("Rscript"), "R is not installed (no Rscript on PATH): run scripts/provision-r");
    interpreter = RInterpreter.plainReplForTests(outputLimitBytes, System.getenv());
    interpreter.start();
    return interpreter;
  }

  private static boolean onPath(String program) {
    String path = System.getenv("PATH");
    if (path == null) {
      return false;
    }
    for (String dir : path.split(File.pathSeparator)) {
      if (!dir.isEmpty() && Files.isExecutable(Paths.get(dir, program))) {
        return true;
      }
    }
    return false;
  }

  private static CapturedOutput sink() {
    return new CapturedOutput(CapturedOutput.DEFAULT_LIMIT_BYTES);
  }

  private static String text(ExecuteResult result) {
    if (result instanceof ExecuteResult.Failure f) {
      fail("expected success, got " + f.ename() + ": " + f.evalue() + " " + f.traceback());
    }
    return (String) ((ExecuteResult.Ok) result).data().get(ExecuteResult.TEXT_PLAIN);
  }

  private static ExecuteResult.Failure failure(ExecuteResult result) {
    if (result instanceof ExecuteResult.Ok ok) {
      fail("expected a failure, got " + ok.data());
    }
    return (ExecuteResult.Failure) result;
  }

  private static String joined(List<CapturedOutput.Piece> pieces, Event.Stream stream) {
    return pieces.stream().filter(p -> p.stream() == stream).map(CapturedOutput.Piece::text).collect(Collectors.joining());
  }

  private static void awaitText(CapturedOutput sink, String expected) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (!sink.text().contains(expected)) {
      if (System.nanoTime() > deadline) {
        fail("no '" + expected + "' in the output: " + sink.text());
      }
      Thread.sleep(20);
    }
  }
}
