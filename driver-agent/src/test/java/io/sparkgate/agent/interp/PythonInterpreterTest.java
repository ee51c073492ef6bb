package io.sparkgate.agent.interp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.sparkgate.agent.StatementRunner;
import io.sparkgate.proto.Event;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.spark.SparkConf;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.sql.SparkSession;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The pyspark interpreter against a real local[2] SparkSession in this JVM and the provisioned Python
 * (with pyspark and matplotlib), called directly as the statement runner calls it.
 */
class PythonInterpreterTest {
  private static final Path VENV = Paths.get(System.getProperty("user.home"), ".cache", "sparkgate", "pyspark-4.2.0");
  private static final Path PYTHON = VENV.resolve("bin").resolve("python");
  private static final Path SPARK_HOME = VENV.resolve("lib").resolve("python3.11").resolve("site-packages").resolve("pyspark");
  private static final String KIND = PythonInterpreter.KIND;
  private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

  private static SparkSession spark;
  private static PythonInterpreter python;

  @BeforeAll
  static void start() throws Exception {
    assertTrue(Files.isExecutable(PYTHON), "the provisioned Python is missing: " + PYTHON + " (scripts/ provision it)");
    SparkConf conf = new SparkConf()
        .setMaster("local[2]")
        .setAppName("PythonInterpreterTest")
        .set("spark.ui.enabled", "false")
        .set("spark.driver.host", "127.0.0.1")
        .set("spark.driver.bindAddress", "127.0.0.1")
        .set("spark.sql.shuffle.partitions", "2")
        .set("spark.pyspark.python", PYTHON.toString());
    spark = SparkSession.builder().config(conf).getOrCreate();
    // SPARK_HOME as spark-submit sets it: PYTHONPATH then starts with its python/ folder.
    Map<String, String> env = new HashMap<>(System.getenv());
    env.put("SPARK_HOME", SPARK_HOME.toString());
    python = new PythonInterpreter(spark, CapturedOutput.DEFAULT_LIMIT_BYTES, env);
    python.start();
  }

  @AfterAll
  static void stop() throws Exception {
    long pid = python == null ? -1 : python.pid();
    if (python != null) {
      python.close();
    }
    if (spark != null) {
      spark.stop();
    }
    if (pid > 0) {
      ProcessHandle.of(pid).ifPresent(p -> assertFalse(p.isAlive(), "close() left the Python process running"));
    }
  }

  private static ExecuteResult run(String code) {
    return python.execute(code, new CapturedOutput(CapturedOutput.DEFAULT_LIMIT_BYTES));
  }

  private static ExecuteResult.Ok ok(ExecuteResult result) {
    return assertInstanceOf(ExecuteResult.Ok.class, result, () -> "expected ok, got " + result);
  }

  private static ExecuteResult.Failure failure(ExecuteResult result) {
    return assertInstanceOf(ExecuteResult.Failure.class, result, () -> "expected a failure, got " + result);
  }

  private static String text(ExecuteResult result) {
    return (String) ok(result).data().get(ExecuteResult.TEXT_PLAIN);
  }

  private static void assertMatches(String regex, String actual) {
    assertTrue(Pattern.compile(regex, Pattern.DOTALL).matcher(actual).matches(),
        () -> "expected to match " + regex + "\nbut was: " + actual);
  }

  @Test
  void piExampleRunsPythonOnExecutors() {
    String text = text(run("""
        import random
        NUM_SAMPLES = 100000
        def sample(p):
          x, y = random.random(), random.random()
          return 1 if x*x + y*y < 1 else 0
        count = sc.parallelize(range(0, NUM_SAMPLES)).map(sample).reduce(lambda a, b: a + b)
        print("Pi is roughly %f" % (4.0 * count / NUM_SAMPLES))
        """));
    assertMatches("Pi is roughly 3\\.1\\d{5}", text);
  }

