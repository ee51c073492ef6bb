package io.sparkgate.gateway.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.sparkgate.gateway.testing.SseReader;
import io.sparkgate.gateway.testing.SseReader.Frame;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The push streams through a real driver, with Vert.x clients: live output while a Scala and a
 * Python statement run, resume after a dropped connection, the WebSocket's submit, stream and cancel, and the
 * long-poll. One driver for the class.
 */
class StreamsEndToEndTest extends EndToEndTestBase {

  /** Prints a line every 200 ms for 3 s. */
  private static final String TICKER = "for (i <- 1 to 15) { println(s\"tick $i\"); Thread.sleep(200) }";

  private int session;
  private HttpClient http;
  private WebSocketClient sockets;

  @BeforeAll
  void startSession() {
    session = createSession("{\"kind\": \"spark\", \"conf\": {\"spark.ui.enabled\": \"false\"}}").getInteger("id");
    http = gw.vertx.createHttpClient();
    sockets = gw.vertx.createWebSocketClient();
    gw.awaitSessionState(session, "idle", START);
    data(session, null, "1 + 1"); // The compiler's first statement is slow; later ones are not.
    // The clients' first use loads their classes on an event loop (theirs, not the gateway's).
    SseReader.open(http, gw.gateway.port(), "/sessions/" + session + "/events?from=1").close();
    try {
      sockets.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(gw.gateway.port())
          .setURI("/sessions/" + session + "/ws")).compose(WebSocket::close)
          .toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    gw.forgetWarnings();
  }

  @AfterAll
  void closeClients() {
    if (http != null) {
      http.close();
      sockets.close();
    }
  }

  private SseReader statementEvents(int statement, Map<String, String> headers) {
    SseReader r = SseReader.open(http, gw.gateway.port(), "/sessions/" + session + "/statements/" + statement
        + "/events", headers);
    assertEquals(200, r.status());
    return r;
  }

  private static boolean isFinal(Frame f) {
    return f.event().equals("statement")
        && List.of("available", "error", "cancelled").contains(f.json().getString("state"));
  }

  @Test
  void aScalaStatementsOutputArrivesWhileItRuns() {
    int id = gw.submit(session, TICKER);
    try (SseReader events = statementEvents(id, Map.of())) {
      List<Frame> before = events.until(f -> f.event().equals("output") || isFinal(f), RUN.dividedBy(2));
      Frame firstOutput = before.get(before.size() - 1);
      assertEquals("output", firstOutput.event(), "the statement ended before any output came: " + firstOutput);
      assertTrue(firstOutput.json().getString("text").startsWith("tick 1"), firstOutput.data());
      // At the moment its first line arrived, the statement was still running.
      assertEquals("running", gw.get("/sessions/" + session + "/statements/" + id).json().getString("state"));
      List<Frame> rest = events.rest(RUN);
      assertTrue(isFinal(rest.get(rest.size() - 1)));
      StringBuilder streamed = new StringBuilder(firstOutput.json().getString("text"));
      rest.stream().filter(f -> f.event().equals("output")).forEach(f -> streamed.append(f.json().getString("text")));
      JsonObject done = rest.get(rest.size() - 1).json();
      assertEquals("available", done.getString("state"));
      // The pieces add up to the statement's final output.
      assertEquals(done.getJsonObject("output").getJsonObject("data").getString("text/plain"), streamed.toString());
    }
  }

  @Test
  void aPythonStatementsOutputArrivesWhileItRuns() {
    String code = "import time\nfor i in range(1, 16):\n    print(f'tick {i}')\n    time.sleep(0.2)\n";
    RealSparkGateway.Answer a = gw.post("/sessions/" + session + "/statements",
        new JsonObject().put("code", code).put("kind", "pyspark").encode());
    assertEquals(201, a.status(), a.response().body());
    int id = a.json().getInteger("id");
    try (SseReader events = statementEvents(id, Map.of())) {
      List<Frame> before = events.until(f -> f.event().equals("output") || isFinal(f), RUN);
      Frame firstOutput = before.get(before.size() - 1);
      assertEquals("output", firstOutput.event(), "the statement ended before any output came: " + before);
      assertTrue(firstOutput.json().getString("text").startsWith("tick 1"), firstOutput.data());
      assertEquals("running", gw.get("/sessions/" + session + "/statements/" + id).json().getString("state"));
      List<Frame> rest = events.rest(RUN);
      JsonObject done = rest.get(rest.size() - 1).json();
      assertEquals("available", done.getString("state"), done.encode());
    }
  }

