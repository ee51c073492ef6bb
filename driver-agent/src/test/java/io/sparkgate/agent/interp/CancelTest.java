package io.sparkgate.agent.interp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgate.agent.EventLog;
import io.sparkgate.agent.StatementRunner;
import io.sparkgate.proto.Event;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A cancel always ends its statement: busy loops that ignore the interrupt, through the statement
 * runner with the real Scala and Python interpreters (a local[2] SparkSession in this JVM, the
 * provisioned Python). The assertions follow the JVM the test runs on: up to Java 19 a Scala thread
 * can be stopped and the session goes on; from Java 20 it cannot, and the runner gives up (the
 * agent then exits). Run on Java 17 by the build, and on Java 25 with
 * {@code mvn -pl driver-agent -am test -Dtest=CancelTest -Djvm=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java}.
 *
 * <p>Each busy loop ends by itself once the test sets a system property, so that a thread the
 * runner had to give up on does not spin for the rest of the test run.
 */
class CancelTest {
  /** When the thread is stopped (the process killed). */
  private static final Duration GRACE = Duration.ofSeconds(2);
  /**
   * When the runner gives up: generous, since a stopped Scala statement still unwinds through the
   * REPL, which on a loaded machine takes seconds.
   */
  private static final Duration GIVE_UP = Duration.ofSeconds(30);
  private static final Duration ENDED_WITHIN = GIVE_UP.plusSeconds(60);
  private static final AtomicInteger IDS = new AtomicInteger();
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final boolean THREAD_STOP = Runtime.version().feature() < 20;

  private static TestSpark spark;
  private static InterpreterRegistry interpreters;

  private final EventLog events = new EventLog();
  private final List<String> gaveUp = new CopyOnWriteArrayList<>();
  private StatementRunner runner;

  @BeforeAll
  static void startInterpreters() throws Exception {
    spark = TestSpark.start("CancelTest");
    interpreters = spark.registryWithPython();
  }

  @AfterAll
  static void stopInterpreters() {
    if (interpreters != null) {
      interpreters.close();
    }
    if (spark != null) {
      spark.close();
    }
  }

  @BeforeEach
  void startRunner() {
    runner = new StatementRunner(spark.spark.sparkContext(), interpreters, events,
        new StatementRunner.Settings(1000, CapturedOutput.DEFAULT_LIMIT_BYTES, Duration.ofMillis(50), 64 * 1024,
            Duration.ofMillis(100), GRACE, GIVE_UP), gaveUp::add);
    runner.start();
  }

  @AfterEach
  void stopRunner() {
    runner.close();
  }

  private int execute(String kind, String code) {
    int id = IDS.incrementAndGet();
    runner.execute(id, kind, code);
    return id;
  }

  /** Starts {@code code}, waits until it runs, cancels it: returns its result and the time to it. */
  private Event.StatementResult cancelRunning(String kind, String code, String runningMark) throws Exception {
    int id = execute(kind, code);
    events.await(Event.StatementOutput.class, o -> o.statementId() == id && o.text().contains(runningMark), Duration.ofSeconds(60));
    runner.cancel(id);
    return events.await(Event.StatementResult.class, r -> r.statementId() == id, ENDED_WITHIN);
  }

  /** The runner tells of its giving up just after it sent the statement's result. */
  private void awaitGaveUp() throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (gaveUp.isEmpty() && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
  }

  private String textOf(int id) throws Exception {
    Event.StatementResult result = events.result(id);
    assertEquals(Event.Status.OK, result.status(), result::toString);
    return JSON.readTree(result.dataJson()).path(ExecuteResult.TEXT_PLAIN).asText();
  }

  @Test
  void aScalaBusyLoopIsEndedWithinTheGrace() throws Exception {
    String property = "sparkgate.test.release." + IDS.get();
    Event.StatementResult result = cancelRunning("spark", """
        {
          println("spinning")
          var n = 0L
          while (System.getProperty("%s") == null) { n += 1 }
        }""".formatted(property), "spinning");
    assertEquals(Event.Status.CANCELLED, result.status());
    if (THREAD_STOP) {
      assertEquals(List.of(), gaveUp, "the thread was stopped; no need to give up");
      assertTrue(textOf(execute("spark", "21 * 2")).matches("val res\\d+: Int = 42\n"), "the session goes on");
    } else {
      awaitGaveUp();
      assertEquals(1, gaveUp.size(), gaveUp::toString);
      assertTrue(gaveUp.get(0).contains("cannot stop a thread on Java " + Runtime.version().feature())
          && gaveUp.get(0).contains("the driver exits"), gaveUp.get(0));
      System.setProperty(property, "done"); // the agent would exit here; the test frees the thread
    }
    System.setProperty(property, "done");
  }

  @Test
  void aScalaLoopThatSurvivesItsStopMakesTheRunnerGiveUp() throws Exception {
    String property = "sparkgate.test.release." + IDS.get();
    Event.StatementResult result = cancelRunning("spark", """
        {
          println("stubborn")
          var n = 0L
          def spin(): Unit = try { while (System.getProperty("%1$s") == null) { n += 1 } } catch { case _: Throwable => spin() }
          spin()
        }""".formatted(property), "stubborn");
    assertEquals(Event.Status.CANCELLED, result.status(), "never left cancelling");
    awaitGaveUp();
    assertEquals(1, gaveUp.size(), gaveUp::toString);
    assertTrue(gaveUp.get(0).contains("ignored its cancel for " + GIVE_UP.toSeconds() + " s"), gaveUp.get(0));
    System.setProperty(property, "done");
    assertTrue(textOf(execute("spark", "21 * 2")).matches("val res\\d+: Int = 42\n"), "the runner goes on once the thread ends");
  }

  @Test
  void aPythonBusyLoopHasItsProcessKilledAndTheNextStatementIsToldItsVariablesAreGone() throws Exception {
    assertEquals("", textOf(execute(PythonInterpreter.KIND, "kept = 'before the cancel'")));
    Event.StatementResult result = cancelRunning(PythonInterpreter.KIND, """
        print('spinning', flush=True)
        while True:
            try:
                while True:
                    pass
            except KeyboardInterrupt:
                pass""", "spinning");
    assertEquals(Event.Status.CANCELLED, result.status());
    assertEquals(List.of(), gaveUp, "killing the process ended it");
    Event.StatementResult after = events.result(execute(PythonInterpreter.KIND, "kept"));
    assertEquals("NameError", after.ename(), after::toString);
    assertEquals("2", textOf(execute(PythonInterpreter.KIND, "1 + 1")));
  }

  @Test
  void aPythonProcessThatDiesBetweenStatementsIsReportedNotSilentlyReplaced() throws Exception {
    assertEquals("", textOf(execute(PythonInterpreter.KIND, "import os\nkept = os.getpid()")));
    long pid = Long.parseLong(textOf(execute(PythonInterpreter.KIND, "kept")));
    ProcessHandle.of(pid).orElseThrow().destroyForcibly();
    ProcessHandle.of(pid).ifPresent(p -> p.onExit().join());

    Event.StatementResult told = events.result(execute(PythonInterpreter.KIND, "kept"));
    assertEquals(Event.Status.ERROR, told.status());
    assertTrue(told.evalue().startsWith("Interpreter died while no statement ran:\n")
        && told.evalue().endsWith("The Python interpreter's variables are gone: the next statement starts a new Python process."),
        told.evalue());
    assertEquals("2", textOf(execute(PythonInterpreter.KIND, "1 + 1")));
  }
}
