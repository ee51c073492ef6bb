package io.sparkgate.gateway.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sparkgate.gateway.Gateway;
import io.sparkgate.gateway.GatewayConfig;
import io.sparkgate.gateway.testing.FakeAgents;
import io.sparkgate.gateway.testing.GatewayTestBase;
import io.sparkgate.proto.Event;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /metrics} as Prometheus scrapes it: the gateway's meters move as sessions start,
 * statements end (ok, error, cancelled, aborted by a dying session), agents reconnect and clients
 * send bad requests; Vert.x's HTTP server meters and the JVM's share the registry. Agents are played
 * by {@link FakeAgents}, so each outcome and the driver's reported time can be produced on demand.
 */
class MetricsTest extends GatewayTestBase {

  private final PrometheusMeterRegistry registry = GatewayMetrics.newRegistry();

  @Override
  protected Vertx createVertx() {
    return GatewayMetrics.configure(Vertx.builder(), strictOptions(), registry).build();
  }

  @Override
  protected Future<Gateway> startGateway(GatewayConfig config) {
    // A worker task and a scrape once before the blocked-thread guard is armed: with metrics on,
    // the first of each loads Micrometer's classes (start-up, not a blocking call).
    return Gateway.start(vertx, config, agents, 45_999, vertx.getOrCreateContext(), new GatewayMetrics(registry))
        .compose(g -> vertx.executeBlocking(() -> g.metrics().scrape(), false).map(g));
  }

  @Override
  protected void warmUp() {
    scrape();
    get("/nothing");
    int id = createSession("{\"kind\":\"sql\"}");
    openAndCloseEvents(id);
    delete("/sessions/" + id);
  }

  /** Opens session {@code id}'s SSE stream, runs {@code whileOpen}, and closes it. */
  private void openAndCloseEvents(int id, Runnable... whileOpen) {
    io.vertx.core.http.HttpClient http = vertx.createHttpClient();
    try {
      io.vertx.core.http.HttpClientResponse events = await(http.request(io.vertx.core.http.HttpMethod.GET,
          gateway.port(), "127.0.0.1", "/sessions/" + id + "/events").compose(r -> r.send()));
      assertEquals(200, events.statusCode());
      events.exceptionHandler(e -> { }); // The close below ends the stream: expected.
      for (Runnable r : whileOpen) {
        r.run();
      }
      events.request().connection().close();
    } finally {
      await(http.close());
    }
  }

  @Override
  protected Map<String, String> settings() {
    return Map.of("sparkgate.agent.reconnect-grace", "60s");
  }

  private String scrape() {
    Response r = get("/metrics");
    assertEquals(200, r.status(), r.body());
    assertTrue(r.headers().get("content-type").startsWith("text/plain; version=0.0.4"), r.headers().toString());
    return r.body();
  }

  /** The value of the sample {@code name{labels}} (labels in Prometheus' order), or 0 when absent. */
  private static double value(String text, String name, String labels) {
    String series = labels.isEmpty() ? name : name + "{" + labels + "}";
    Matcher m = Pattern.compile("(?m)^" + Pattern.quote(series) + " (\\S+)$").matcher(text);
    return m.find() ? Double.parseDouble(m.group(1)) : 0.0;
  }

  private FakeAgents.Link readySession(String kind) {
    int id = createSession("{\"kind\":\"" + kind + "\"}");
    FakeAgents.Link link = agents.link(id);
    link.connect();
    link.emit(new Event.Ready("local-" + id, ""));
    awaitState(id, "idle");
    return link;
  }

  private void run(FakeAgents.Link link, int statement, Event.StatementResult result) {
    assertEquals(201, post("/sessions/" + link.sessionId + "/statements", "{\"code\":\"x\"}").status());
    link.emit(new Event.StatementStarted(statement));
    link.emit(result);
  }

