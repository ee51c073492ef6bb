package io.sparkgate.gateway.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.sparkgate.gateway.GatewayMain;
import io.sparkgate.gateway.testing.GatewayTestBase;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * A gateway killed with {@code kill -9} while a Python statement prints, and started again: the
 * sessions come back, their drivers dial back, and the statement completes with every line of its
 * output once. The gateway runs as {@code scripts/sparkgate} runs it, {@link GatewayMain} in a JVM of
 * its own (so it can be killed), with real drivers through spark-submit, and recovery on with the
 * default file store. One pyspark and one Scala driver for the whole class.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GatewayRestartEndToEndTest {
  private static final Path AGENT_JAR = Path.of("..", "driver-agent", "target", "sparkgate-driver-agent.jar");
  private static final Duration START = Duration.ofSeconds(600); // two drivers at once on a loaded 2-core machine
  private static final Duration RUN = Duration.ofSeconds(180);
  /** Prints 100 numbered lines over 10 s. */
  private static final String PRINTS_FOR_TEN_SECONDS =
      "import sys, time\nfor i in range(100):\n    print('line %d' % i)\n    sys.stdout.flush()\n    time.sleep(0.1)";

  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private Path workDir;
  private int port;
  private Process gateway;
  private int generation;
  /** Every process a gateway started (spark-submit, drivers), killed at the end if still alive. */
  private final List<ProcessHandle> started = new ArrayList<>();
  private int python;
  private int scala;

  @BeforeAll
  void startGatewayAndSessions() throws Exception {
    String sparkHome = System.getenv("SPARK_HOME");
    if (sparkHome == null || !Files.isExecutable(Path.of(sparkHome, "bin", "spark-submit"))) {
      fail("SPARK_HOME must name a Spark with bin/spark-submit; run the tests with scripts/test");
    }
    // Under target/: the gateways' logs stay there for a failure's post-mortem.
    Files.createDirectories(Path.of("target"));
    workDir = Files.createTempDirectory(Path.of("target"), "restart-e2e-");
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    gateway = startGateway();
    python = createSession("{\"kind\": \"pyspark\", \"conf\": {\"spark.ui.enabled\": \"false\"}}");
    scala = createSession("{\"kind\": \"spark\", \"conf\": {\"spark.ui.enabled\": \"false\"}}");
    awaitState(python, "idle", START);
    awaitState(scala, "idle", START);
  }

  @AfterAll
  void stopEverything() throws Exception {
    try {
      if (gateway != null && gateway.isAlive()) {
        for (int id : List.of(python, scala)) {
          send(HttpRequest.newBuilder(uri("/sessions/" + id)).DELETE());
        }
        gateway.destroy(); // SIGTERM: a clean stop ends what is left
        gateway.waitFor(60, java.util.concurrent.TimeUnit.SECONDS);
      }
    } finally {
      for (ProcessHandle p : started) {
        p.destroyForcibly();
      }
      if (gateway != null) {
        gateway.destroyForcibly();
      }
      GatewayTestBase.deleteTree(workDir.resolve("state"));
    }
  }

  @Test
  @Order(1)
  void aStatementRunningWhenTheGatewayIsKilledCompletesWithAllItsOutput() throws Exception {
    // Something to find again after the restart: a Scala value, and a Python statement that ended.
    assertEquals("ok", run(scala, "val answer = 21").getString("status"));
    JsonObject before = run(python, "print('before the crash')");
    int statement = submit(python, PRINTS_FOR_TEN_SECONDS);
    await("the statement to print", Duration.ofSeconds(60), () -> statement(python, statement),
        s -> s.getString("state").equals("running"));
    Thread.sleep(2_000); // a few lines out, most still to come

    killGateway();
    gateway = startGateway();

    // Listed at once, as it was or recovering while its driver dials back.
    JsonObject session = get("/sessions/" + python);
    assertTrue(List.of("recovering", "busy", "idle").contains(session.getString("state")), session.encode());
    assertEquals("pyspark", session.getString("kind"));
    JsonObject ended = await("the statement to end", RUN, () -> statement(python, statement),
        s -> List.of("available", "error", "cancelled").contains(s.getString("state")));
    assertEquals("available", ended.getString("state"), ended.encode());
    String expected = IntStream.range(0, 100).mapToObj(i -> "line " + i).collect(Collectors.joining("\n"));
    assertEquals(expected, ended.getJsonObject("output").getJsonObject("data").getString("text/plain").strip(),
        "every line once, in order");
    assertEquals(1.0, ended.getDouble("progress"));
    awaitState(python, "idle", RUN);
    // What ended before the crash is still there, the same.
    assertEquals(before.encode(), statement(python, 0).getJsonObject("output").encode());
    // The session goes on; statement ids continue.
    int next = submit(python, "print(6 * 7)");
    assertEquals(statement + 1, next);
    JsonObject after = await("the next statement", RUN, () -> statement(python, next),
        s -> s.getString("state").equals("available"));
    assertEquals("42", after.getJsonObject("output").getJsonObject("data").getString("text/plain").strip());
  }

  @Test
  @Order(2)
  void anIdleScalaSessionComesBackWithItsInterpreterState() throws Exception {
    awaitState(scala, "idle", RUN);
    JsonObject out = run(scala, "answer * 2");
    assertTrue(out.getJsonObject("data").getString("text/plain").contains("= 42"), out.encode());
  }

  // --- The gateway process ----------------------------------------------------------------------

  private Process startGateway() throws Exception {
    generation++;
    Path log = workDir.resolve("gateway-" + generation + ".out");
    ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx256m", "-cp", System.getProperty("java.class.path"), GatewayMain.class.getName());
    Map<String, String> env = pb.environment();
    env.remove("SPARKGATE_CONF_DIR");
    env.put("SPARKGATE_SERVER_HOST", "127.0.0.1");
    env.put("SPARKGATE_SERVER_PORT", Integer.toString(port));
    env.put("SPARKGATE_SERVER_EVENT_LOOPS", "2");
    env.put("SPARKGATE_SPARK_MASTER", "local[2]");
    env.put("SPARKGATE_AGENT_JAR", AGENT_JAR.toAbsolutePath().normalize().toString());
    env.put("SPARKGATE_SESSION_START_TIMEOUT", "600s");
    env.put("SPARKGATE_RECOVERY_STATE_STORE_URL", workDir.resolve("state").toString());
    pb.redirectErrorStream(true).redirectOutput(log.toFile());
    Process p = pb.start();
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (System.nanoTime() < deadline) {
      if (!p.isAlive()) {
        fail("the gateway exited at start: " + Files.readString(log));
      }
      try {
        if (http.send(HttpRequest.newBuilder(uri("/version")).timeout(Duration.ofSeconds(5)).build(),
            HttpResponse.BodyHandlers.ofString()).statusCode() == 200) {
          return p;
        }
      } catch (IOException e) {
        // not up yet
      }
      Thread.sleep(200);
    }
    p.destroyForcibly();
    fail("the gateway did not answer within 90 s: " + Files.readString(log));
    return null;
  }

  private void killGateway() throws InterruptedException {
    gateway.descendants().forEach(started::add);
    gateway.destroyForcibly(); // SIGKILL: no shutdown hook, nothing flushed
    gateway.waitFor();
  }

  // --- Requests ---------------------------------------------------------------------------------

  private int createSession(String body) {
    HttpResponse<String> r = send(HttpRequest.newBuilder(uri("/sessions")).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body)));
    assertEquals(201, r.statusCode(), r.body());
    return new JsonObject(r.body()).getInteger("id");
  }

  private int submit(int session, String code) {
    HttpResponse<String> r = send(HttpRequest.newBuilder(uri("/sessions/" + session + "/statements"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(new JsonObject().put("code", code).encode())));
    assertEquals(201, r.statusCode(), r.body());
    return new JsonObject(r.body()).getInteger("id");
  }

  /** Runs {@code code} to its end and returns its output, checking it ran. */
  private JsonObject run(int session, String code) {
    int id = submit(session, code);
    JsonObject s = await("statement " + id, RUN, () -> statement(session, id),
        st -> List.of("available", "error", "cancelled").contains(st.getString("state")));
    assertEquals("available", s.getString("state"), s.encode());
    return s.getJsonObject("output");
  }

  private JsonObject statement(int session, int id) {
    return get("/sessions/" + session + "/statements/" + id);
  }

  private void awaitState(int session, String state, Duration timeout) {
    await("session " + session + " to be " + state, timeout, () -> get("/sessions/" + session), s -> {
      String now = s.getString("state");
      if (List.of("error", "dead", "killed").contains(now)) {
        fail("session " + session + " ended " + now + ": " + s.encode() + "\n" + get("/sessions/" + session + "/log"));
      }
      return now.equals(state);
    });
  }

  private JsonObject get(String path) {
    HttpResponse<String> r = send(HttpRequest.newBuilder(uri(path)).GET());
    assertEquals(200, r.statusCode(), path + ": " + r.body());
    return new JsonObject(r.body());
  }

  private static <T> T await(String what, Duration timeout, Supplier<T> poll, Predicate<T> done) {
    return RealSparkGateway.await(what, timeout, poll, done);
  }

  private HttpResponse<String> send(HttpRequest.Builder request) {
    try {
      return http.send(request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (Exception e) {
      throw new AssertionError("request failed: " + e, e);
    }
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + port + path);
  }
}
