package io.sparkgate.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgate.agent.interp.ExecuteResult;
import io.sparkgate.agent.interp.InterpreterRegistry;
import io.sparkgate.agent.interp.SqlInterpreter;
import io.sparkgate.agent.interp.TestSpark;
import io.sparkgate.agent.interp.CapturedOutput;
import io.sparkgate.proto.Event;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The runner with the real Scala and SQL interpreters on a real local SparkSession. */
class StatementRunnerTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final AtomicInteger IDS = new AtomicInteger();

  private static TestSpark spark;
  private static InterpreterRegistry interpreters;

  private final EventLog events = new EventLog();
  private StatementRunner runner;

  @BeforeAll
  static void startSpark() throws Exception {
    spark = TestSpark.start("StatementRunnerTest");
    interpreters = new InterpreterRegistry()
        .registerStarted(spark.scala)
        .register(SqlInterpreter.KIND, () -> new SqlInterpreter(spark.spark));
  }

  @AfterAll
  static void stopSpark() {
    if (spark != null) {
      spark.close();
    }
  }

  @AfterEach
  void stopRunner() {
    if (runner != null) {
      runner.close();
    }
  }

  private void startRunner(StatementRunner.Settings settings) {
    runner = new StatementRunner(spark.spark.sparkContext(), interpreters, events, settings);
    runner.start();
  }

  private void startRunner() {
    startRunner(StatementRunner.Settings.defaults());
  }

  private int execute(String kind, String code) {
    int id = IDS.incrementAndGet();
    runner.execute(id, kind, code);
    return id;
  }

  private static JsonNode data(Event.StatementResult result) throws Exception {
    assertEquals(Event.Status.OK, result.status(), () -> "expected OK: " + result);
    return JSON.readTree(result.dataJson());
  }

  private static String textPlain(Event.StatementResult result) throws Exception {
    return data(result).get(ExecuteResult.TEXT_PLAIN).asText();
  }

  @Test
  void runsAStatementAndReportsItsResult() throws Exception {
    startRunner();
    int id = execute("spark", "sc.parallelize(1 to 100000).map(_ * 2).sum");
    Event.StatementResult result = events.result(id);
    assertTrue(textPlain(result).matches("val res\\d+: Double = 1\\.00001E10\n"), result.dataJson());
    assertFalse(result.truncated());
    assertTrue(result.executionMicros() > 0, "execution time measured");
    List<Event> mine = events.of(id);
    assertEquals(new Event.StatementStarted(id), mine.get(0));
    assertEquals(result, mine.get(mine.size() - 1));
  }

  @Test
  void streamsWhatAStatementPrintsThenTheResultLine() throws Exception {
    startRunner();
    int id = execute("spark", "println(\"hello\"); System.err.println(\"oops\"); Thread.sleep(200); 6 * 7");
    Event.StatementResult result = events.result(id);
    assertTrue(textPlain(result).matches("hello\noops\nval res\\d+: Int = 42\n"), result.dataJson());
    assertTrue(events.streamed(id, Event.Stream.STDOUT).matches("hello\nval res\\d+: Int = 42\n"));
    assertEquals("oops\n", events.streamed(id, Event.Stream.STDERR));
    assertTrue(events.indexOf(Event.StatementOutput.class, id) < events.indexOf(Event.StatementResult.class, id));
  }

  @Test
  void runsStatementsStrictlyInOrder() throws Exception {
    startRunner();
    int first = execute("spark", "val order = new java.util.concurrent.ConcurrentLinkedQueue[Int](); Thread.sleep(300); order.add(1)");
    int second = execute("spark", "order.add(2)");
    int third = execute("spark", "order.add(3); order.toArray.mkString(\",\")");
    assertTrue(textPlain(events.result(third)).matches("(?s).*val res\\d+: String = 1,2,3\n"));
    assertTrue(events.indexOf(Event.StatementResult.class, first) < events.indexOf(Event.StatementStarted.class, second));
    assertTrue(events.indexOf(Event.StatementResult.class, second) < events.indexOf(Event.StatementStarted.class, third));
  }

  @Test
  void reportsTaskProgressOfTheStatementsJobs() throws Exception {
    startRunner();
    int id = execute("spark", "sc.parallelize(1 to 8, 8).map { i => Thread.sleep(400); i }.count()");
    events.result(id);
    List<Event.StatementProgress> progress = new ArrayList<>();
    for (Event event : events.of(id)) {
      if (event instanceof Event.StatementProgress p) {
        progress.add(p);
      }
    }
    assertFalse(progress.isEmpty(), events.of(id).toString());
    assertTrue(progress.stream().allMatch(p -> p.totalTasks() == 8), progress.toString());
    assertTrue(progress.stream().anyMatch(p -> p.completedTasks() > 0 && p.completedTasks() < 8), progress.toString());
    for (int i = 1; i < progress.size(); i++) {
      assertTrue(progress.get(i).completedTasks() > progress.get(i - 1).completedTasks(), progress.toString());
    }
  }

  @Test
  void cancelsARunningSparkJob() throws Exception {
    startRunner();
    int id = execute("spark", "sc.parallelize(1 to 10, 10).map { i => Thread.sleep(60000); i }.count()");
    events.await(Event.StatementProgress.class, p -> p.statementId() == id, Duration.ofSeconds(60));
    long cancelled = System.nanoTime();
    runner.cancel(id);
    Event.StatementResult result = events.result(id);
    assertEquals(Event.Status.CANCELLED, result.status());
    assertTrue(Duration.ofNanos(System.nanoTime() - cancelled).toSeconds() < 5, "cancel took too long");
    int next = execute("spark", "1 + 1");
    assertTrue(textPlain(events.result(next)).matches("val res\\d+: Int = 2\n"));
  }

  @Test
  void cancelsAQueuedStatementWithoutRunningIt() throws Exception {
    startRunner();
    int running = execute("spark", "Thread.sleep(1500); 1");
    int queued = execute("spark", "println(\"must not run\"); 2");
    runner.cancel(queued);
    assertEquals(Event.StatementResult.cancelled(queued), events.result(queued));
    assertEquals(List.of(Event.StatementResult.cancelled(queued)), events.of(queued));
    assertEquals(Event.Status.OK, events.result(running).status());
    assertTrue(events.indexOf(Event.StatementResult.class, queued) < events.indexOf(Event.StatementResult.class, running),
        "the queued statement's cancel does not wait for the running one");
  }

  @Test
  void capsOutputAndMarksTheCut() throws Exception {
    startRunner(StatementRunner.Settings.defaults().withOutputLimitBytes(1000));
    int id = execute("spark", "(1 to 300).foreach(i => println(\"line \" + i))");
    StringBuilder printed = new StringBuilder();
    for (int i = 1; i <= 300; i++) {
      printed.append("line ").append(i).append('\n');
    }
    String mark = "\n[output truncated: " + (printed.length() - 1000) + " bytes over the 1000-byte limit]";
    Event.StatementResult result = events.result(id);
    assertTrue(result.truncated());
    assertEquals(printed.substring(0, 1000) + mark, textPlain(result));
    assertEquals(printed.substring(0, 1000), events.streamed(id, Event.Stream.STDOUT));
    assertEquals(mark, events.streamed(id, Event.Stream.STDERR));
  }

  @Test
  void anUnknownKindIsAnError() throws Exception {
    startRunner();
    int id = execute("pyspark", "1 + 1");
    Event.StatementResult result = events.result(id);
    assertEquals(Event.Status.ERROR, result.status());
    assertEquals("InterpreterError", result.ename());
    assertTrue(result.evalue().contains("'pyspark'"), result.evalue());
  }

  @Test
  void sqlSeesATempViewCreatedFromScala() throws Exception {
    startRunner();
    int view = execute("spark", "spark.range(3).createOrReplaceTempView(\"t\")");
    int query = execute("sql", "select id from t");
    assertEquals(Event.Status.OK, events.result(view).status());
    JsonNode data = data(events.result(query));
    assertEquals(JSON.readTree("""
        {"schema": {"type": "struct", "fields": [{"name": "id", "type": "long", "nullable": false, "metadata": {}}]},
         "data": [[0], [1], [2]]}"""), data.get(ExecuteResult.APPLICATION_JSON));
    assertEquals("+---+\n| id|\n+---+\n|  0|\n|  1|\n|  2|\n+---+\n", data.get(ExecuteResult.TEXT_PLAIN).asText());
  }

  @Test
  void sqlErrorsHaveLivysShape() throws Exception {
    startRunner();
    Event.StatementResult result = events.result(execute("sql", "select * from no_such_table"));
    assertEquals(Event.Status.ERROR, result.status());
    assertEquals("Error", result.ename());
    assertTrue(result.evalue().contains("TABLE_OR_VIEW_NOT_FOUND"), result.evalue());
    assertFalse(result.traceback().isEmpty());
  }

  @Test
  void sqlReturnsAtMostMaxRowsAndSaysSo() {
    SqlInterpreter sql = new SqlInterpreter(spark.spark, 2, CapturedOutput.DEFAULT_LIMIT_BYTES);
    ExecuteResult.Ok ok = assertInstanceOf(ExecuteResult.Ok.class,
        sql.execute("select id, cast(id as string) as name from range(5)", new CapturedOutput(1024)));
    JsonNode json = (JsonNode) ok.data().get(ExecuteResult.APPLICATION_JSON);
    assertEquals("[[0,\"0\"],[1,\"1\"]]", json.get("data").toString());
    assertEquals("+---+----+\n| id|name|\n+---+----+\n|  0|   0|\n|  1|   1|\n+---+----+\nonly showing top 2 rows\n",
        ok.data().get(ExecuteResult.TEXT_PLAIN));
    assertFalse(ok.truncated());
  }

  @Test
  void completesFromAnotherThreadEvenWhileAStatementRuns() throws Exception {
    startRunner();
    String release = "sparkgate.test.completion.release";
    // Runs until the test has its answer: "while the statement runs" does not depend on speed.
    int busy = execute("spark", "println(\"running\"); while (System.getProperty(\"" + release + "\") == null) Thread.sleep(20); 1");
    // Its output shows it is past compilation: the statement's code is running.
    events.await(Event.StatementOutput.class, o -> o.statementId() == busy && o.text().contains("running"), Duration.ofSeconds(60));
    runner.complete(7, "spark", "spark.ran", "spark.ran".length());
    Event.Completion completion = events.await(Event.Completion.class, c -> c.requestId() == 7, Duration.ofSeconds(30));
    assertTrue(completion.candidates().contains("range"), completion.candidates().toString());
    assertEquals(-1, events.indexOf(Event.StatementResult.class, busy), "answered while the statement still ran");
    System.setProperty(release, "done");
    events.result(busy);
    runner.complete(8, "sql", "sel", 3);
    assertEquals(List.of(), events.await(Event.Completion.class, c -> c.requestId() == 8, Duration.ofSeconds(30)).candidates());
  }
}