  @Test
  void lastExpressionIsTheResultAndStateIsKept() {
    assertEquals(Map.of(ExecuteResult.TEXT_PLAIN, "2"), ok(run("1 + 1")).data());
    assertEquals("", text(run("x = 20")));
    assertEquals("21", text(run("x + 1")));
    assertEquals("3", text(run("\ny = 1\n\nz = 2\n\ny + z\n")));
    assertEquals("", text(run("# only a comment")));
    assertEquals("[0, 2, 4, 6, 8, 10, 12, 14, 16, 18]\n90",
        text(run("rdd = sc.parallelize(range(10)).map(lambda x: x * 2)\nprint(rdd.collect())\nrdd.sum()")));
  }

  @Test
  void printedOutputComesFirstAndIsStreamedBothStreams() {
    CapturedOutput sink = new CapturedOutput(CapturedOutput.DEFAULT_LIMIT_BYTES);
    ExecuteResult result = python.execute("import sys\nprint('hello')\nprint('oops', file=sys.stderr)\n6 * 7", sink);
    assertEquals("hello\noops\n42", text(result));
    assertEquals(List.of(
            new CapturedOutput.Piece(Event.Stream.STDOUT, "hello\n"),
            new CapturedOutput.Piece(Event.Stream.STDERR, "oops\n"),
            new CapturedOutput.Piece(Event.Stream.STDOUT, "42\n")),
        sink.drain(true));
    assertEquals("h\u00e9llo \u263a \ud83d\ude00", text(run("print('h\u00e9llo \u263a \ud83d\ude00')")));
  }

