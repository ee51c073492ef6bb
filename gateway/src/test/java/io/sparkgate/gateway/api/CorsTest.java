package io.sparkgate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.testing.FakeAgents;
import io.sparkgate.gateway.testing.GatewayTestBase;
import io.sparkgate.proto.Event;
import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.ext.web.client.HttpResponse;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * CORS with sparkgate.server.cors.allowed-origins set, checked header by header with the Vert.x web
 * client: preflights, the REST API and SSE for an allowed origin and for another, and the
 * WebSocket handshake's Origin check. (A browser's EventSource from another origin is tested with
 * headless Chromium by the ops tests.)
 */
class CorsTest extends GatewayTestBase {

  private static final String ALLOWED = "https://notebooks.example.com";
  private static final String OTHER = "https://evil.example.net";

  @Override
  protected Map<String, String> settings() {
    return Map.of("sparkgate.server.cors.allowed-origins", " " + ALLOWED + " , http://localhost:8888");
  }

  private WebSocketClient sockets;

  @org.junit.jupiter.api.BeforeAll
  void warmSockets() throws Exception {
    sockets = vertx.createWebSocketClient();
    // A first socket loads both ends' WebSocket classes: a cold JVM's start, not a blocking call.
    int id = readySession();
    sockets.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(gateway.port())
        .setURI("/sessions/" + id + "/ws")).compose(ws -> ws.close())
        .toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    forgetWarmUp();
  }

  @org.junit.jupiter.api.AfterAll
  void closeSockets() {
    await(sockets.close());
  }

  private HttpResponse<Buffer> send(HttpMethod method, String path, Map<String, String> headers) {
    var req = client.request(method, gateway.port(), "127.0.0.1", path).timeout(10_000);
    headers.forEach(req::putHeader);
    return await(req.send());
  }

  private int readySession() {
    int id = createSession("{\"kind\":\"sql\"}");
    FakeAgents.Link link = agents.link(id);
    link.connect();
    link.emit(new Event.Ready("local-" + id, ""));
    awaitState(id, "idle");
    return id;
  }

  @Test
  void aPreflightFromAnAllowedOriginIsAnsweredWithCredentials() {
    MultiMap h = send(HttpMethod.OPTIONS, "/sessions/0/statements", Map.of("Origin", ALLOWED,
        "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type, authorization"))
        .headers();
    assertEquals(ALLOWED, h.get("Access-Control-Allow-Origin"));
    assertEquals("true", h.get("Access-Control-Allow-Credentials"));
    assertTrue(h.get("Access-Control-Allow-Methods").contains("POST"));
    assertTrue(h.get("Access-Control-Allow-Headers").toLowerCase().contains("authorization"));
    assertTrue(h.get("Vary").contains("Origin"));
    HttpResponse<Buffer> other = send(HttpMethod.OPTIONS, "/sessions", Map.of("Origin", OTHER,
        "Access-Control-Request-Method", "POST"));
    assertEquals(403, other.statusCode());
    assertNull(other.getHeader("Access-Control-Allow-Origin"));
  }

  @Test
  void restAndSseAnswersCarryTheHeadersForAnAllowedOriginOnly() {
    int id = readySession();
    HttpResponse<Buffer> allowed = send(HttpMethod.GET, "/sessions/" + id, Map.of("Origin", ALLOWED));
    assertEquals(200, allowed.statusCode());
    assertEquals(ALLOWED, allowed.getHeader("Access-Control-Allow-Origin"));
    assertEquals("true", allowed.getHeader("Access-Control-Allow-Credentials"));
    assertTrue(allowed.getHeader("Access-Control-Expose-Headers").contains("Location"));
    // Another port of localhost is another origin; the listed one is allowed.
    assertEquals("http://localhost:8888", send(HttpMethod.GET, "/sessions", Map.of("Origin", "http://localhost:8888"))
        .getHeader("Access-Control-Allow-Origin"));

    HttpResponse<Buffer> other = send(HttpMethod.GET, "/sessions/" + id, Map.of("Origin", OTHER));
    assertEquals(200, other.statusCode()); // served, but the browser keeps it from the page
    assertNull(other.getHeader("Access-Control-Allow-Origin"));
    assertNull(other.getHeader("Access-Control-Allow-Credentials"));
    assertNull(send(HttpMethod.GET, "/sessions/" + id, Map.of()).getHeader("Access-Control-Allow-Origin"));
    // Errors too, so that a page can read why.
    assertEquals(ALLOWED, send(HttpMethod.GET, "/sessions/424242", Map.of("Origin", ALLOWED))
        .getHeader("Access-Control-Allow-Origin"));

    // An event stream, ended at once by asking for a finished statement's stream past its end.
    post("/sessions/" + id + "/statements", "{\"code\":\"select 1\"}");
    agents.link(id).emit(Event.StatementResult.ok(0, "{}", false));
    HttpResponse<Buffer> sse = send(HttpMethod.GET, "/sessions/" + id + "/statements/0/events",
        Map.of("Origin", ALLOWED, "Accept", "text/event-stream"));
    assertEquals(200, sse.statusCode());
    assertTrue(sse.getHeader("Content-Type").startsWith("text/event-stream"));
    assertEquals(ALLOWED, sse.getHeader("Access-Control-Allow-Origin"));
    assertTrue(sse.bodyAsString().contains("event: statement"));
    HttpResponse<Buffer> sseOther = send(HttpMethod.GET, "/sessions/" + id + "/statements/0/events",
        Map.of("Origin", OTHER));
    assertNull(sseOther.getHeader("Access-Control-Allow-Origin"));
  }

  @Test
  void aWebSocketHandshakeFromAnotherOriginIsRefused() throws Exception {
    int id = readySession();
    {
      WebSocketConnectOptions o = new WebSocketConnectOptions().setHost("127.0.0.1").setPort(gateway.port())
          .setURI("/sessions/" + id + "/ws");
      var refused = sockets.connect(new WebSocketConnectOptions(o).addHeader("Origin", OTHER));
      try {
        refused.toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        throw new AssertionError("a socket from " + OTHER + " was accepted");
      } catch (java.util.concurrent.ExecutionException e) {
        assertTrue(e.getCause().getMessage().contains("403"), e.getCause().toString());
      }
      sockets.connect(new WebSocketConnectOptions(o).addHeader("Origin", ALLOWED))
          .compose(ws -> ws.close()).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      // Without Origin (not a browser): accepted.
      sockets.connect(o).compose(ws -> ws.close()).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }
  }
}