  @Test
  void aClientThatDropsMidStatementResumesAndGetsEveryEventOnce() {
    int id = gw.submit(session, TICKER);
    List<Frame> seen = new ArrayList<>();
    try (SseReader first = statementEvents(id, Map.of())) {
      // Up to the third line, then the connection drops.
      int[] outputs = {0};
      seen.addAll(first.until(f -> f.event().equals("output") && ++outputs[0] == 3, RUN));
    }
    long last = seen.get(seen.size() - 1).id();
    try (SseReader second = statementEvents(id, Map.of("Last-Event-ID", Long.toString(last)))) {
      seen.addAll(second.rest(RUN));
    }
    assertTrue(isFinal(seen.get(seen.size() - 1)));
    // Read again whole, after the fact: the same events, each once, in order.
    try (SseReader whole = statementEvents(id, Map.of())) {
      assertEquals(whole.rest(RUN), seen);
    }
    List<Long> ids = seen.stream().map(Frame::id).toList();
    assertEquals(ids.stream().distinct().sorted().toList(), ids);
  }

  @Test
  void theWebSocketSubmitsStreamsAndCancels() throws Exception {
    BlockingQueue<JsonObject> messages = new LinkedBlockingQueue<>();
    WebSocket ws = sockets.connect(new WebSocketConnectOptions().setHost("127.0.0.1").setPort(gw.gateway.port())
            .setURI("/sessions/" + session + "/ws?from=999999999"))
        .map(w -> w.textMessageHandler(t -> messages.add(new JsonObject(t))))
        .toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    try {
      assertEquals("reset", next(messages).getString("event")); // from an id this session never had
      ws.writeTextMessage(new JsonObject().put("op", "submit").put("ref", "long-one")
          .put("code", "for (i <- 1 to 600) { println(i); Thread.sleep(100) }").encode());
      JsonObject answer = until(messages, m -> "long-one".equals(m.getString("ref")));
      int sid = answer.getJsonObject("data").getInteger("id");
      JsonObject output = until(messages, m -> "output".equals(m.getString("event")));
      assertEquals(sid, output.getJsonObject("data").getInteger("statement"));
      ws.writeTextMessage("{\"op\":\"cancel\",\"statement\":" + sid + "}");
      JsonObject cancelled = until(messages, m -> "statement".equals(m.getString("event"))
          && "cancelled".equals(m.getJsonObject("data").getString("state")));
      assertEquals(sid, cancelled.getJsonObject("data").getInteger("id"));
      assertEquals("cancelled", gw.get("/sessions/" + session + "/statements/" + sid).json().getString("state"));
    } finally {
      ws.close();
    }
  }

  @Test
  void aLongPollAnswersWhenTheStatementEnds() {
    int id = gw.submit(session, "Thread.sleep(1500); 42");
    JsonObject st = gw.get("/sessions/" + session + "/statements/" + id + "?wait=60").json();
    // One request, answered when it ended (60 s is far beyond the statement's time).
    assertEquals("available", st.getString("state"), st.encode());
    assertTrue(st.getJsonObject("output").getJsonObject("data").getString("text/plain").contains("42"));
  }

  /** The last messages read, for the failure message. */
  private static final java.util.Deque<String> lastSeen = new java.util.ArrayDeque<>();

  private static JsonObject next(BlockingQueue<JsonObject> q) throws InterruptedException {
    while (true) {
      JsonObject m = q.poll(RUN.toSeconds(), TimeUnit.SECONDS);
      if (m == null) {
        fail("no WebSocket message within " + RUN + "; the last ones: " + lastSeen);
      }
      lastSeen.addLast(m.encode().length() > 300 ? m.encode().substring(0, 300) : m.encode());
      if (lastSeen.size() > 8) {
        lastSeen.removeFirst();
      }
      if (!"log".equals(m.getString("event"))) {
        return m;
      }
    }
  }

  private static JsonObject until(BlockingQueue<JsonObject> q, java.util.function.Predicate<JsonObject> p)
      throws InterruptedException {
    while (true) {
      JsonObject m = next(q);
      assertFalse("error".equals(m.getString("event")), m.encode());
      if (p.test(m)) {
        return m;
      }
    }
  }
}
