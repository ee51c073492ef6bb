package io.sparkgate.agent.interp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparkgate.agent.EventLog;
import io.sparkgate.agent.StatementRunner;
import io.sparkgate.proto.Event;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Live output through the statement runner, as the agent sends it to the gateway: a statement that
 * prints a line every 200 ms has its first line sent as a {@link Event.StatementOutput} while it
 * still runs, in Scala, Python and R, with real interpreters (a local[2] SparkSession, the
 * provisioned Python, the installed R's plain REPL: see {@link RInterpreterTest} for why not SparkR).
 *
 * <p>"While it still runs" is made certain rather than timed: the statement prints for 3 s and then
 * goes on printing until the test creates a gate file, which it does only after it has seen the
 * first chunk. A statement whose output were held back until it ends would never see the gate and
 * the test would time out.
 */
class LiveOutputTest {
  private static final String PLAIN_R = "plain-r";
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final AtomicInteger IDS = new AtomicInteger();
  private static final Duration FIRST_CHUNK_TIMEOUT = Duration.ofSeconds(60);

  private static TestSpark spark;
  private static InterpreterRegistry interpreters;

  private final EventLog events = new EventLog();
  private StatementRunner runner;
  @TempDir
  Path dir;

  @BeforeAll
  static void startInterpreters() throws Exception {
    spark = TestSpark.start("LiveOutputTest");
    interpreters = spark.registryWithPython()
        .register(PLAIN_R, () -> RInterpreter.plainReplForTests(CapturedOutput.DEFAULT_LIMIT_BYTES, System.getenv()));
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
    runner = new StatementRunner(spark.spark.sparkContext(), interpreters, events);
    runner.start();
  }

  @AfterEach
  void stopRunner() {
    runner.close();
  }

  @Test
  void pythonStreamsEachLineWhileTheStatementRuns() throws Exception {
    Path gate = dir.resolve("gate");
    assertStreamedLive(PythonInterpreter.KIND, """
        import os, time
        i = 0
        started = time.monotonic()
        while time.monotonic() - started < 3 or not os.path.exists(%s):
            print('line', i)
            i += 1
            time.sleep(0.2)
        print('done')""".formatted(JSON.writeValueAsString(gate.toString())), gate, "line ");
  }

  @Test
  void rStreamsEachLineWhileTheStatementRuns() throws Exception {
    Path gate = dir.resolve("gate");
    assertStreamedLive(PLAIN_R, """
        i <- 0
        started <- Sys.time()
        while (as.numeric(Sys.time() - started, units = 'secs') < 3 || !file.exists(%s)) {
          cat('line', i, '\\n')
          i <- i + 1
          Sys.sleep(0.2)
        }
        cat('done\\n')""".formatted(JSON.writeValueAsString(gate.toString())), gate, "line ");
  }

  @Test
  void scalaStreamsEachLineWhileTheStatementRuns() throws Exception {
    Path gate = dir.resolve("gate");
    assertStreamedLive("spark", """
        {
          val gate = java.nio.file.Paths.get(%s)
          val started = System.nanoTime()
          var i = 0
          while (System.nanoTime() - started < 3000000000L || !java.nio.file.Files.exists(gate)) {
            println("line " + i)
            i += 1
            Thread.sleep(200)
          }
          println("done")
        }""".formatted(JSON.writeValueAsString(gate.toString())), gate, "line ");
  }

  @Test
  void aTightPrintLoopIsCoalescedIntoFewChunksAndArrivesWhole() throws Exception {
    // 20,000 writes of a few bytes each: sent as a few chunks, not one frame per write.
    for (String[] kindAndCode : new String[][] {
        {PythonInterpreter.KIND, "for i in range(20000):\n    print(i)"},
        {PLAIN_R, "for (i in 0:19999) cat(i, '\\n', sep = '')"},
        {"spark", "for (i <- 0 until 20000) println(i)"}}) {
      int id = IDS.incrementAndGet();
      runner.execute(id, kindAndCode[0], kindAndCode[1]);
      Event.StatementResult result = events.result(id);
      assertEquals(Event.Status.OK, result.status(), result::toString);
      String expected = IntStream.range(0, 20000).mapToObj(i -> i + "\n").collect(Collectors.joining());
      assertEquals(expected, events.streamed(id, Event.Stream.STDOUT), kindAndCode[0]);
      long chunks = events.of(id).stream().filter(Event.StatementOutput.class::isInstance).count();
      assertTrue(chunks < 500, kindAndCode[0] + ": " + chunks + " output events for 20,000 prints");
    }
  }

  /**
   * Runs {@code code} (printing lines starting with {@code linePrefix} until {@code gate} exists,
   * then {@code done}): its first chunk arrives before its result; after the gate, the statement
   * completes with every line, streamed and in {@code text/plain}.
   */
  private void assertStreamedLive(String kind, String code, Path gate, String linePrefix) throws Exception {
    int id = IDS.incrementAndGet();
    runner.execute(id, kind, code);
    Event.StatementOutput first = events.await(Event.StatementOutput.class, o -> o.statementId() == id, FIRST_CHUNK_TIMEOUT);
    assertTrue(first.text().startsWith(linePrefix + "0"), first.text());
    assertEquals(-1, events.indexOf(Event.StatementResult.class, id), "the statement cannot end before the gate exists");
    Files.createFile(gate);
    Event.StatementResult result = events.result(id);
    assertEquals(Event.Status.OK, result.status(), result::toString);
    String streamed = events.streamed(id, Event.Stream.STDOUT);
    assertTrue(streamed.endsWith("done\n"), streamed);
    long lines = streamed.lines().filter(l -> l.startsWith(linePrefix)).count();
    assertTrue(lines >= 15, "3 s at one line per 200 ms: " + streamed);
    String text = JSON.readTree(result.dataJson()).path(ExecuteResult.TEXT_PLAIN).asText();
    assertEquals(streamed.strip(), text.strip(), "text/plain repeats the streamed lines");
  }
}
