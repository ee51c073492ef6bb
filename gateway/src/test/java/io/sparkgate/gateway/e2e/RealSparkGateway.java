package io.sparkgate.gateway.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.sparkgate.gateway.Gateway;
import io.sparkgate.gateway.GatewayConfig;
import io.sparkgate.gateway.agent.AgentServer;
import io.sparkgate.gateway.testing.GatewayTestBase;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.json.JsonObject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * A whole gateway as {@code scripts/sparkgate} runs it, in the test JVM: the REST API, the real
 * {@link AgentServer} on loopback, and drivers launched by the real {@code $SPARK_HOME/bin/spark-submit}
 * with the real agent jar. Nothing is faked. Vert.x runs with the blocked-thread checker at 100 ms and
 * {@link #assertNoBlockedEventLoop()} fails a test that logged a warning.
 *
 * <p>Needs SPARK_HOME (scripts/test provisions and exports it) and the agent jar built by the
 * driver-agent module (Maven builds it first in the reactor).
 */
final class RealSparkGateway implements AutoCloseable {
  private static final Path AGENT_JAR = Path.of("..", "driver-agent", "target", "sparkgate-driver-agent.jar");

  final Vertx vertx;
  final AgentServer agentServer;
  final Gateway gateway;
  final Path stateDir;
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
  private final ListAppender<ILoggingEvent> blockedThreadWarnings;

  /** Between the agents and the agent server when asked for ({@link #RealSparkGateway(Map, boolean)}), else null. */
  final io.sparkgate.gateway.testing.LinkProxy proxy;

  RealSparkGateway(Map<String, String> overrides) throws Exception {
    this(overrides, false);
  }

  /** @param proxied agents dial a {@link io.sparkgate.gateway.testing.LinkProxy} in front of the agent server */
  RealSparkGateway(Map<String, String> overrides, boolean proxied) throws Exception {
    String sparkHome = System.getenv("SPARK_HOME");
    if (sparkHome == null || !Files.isExecutable(Path.of(sparkHome, "bin", "spark-submit"))) {
      fail("SPARK_HOME must name a Spark with bin/spark-submit; run the tests with scripts/test, which provisions one");
    }
    if (!Files.isRegularFile(AGENT_JAR)) {
      fail("the agent jar " + AGENT_JAR.toAbsolutePath() + " is missing; build with mvn install from the project root");
    }
    Map<String, String> s = new HashMap<>();
    s.put("sparkgate.server.host", "127.0.0.1");
    s.put("sparkgate.server.port", "0");
    s.put("sparkgate.server.event-loops", "2");
    s.put("sparkgate.spark.home", sparkHome);
    s.put("sparkgate.spark.master", "local[2]");
    s.put("sparkgate.agent.jar", AGENT_JAR.toAbsolutePath().normalize().toString());
    s.put("sparkgate.session.start-timeout", "240s");
    stateDir = Files.createTempDirectory("sparkgate-state");
    s.put("sparkgate.recovery.state-store.url", stateDir.toString());
    s.putAll(overrides);
    GatewayConfig config = GatewayConfig.of(s, Map.of());
    vertx = Vertx.vertx(GatewayTestBase.strictOptions());
    agentServer = new AgentServer(AgentServer.Settings.defaults());
    // Wired as GatewayMain wires it: agent connections accepted on every loop, moved to their session's.
    Context sessions = vertx.getOrCreateContext();
    int agentPort = GatewayTestBase.await(
        agentServer.start("127.0.0.1", 0, ((io.vertx.core.internal.VertxInternal) vertx).nettyEventLoopGroup()));
    proxy = proxied ? new io.sparkgate.gateway.testing.LinkProxy("127.0.0.1", agentPort) : null;
    gateway = GatewayTestBase.await(Gateway.start(vertx, config, agentServer,
        proxy != null ? proxy.port() : agentPort, sessions));
    get("/sessions");
    blockedThreadWarnings = GatewayTestBase.captureBlockedThreadWarnings();
  }

  /** A JSON answer. */
  record Answer(int status, HttpResponse<String> response) {
    JsonObject json() {
      return new JsonObject(response.body());
    }
  }

  Answer get(String path) {
    return send(HttpRequest.newBuilder(uri(path)).GET());
  }

  Answer post(String path, String json) {
    return send(HttpRequest.newBuilder(uri(path)).header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(json)));
  }

  Answer delete(String path) {
    return send(HttpRequest.newBuilder(uri(path)).DELETE());
  }

  /** POSTs a statement and returns its id, checking the 201 and the Location header. */
  int submit(int sessionId, String code) {
    Answer a = post("/sessions/" + sessionId + "/statements", new JsonObject().put("code", code).encode());
    assertEquals(201, a.status(), a.response().body());
    int id = a.json().getInteger("id");
    assertEquals("/sessions/" + sessionId + "/statements/" + id, a.response().headers().firstValue("Location").orElse(null));
    return id;
  }

  /** Polls a statement until it has ended and returns its JSON. */
  JsonObject awaitStatement(int sessionId, int statementId, Duration timeout) {
    return await("statement " + statementId + " to end", timeout,
        () -> get("/sessions/" + sessionId + "/statements/" + statementId).json(),
        s -> List.of("available", "error", "cancelled").contains(s.getString("state")));
  }

  JsonObject awaitSessionState(int sessionId, String state, Duration timeout) {
    return await("session " + sessionId + " to be " + state, timeout,
        () -> get("/sessions/" + sessionId).json(), s -> {
          String now = s.getString("state");
          if (!now.equals(state) && List.of("error", "dead", "killed").contains(now)) {
            fail("session " + sessionId + " ended " + now + ": " + s.encodePrettily());
          }
          return now.equals(state);
        });
  }

  static <T> T await(String what, Duration timeout, java.util.function.Supplier<T> poll, Predicate<T> done) {
    long deadline = System.nanoTime() + timeout.toNanos();
    T last = poll.get();
    while (!done.test(last)) {
      if (System.nanoTime() > deadline) {
        fail("timed out after " + timeout.toSeconds() + " s waiting for " + what + "; last: " + last);
      }
      try {
        Thread.sleep(50);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
      last = poll.get();
    }
    return last;
  }

  /** Forgets warnings so far: for a test class's warm-up of its own clients (class loading). */
  void forgetWarnings() {
    blockedThreadWarnings.list.clear();
  }

  void assertNoBlockedEventLoop() {
    List<ILoggingEvent> warnings = GatewayTestBase.blockingWarnings(blockedThreadWarnings);
    if (!warnings.isEmpty()) {
      fail("An event loop was blocked: " + warnings.get(0).getFormattedMessage());
    }
  }

  private Answer send(HttpRequest.Builder request) {
    try {
      HttpResponse<String> r = http.send(request.timeout(Duration.ofSeconds(30)).build(),
          HttpResponse.BodyHandlers.ofString());
      return new Answer(r.statusCode(), r);
    } catch (Exception e) {
      throw new AssertionError("request failed: " + e, e);
    }
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + gateway.port() + path);
  }

  @Override
  public void close() {
    try {
      GatewayTestBase.await(gateway.stop());
    } finally {
      if (proxy != null) {
        proxy.close();
      }
      GatewayTestBase.await(agentServer.close());
      GatewayTestBase.await(vertx.close());
      try {
        GatewayTestBase.deleteTree(stateDir);
      } catch (java.io.IOException e) {
        // A leftover temporary directory is harmless.
      }
    }
  }
}