  @Test
  void countsMoveAsStatementsEndAndSessionsChange() {
    String before = scrape();
    FakeAgents.Link link = readySession("pyspark");
    int id = link.sessionId;

    run(link, 0, Event.StatementResult.ok(0, "{\"text/plain\":\"2\"}", false).withExecutionMicros(250_000));
    run(link, 1, Event.StatementResult.error(1, "NameError", "x", List.of()).withExecutionMicros(1_000));
    assertEquals(201, post("/sessions/" + id + "/statements", "{\"code\":\"y\"}").status());
    assertEquals(200, post("/sessions/" + id + "/statements/2/cancel", "").status());
    assertEquals(201, post("/sessions/" + id + "/statements", "{\"code\":\"z\"}").status());
    link.emit(new Event.StatementStarted(3));
    link.disconnect();
    link.connect();

    String after = scrape();
    String py = "kind=\"pyspark\",";
    assertEquals(1, value(after, "sparkgate_statements_total", py + "outcome=\"ok\"")
        - value(before, "sparkgate_statements_total", py + "outcome=\"ok\""), after);
    assertEquals(1, value(after, "sparkgate_statements_total", py + "outcome=\"error\"")
        - value(before, "sparkgate_statements_total", py + "outcome=\"error\""));
    assertEquals(1, value(after, "sparkgate_statements_total", py + "outcome=\"cancelled\"")
        - value(before, "sparkgate_statements_total", py + "outcome=\"cancelled\""));
    // Driver time: the two that ran, one in the 0.5 s bucket and both by 1 s; their sum.
    assertEquals(2, value(after, "sparkgate_statement_driver_time_seconds_count", "kind=\"pyspark\"")
        - value(before, "sparkgate_statement_driver_time_seconds_count", "kind=\"pyspark\""));
    assertEquals(1, value(after, "sparkgate_statement_driver_time_seconds_bucket", py + "le=\"0.1\"")
        - value(before, "sparkgate_statement_driver_time_seconds_bucket", py + "le=\"0.1\""));
    assertEquals(2, value(after, "sparkgate_statement_driver_time_seconds_bucket", py + "le=\"0.5\"")
        - value(before, "sparkgate_statement_driver_time_seconds_bucket", py + "le=\"0.5\""));
    assertEquals(2, value(after, "sparkgate_statement_gateway_time_seconds_count", "kind=\"pyspark\"")
        - value(before, "sparkgate_statement_gateway_time_seconds_count", "kind=\"pyspark\""));
    assertTrue(value(after, "sparkgate_session_start_time_seconds_count", "kind=\"pyspark\"") >= 1, after);
    // The session is busy with statement 3; its agent dialed back once.
    assertTrue(value(after, "sparkgate_sessions", py + "state=\"busy\"") >= 1, after);
    assertEquals(1, value(after, "sparkgate_agent_connects_total", "type=\"reconnect\"")
        - value(before, "sparkgate_agent_connects_total", "type=\"reconnect\""));
    assertEquals(1, value(after, "sparkgate_agent_connects_total", "type=\"first\"")
        - value(before, "sparkgate_agent_connects_total", "type=\"first\""));
    assertTrue(value(after, "sparkgate_agent_connections", "") >= 1, after);

    // Deleting the session lists it no more; once its driver is gone, statement 3 was aborted.
    assertEquals(200, delete("/sessions/" + id).status());
    double aborted = value(before, "sparkgate_statements_total", py + "outcome=\"aborted\"");
    String deleted = awaitValue("statement 3 to be counted as aborted", this::scrape,
        t -> value(t, "sparkgate_statements_total", py + "outcome=\"aborted\"") == aborted + 1);
    assertEquals(value(before, "sparkgate_sessions", py + "state=\"busy\""),
        value(deleted, "sparkgate_sessions", py + "state=\"busy\""));
  }

  @Test
  void streamSubscribersAreCountedWhileOpen() {
    FakeAgents.Link link = readySession("spark");
    double before = value(scrape(), "sparkgate_stream_subscribers", "transport=\"sse\"");
    openAndCloseEvents(link.sessionId, () -> awaitTrue("the SSE subscriber to be counted",
        () -> value(scrape(), "sparkgate_stream_subscribers", "transport=\"sse\"") == before + 1));
    awaitTrue("the closed SSE subscriber to be counted no more",
        () -> value(scrape(), "sparkgate_stream_subscribers", "transport=\"sse\"") == before);
    assertEquals(0, value(scrape(), "sparkgate_stream_subscribers", "transport=\"websocket\""));
  }

  @Test
  void refusedRequestsByReasonAndHttpServerMeters() {
    String before = scrape();
    assertEquals(404, get("/sessions/12345").status());
    assertEquals(404, get("/no/such/path").status());
    assertEquals(400, post("/sessions", "{\"kind\": \"cobol\"}").status());
    assertEquals(405, request(io.vertx.core.http.HttpMethod.PUT, "/sessions", null, null).status());
    String after = scrape();
    assertEquals(2, value(after, "sparkgate_http_refused_total", "reason=\"not_found\"")
        - value(before, "sparkgate_http_refused_total", "reason=\"not_found\""), after);
    assertEquals(1, value(after, "sparkgate_http_refused_total", "reason=\"bad_request\"")
        - value(before, "sparkgate_http_refused_total", "reason=\"bad_request\""));
    assertEquals(1, value(after, "sparkgate_http_refused_total", "reason=\"method_not_allowed\"")
        - value(before, "sparkgate_http_refused_total", "reason=\"method_not_allowed\""));
    // Vert.x's server meters: by route template, never by raw path.
    assertTrue(after.contains("vertx_http_server_requests_total{code=\"404\""), after);
    assertTrue(after.contains("route=\"/sessions/:id\""), after);
    assertTrue(!after.contains("/sessions/12345"), "a raw path became a label");
    // The JVM's and the process's.
    assertTrue(value(after, "jvm_threads_live_threads", "") > 0, after);
    assertTrue(after.contains("process_cpu_usage "), after);
    assertTrue(after.contains("process_uptime_seconds "), after);
  }
}