  @Test
  void outputIsStreamedWhileTheStatementRuns() throws Exception {
    List<String> written = new CopyOnWriteArrayList<>();
    CapturedOutput kept = new CapturedOutput(CapturedOutput.DEFAULT_LIMIT_BYTES);
    OutputSink sink = new OutputSink() {
      @Override
      public void write(Event.Stream stream, CharSequence text) {
        written.add(text.toString());
        kept.write(stream, text);
      }

      @Override
      public String text() {
        return kept.text();
      }

      @Override
      public boolean truncated() {
        return kept.truncated();
      }
    };
    CompletableFuture<ExecuteResult> result = CompletableFuture.supplyAsync(
        () -> python.execute("import time\nprint('first')\ntime.sleep(2)\nprint('second')", sink));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(2);
    while (!String.join("", written).equals("first\n") && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    assertEquals("first\n", String.join("", written));
    assertFalse(result.isDone(), "the statement should still be sleeping");
    assertEquals("first\nsecond", text(result.get(10, TimeUnit.SECONDS)));
  }

  @Test
  void nameErrorHasLivysShape() {
    ExecuteResult.Failure error = failure(run("nowhere_defined_name"));
    assertEquals(new ExecuteResult.Failure("NameError", "name 'nowhere_defined_name' is not defined", List.of(
        "Traceback (most recent call last):\n",
        "NameError: name 'nowhere_defined_name' is not defined\n")), error);
  }

  @Test
  void tracebackKeepsTheUsersFramesOnly() {
    ExecuteResult.Failure error = failure(run("def inner(d):\n  return 1 / d\n\ndef outer():\n  return inner(0)\n\nouter()"));
    assertEquals("ZeroDivisionError", error.ename());
    assertEquals("division by zero", error.evalue());
    assertEquals(List.of(
        "Traceback (most recent call last):\n",
        "  File \"<stdin>\", line 5, in outer\n",
        "  File \"<stdin>\", line 2, in inner\n",
        "ZeroDivisionError: division by zero\n"), error.traceback());
  }

  @Test
  void python2PrintIsPython3SyntaxError() {
    ExecuteResult.Failure error = failure(run("print \"hi\""));
    assertEquals("SyntaxError", error.ename());
    assertEquals("Missing parentheses in call to 'print'. Did you mean print(...)? (<stdin>, line 1)", error.evalue());
    assertEquals("  File \"<stdin>\", line 1\n", error.traceback().get(0));
    assertEquals("    print \"hi\"\n", error.traceback().get(1));
    assertEquals("SyntaxError: Missing parentheses in call to 'print'. Did you mean print(...)?\n",
        error.traceback().get(error.traceback().size() - 1));
    // Nothing of a statement with a syntax error runs.
    failure(run("never_assigned = 1\n'"));
    assertEquals("NameError", failure(run("never_assigned")).ename());
  }

  @Test
  void jsonMagic() {
    ExecuteResult.Ok ok = ok(run("x = [[1, 'a'], [3, 'b']]\n%json x"));
    assertEquals(List.of("application/json"), List.copyOf(ok.data().keySet()));
    assertEquals("[[1,\"a\"],[3,\"b\"]]", Json.write(ok.data().get("application/json")));
    // An expression, not only a name; text/plain joins when something was printed.
    ExecuteResult.Ok printed = ok(run("print('before')\n%json {'k': [1, 2.5, None, True]}"));
    assertEquals("{\"application/json\":{\"k\":[1,2.5,null,true]},\"text/plain\":\"before\"}", printed.dataJson());
    assertEquals(new ExecuteResult.Failure("KeyError", "'no_such_variable'", List.of("KeyError: 'no_such_variable'\n")),
        run("%json no_such_variable"));
    ExecuteResult.Failure notJson = failure(run("%json {1, 2}"));
    assertEquals("TypeError", notJson.ename());
    assertEquals("Object of type set is not JSON serializable", notJson.evalue());
  }

  @Test
  void tableMagicHasLivysExactShape() {
    assertEquals("{\"application/vnd.livy.table.v1+json\":{\"headers\":[{\"name\":\"0\",\"type\":\"INT_TYPE\"},"
            + "{\"name\":\"1\",\"type\":\"STRING_TYPE\"}],\"data\":[[1,\"a\"],[3,\"b\"]]}}",
        ok(run("x = [[1, 'a'], [3, 'b']]\n%table x")).dataJson());
    assertEquals("{\"application/vnd.livy.table.v1+json\":{\"headers\":[{\"name\":\"a\",\"type\":\"STRING_TYPE\"},"
            + "{\"name\":\"b\",\"type\":\"INT_TYPE\"}],\"data\":[[null,null],[\"2\",2]]}}",
        ok(run("x = [{'a': None, 'b': None}, {'a': '2', 'b': 2}]\n%table x")).dataJson());
    assertEquals("{\"application/vnd.livy.table.v1+json\":{\"headers\":[{\"name\":\"d\",\"type\":\"DATE_TYPE\"},"
            + "{\"name\":\"n\",\"type\":\"INT_TYPE\"},{\"name\":\"ok\",\"type\":\"BOOLEAN_TYPE\"},"
            + "{\"name\":\"x\",\"type\":\"DOUBLE_TYPE\"}],\"data\":[[\"2024-01-31\",1,true,0.5]]}}",
        ok(run("import datetime\nrows = spark.createDataFrame([(1, 0.5, True, datetime.date(2024, 1, 31))], "
            + "['n', 'x', 'ok', 'd']).collect()\n%table rows")).dataJson());
    // Magic inside a statement: the last part's result wins, as in Livy.
    assertEquals(Map.of(ExecuteResult.TEXT_PLAIN, "3"), ok(run("x = [[1, 'a'], [3, 'b']]\n%table x\n1 + 2")).data());
    assertEquals(new ExecuteResult.Failure("Exception", "table rows have different types",
        List.of("Exception: table rows have different types\n")), run("%table [[1], ['a']]"));
  }

  @Test
  void matplotMagicGivesAPng() {
    ExecuteResult.Ok ok = ok(run("import matplotlib.pyplot as plt\n_ = plt.plot([1, 3, 2])\n%matplot plt"));
    assertEquals(List.of("image/png"), List.copyOf(ok.data().keySet()));
    byte[] png = Base64.getDecoder().decode((String) ok.data().get("image/png"));
    assertTrue(png.length > 1000, "a tiny PNG: " + png.length);
    assertEquals(Arrays.toString(PNG_SIGNATURE), Arrays.toString(Arrays.copyOf(png, 8)));
    ExecuteResult.Ok figure = ok(run("fig = plt.figure()\n_ = fig.add_subplot().bar(['a', 'b'], [1, 2])\n%matplot fig"));
    byte[] figurePng = Base64.getDecoder().decode((String) figure.data().get("image/png"));
    assertEquals(Arrays.toString(PNG_SIGNATURE), Arrays.toString(Arrays.copyOf(figurePng, 8)));
  }

  @Test
  void unknownMagicIsLivysError() {
    assertEquals(new ExecuteResult.Failure("UnknownMagic", "unknown magic command 'foo'",
        List.of("UnknownMagic: unknown magic command 'foo'\n")), run("%foo"));
    assertEquals(new ExecuteResult.Failure("UnknownMagic", "magic command not specified",
        List.of("UnknownMagic: magic command not specified\n")), run("%"));
  }

  @Test
  void pythonSharesTheDriversSparkSession() {
    spark.range(3).createOrReplaceTempView("from_jvm");
    assertEquals("3", text(run("spark.table('from_jvm').count()")));
    assertEquals("", text(run("spark.range(5).createOrReplaceTempView('from_python')")));
    assertEquals(5, spark.table("from_python").count());
    assertEquals("'" + spark.sparkContext().applicationId() + "'", text(run("sc.applicationId")));
    assertEquals("True", text(run("spark.sparkContext is sc")));
    assertEquals("[Row(one=1)]", text(run("sqlContext.sql('select 1 as one').collect()")));
  }

  @Test
  void tenThousandPrintedLinesArriveComplete() {
    CapturedOutput sink = new CapturedOutput(CapturedOutput.DEFAULT_LIMIT_BYTES);
    String text = text(python.execute("for i in range(10000):\n    print('line', i)", sink));
    String[] lines = text.split("\n", -1);
    assertEquals(10_000, lines.length);
    for (int i = 0; i < lines.length; i++) {
      assertEquals("line " + i, lines[i]);
    }
    assertEquals(text + "\n", sink.text());
  }

  @Test
  void aTenMegabyteResultIsTruncatedWithTheMark() {
    ExecuteResult.Ok ok = ok(run("'x' * 10_000_000"));
    assertTrue(ok.truncated());
    String text = (String) ok.data().get(ExecuteResult.TEXT_PLAIN);
    // The repr: a quote, ten million x, a quote, the newline Python's displayhook adds.
    String mark = "\n[output truncated: " + (10_000_003 - CapturedOutput.DEFAULT_LIMIT_BYTES) + " bytes over the "
        + CapturedOutput.DEFAULT_LIMIT_BYTES + "-byte limit]";
    assertTrue(text.endsWith(mark), () -> "ends with " + text.substring(text.length() - 100));
    assertEquals(CapturedOutput.DEFAULT_LIMIT_BYTES + mark.length(), text.length());
    assertTrue(text.startsWith("'xxx"));
    // A %json result larger than the cap is an error, not a cut JSON document.
    ExecuteResult.Failure tooBig = failure(run("%json 'y' * 2_000_000"));
    assertEquals("ValueError", tooBig.ename());
    assertTrue(tooBig.evalue().contains("more than the 1048576-byte output limit"), tooBig.evalue());
  }

  @Test
  void aDeadProcessFailsItsStatementAndTheNextOneRestartsIt() {
    assertEquals("", text(run("kept_until_death = 1")));
    long before = python.pid();
    ExecuteResult.Failure died = failure(run("import os, sys\nsys.__stderr__.write('last words\\n')\nsys.__stderr__.flush()\nos._exit(3)"));
    assertEquals("Error", died.ename());
    assertTrue(died.evalue().startsWith("Interpreter died:\nthe Python process exited with code 3"), died.evalue());
    assertTrue(died.evalue().contains("last words"), died.evalue());
    assertEquals(List.of(), died.traceback());
    assertEquals("2", text(run("1 + 1")));
    assertNotEquals(before, python.pid());
    assertEquals("NameError", failure(run("kept_until_death")).ename());
    assertEquals("45", text(run("sc.parallelize(range(10)).sum()")));
  }

  @Test
  void completionFromTheNamespace() throws Exception {
    assertTrue(python.complete("sc.paral", 8).contains("parallelize"));
    assertEquals(List.of("completion_target_variable"),
        completeAfter("completion_target_variable = 1", "completion_target_v"));
    assertTrue(python.complete("x = spa", 7).contains("spark"));
    assertEquals(List.of(), python.complete("   ", 3));
    // Answered while a statement runs.
    CompletableFuture<ExecuteResult> sleeping = CompletableFuture.supplyAsync(() -> run("import time\ntime.sleep(2)"));
    Thread.sleep(300);
    long started = System.nanoTime();
    assertTrue(python.complete("spark.rea", 9).contains("read"));
    assertTrue(System.nanoTime() - started < TimeUnit.MILLISECONDS.toNanos(1_500), "completion waited for the statement");
    assertFalse(sleeping.isDone());
    ok(sleeping.get(10, TimeUnit.SECONDS));
  }

  private static List<String> completeAfter(String setup, String prefix) {
    ok(run(setup));
    return python.complete(prefix, prefix.length());
  }

  @Test
  void sparkmagicSqlOutputParses() throws Exception {
    String text = text(run("for yQeKOYBsFgLWWGWZJu3y in spark.sql(u\"\"\"select id as a, 'x' as b from range(3) \"\"\")"
        + ".toJSON(use_unicode=True).take(2500): print(yQeKOYBsFgLWWGWZJu3y)"));
    List<JsonNode> rows = new ArrayList<>();
    for (String line : text.split("\n")) {
      try {
        rows.add(Json.read(line));
      } catch (RuntimeException e) {
        throw new AssertionError("sparkmagic cannot parse the output:\n" + text, e);
      }
    }
    assertEquals("[{\"a\":0,\"b\":\"x\"},{\"a\":1,\"b\":\"x\"},{\"a\":2,\"b\":\"x\"}]", Json.write(rows));
    assertEquals("['{\"a\":1}']", text(run("spark.sql(\"select 1 as a\").toJSON().take(2500)")));
  }

  @Test
  void jobsFromPythonRunInTheCallersJobGroup() throws Exception {
    List<String> groups = new CopyOnWriteArrayList<>();
    SparkListener listener = new SparkListener() {
      @Override
      public void onJobStart(SparkListenerJobStart jobStart) {
        groups.add(String.valueOf(jobStart.properties().getProperty("spark.jobGroup.id")));
      }
    };
    spark.sparkContext().addSparkListener(listener);
    try {
      spark.sparkContext().setJobGroup("sparkgate-test-group", "a statement", true);
      assertEquals("90", text(run("sc.parallelize(range(10)).map(lambda x: x * 2).sum()")));
      assertEquals("3", text(run("spark.range(3).count()")));
      spark.sparkContext().clearJobGroup();
      assertEquals("1", text(run("sc.parallelize([1]).count()")));
    } finally {
      spark.sparkContext().clearJobGroup();
      spark.sparkContext().removeSparkListener(listener);
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (groups.size() < 3 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    // The RDD job and the SQL job(s) in the group, then the job after the group was cleared.
    assertTrue(groups.stream().filter("sparkgate-test-group"::equals).count() >= 2, groups::toString);
    assertEquals("sparkgate-test-group", groups.get(groups.size() - 2));
    assertEquals("null", groups.get(groups.size() - 1));
  }

  @Test
  void interruptRaisesKeyboardInterruptAndKeepsTheSession() throws Exception {
    assertEquals("", text(run("survives_interrupt = 'yes'")));
    ExecuteResult sleeping = interruptAfter(1_000, "import time\ntime.sleep(60)", null);
    assertEquals("KeyboardInterrupt", failure(sleeping).ename());
    assertEquals("'yes'", text(run("survives_interrupt")));

    // A Spark job: the interrupt cancels the caller's job group too.
    ExecuteResult job = interruptAfter(2_000,
        "import time\nsc.parallelize(range(2), 2).map(lambda x: time.sleep(60)).count()", "sparkgate-test-cancel");
    failure(job);
    assertEquals("'yes'", text(run("survives_interrupt")));
  }

  @Test
  void forceStopKillsCodeThatIgnoresInterrupts() throws Exception {
    String stubborn = "import time\nwhile True:\n  try:\n    time.sleep(0.05)\n  except KeyboardInterrupt:\n    pass";
    CompletableFuture<Thread> thread = new CompletableFuture<>();
    CompletableFuture<ExecuteResult> result = CompletableFuture.supplyAsync(() -> {
      thread.complete(Thread.currentThread());
      return run(stubborn);
    });
    Thread statementThread = thread.get(5, TimeUnit.SECONDS);
    Thread.sleep(1_000);
    statementThread.interrupt();
    Thread.sleep(1_500);
    assertFalse(result.isDone(), "the code swallows KeyboardInterrupt");
    assertFalse(python.forceStop(Thread.currentThread()));
    assertTrue(python.forceStop(statementThread));
    ExecuteResult.Failure died = failure(result.get(10, TimeUnit.SECONDS));
    assertEquals("Error", died.ename());
    assertTrue(died.evalue().startsWith("Interpreter died:\nthe statement ignored its cancel"), died.evalue());
    assertEquals("2", text(run("1 + 1")));
  }

  @Test
  void throughTheStatementRunnerPythonJobsShowProgressAndAreCancelled() throws Exception {
    List<Event> events = new CopyOnWriteArrayList<>();
    InterpreterRegistry registry = new InterpreterRegistry().registerStarted(python);
    try (StatementRunner runner = new StatementRunner(spark.sparkContext(), registry, events::add)) {
      runner.start();
      runner.execute(1, KIND, "import time\nsc.parallelize(range(4), 4).map(lambda x: time.sleep(0.3) or x).sum()");
      assertEquals(Event.StatementResult.ok(1, "{\"text/plain\":\"6\"}", false), await(events, 1).withExecutionMicros(0));
      assertTrue(events.stream().anyMatch(e -> e instanceof Event.StatementProgress p
          && p.statementId() == 1 && p.totalTasks() == 4 && p.completedTasks() == 4), events::toString);

      runner.execute(2, KIND, "import time\nsc.parallelize(range(2), 2).map(lambda x: time.sleep(60)).count()");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
      while (events.stream().noneMatch(e -> e instanceof Event.StatementProgress p && p.statementId() == 2)) {
        assertTrue(System.nanoTime() < deadline, () -> "no progress for the Python job: " + events);
        Thread.sleep(20);
      }
      long cancelled = System.nanoTime();
      runner.cancel(2);
      assertEquals(Event.StatementResult.cancelled(2), await(events, 2).withExecutionMicros(0));
      assertTrue(System.nanoTime() - cancelled < TimeUnit.SECONDS.toNanos(5));

      runner.execute(3, KIND, "1 + 1");
      assertEquals(Event.StatementResult.ok(3, "{\"text/plain\":\"2\"}", false), await(events, 3).withExecutionMicros(0));
    }
  }

  private static Event.StatementResult await(List<Event> events, int statementId) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (System.nanoTime() < deadline) {
      for (Event event : events) {
        if (event instanceof Event.StatementResult result && result.statementId() == statementId) {
          return result;
        }
      }
      Thread.sleep(10);
    }
    throw new AssertionError("no result for statement " + statementId + ": " + events);
  }

  /** Runs {@code code} on another thread (in {@code jobGroup}, if any) and interrupts it after a while. */
  private static ExecuteResult interruptAfter(long millis, String code, String jobGroup) throws Exception {
    CompletableFuture<Thread> thread = new CompletableFuture<>();
    CompletableFuture<ExecuteResult> result = CompletableFuture.supplyAsync(() -> {
      thread.complete(Thread.currentThread());
      if (jobGroup != null) {
        spark.sparkContext().setJobGroup(jobGroup, "cancelled by the test", true);
      }
      try {
        return run(code);
      } finally {
        spark.sparkContext().clearJobGroup();
        Thread.interrupted();
      }
    });
    Thread statementThread = thread.get(5, TimeUnit.SECONDS);
    Thread.sleep(millis);
    assertFalse(result.isDone(), "the statement ended before the interrupt");
    long interrupted = System.nanoTime();
    statementThread.interrupt();
    ExecuteResult outcome = result.get(10, TimeUnit.SECONDS);
    long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - interrupted);
    assertTrue(tookMillis < 5_000, "took " + tookMillis + " ms to return after the interrupt");
    return outcome;
  }

  @Test
  void launchFollowsSparksPythonPrecedenceAndSparkHome() {
    SparkConf conf = new SparkConf(false);
    Map<String, String> env = Map.of("PYSPARK_PYTHON", "/env/python", "PYSPARK_DRIVER_PYTHON", "/env/driver-python");
    assertEquals(List.of("/env/driver-python", "/env/python"), pythons(PythonLaunch.resolve(conf, env)));
    conf.set("spark.pyspark.python", "/conf/python");
    assertEquals(List.of("/conf/python", "/conf/python"), pythons(PythonLaunch.resolve(conf, env)));
    conf.set("spark.pyspark.driver.python", "/conf/driver-python");
    assertEquals(List.of("/conf/driver-python", "/conf/python"), pythons(PythonLaunch.resolve(conf, env)));
    assertEquals(List.of("python3", "python3"), pythons(PythonLaunch.resolve(new SparkConf(false), Map.of())));

    PythonLaunch withHome = PythonLaunch.resolve(new SparkConf(false),
        Map.of("SPARK_HOME", SPARK_HOME.toString(), "PYTHONPATH", "/user/lib"));
    assertEquals(List.of(SPARK_HOME.resolve("python").toString(),
        SPARK_HOME.resolve("python/lib/py4j-0.10.9.9-src.zip").toString(), "/user/lib"), withHome.pythonPath());
    assertEquals(List.of(), PythonLaunch.resolve(new SparkConf(false), Map.of("SPARK_HOME", "/nonexistent")).pythonPath());
    // The running REPL got them too.
    assertEquals("True", text(run("import sys\n" + pythonString(SPARK_HOME.resolve("python").toString()) + " in sys.path")));
  }

  private static List<String> pythons(PythonLaunch launch) {
    return List.of(launch.driverPython(), launch.workerPython());
  }

  private static String pythonString(String s) {
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }

  @Test
  void startFailuresSayWhyAndLeaveTheDriverRunning(@TempDir Path dir) throws Exception {
    Path script = dir.resolve("sparkgate_repl.py");
    try (InputStream in = PythonInterpreter.class.getResourceAsStream(PythonInterpreter.SCRIPT_RESOURCE)) {
      Files.copy(in, script);
    }
    PythonEntryPoint entryPoint = new PythonEntryPoint(spark);
    Duration timeout = Duration.ofSeconds(60);
    IOException missing = assertThrows(IOException.class, () -> PythonProcess.start(
        new PythonLaunch("/nonexistent/python3", "/nonexistent/python3", List.of(), System.getenv()),
        script, entryPoint, CapturedOutput.DEFAULT_LIMIT_BYTES, timeout));
    assertTrue(missing.getMessage().startsWith("cannot run /nonexistent/python3: "), missing.getMessage());

    Path broken = dir.resolve("broken");
    Files.createDirectories(broken.resolve("pyspark"));
    Files.writeString(broken.resolve("pyspark").resolve("__init__.py"), "raise ImportError('this pyspark is broken')\n");
    IOException attach = assertThrows(IOException.class, () -> PythonProcess.start(
        new PythonLaunch(PYTHON.toString(), PYTHON.toString(), List.of(broken.toString()), System.getenv()),
        script, entryPoint, CapturedOutput.DEFAULT_LIMIT_BYTES, timeout));
    assertTrue(attach.getMessage().startsWith("pyspark could not attach to the driver: ImportError: this pyspark is broken\n"
        + "Traceback (most recent call last):"), attach.getMessage());

    assertFalse(spark.sparkContext().isStopped());
    assertEquals("2", text(run("1 + 1")));
  }

  @Test
  void rstripIsPythons() {
    assertEquals("a \tb", PythonInterpreter.stripTrailingPythonWhitespace("a \tb \n\r\t\u00a0\u0085\u2003"));
    assertEquals("", PythonInterpreter.stripTrailingPythonWhitespace(" \n"));
  }
}
