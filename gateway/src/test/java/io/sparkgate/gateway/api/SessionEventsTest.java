package io.sparkgate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.testing.FakeAgents;
import io.sparkgate.gateway.testing.GatewayTestBase;
import io.sparkgate.gateway.testing.SseReader;
import io.sparkgate.gateway.testing.SseReader.Frame;
import io.sparkgate.proto.Event;
import io.vertx.core.http.HttpClient;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The session event log as the REST API and SSE show it, with the agent played by
 * {@link FakeAgents} (so that output, progress and results come exactly when the test says): event
 * types and data, order, resume with Last-Event-ID and from, reset past the window, the end of a
 * statement's stream, keep-alives, bad input.
 */
class SessionEventsTest extends GatewayTestBase {

  private HttpClient http;

  @Override
  protected Map<String, String> settings() {
    return Map.of(
        "sparkgate.stream.log-events", "40",
        "sparkgate.stream.keep-alive", "200ms",
        "sparkgate.statement.max-wait", "2s");
  }

  @BeforeAll
  void client() {
    http = vertx.createHttpClient();
    // Loads the client's classes (on an event loop, but in the test's client, not the gateway).
    SseReader.open(http, gateway.port(), "/sessions/999/events").close();
    forgetWarmUp();
  }

  @AfterAll
  void closeClient() {
    await(http.close());
  }

  private FakeAgents.Link readySession() {
    int id = createSession("{\"kind\":\"pyspark\"}");
    FakeAgents.Link link = agents.link(id);
    link.connect();
    link.emit(new Event.Ready("local-" + id, ""));
    awaitState(id, "idle");
    return link;
  }

  private int submit(int session, String code) {
    Response r = post("/sessions/" + session + "/statements", new JsonObject().put("code", code).encode());
    assertEquals(201, r.status(), r.body());
    return r.json().getInteger("id");
  }

  private SseReader sse(String path, Map<String, String> headers) {
    SseReader r = SseReader.open(http, gateway.port(), path, headers).ignoring("log");
    assertEquals(200, r.status(), path);
    assertTrue(r.headers().get("Content-Type").startsWith("text/event-stream"), r.headers().get("Content-Type"));
    return r;
  }

  private static List<String> types(List<Frame> frames) {
    return frames.stream().map(Frame::event).toList();
  }

  /** Runs statement {@code sid} through the fake agent: started, two outputs, progress, result. */
  private static void run(FakeAgents.Link link, int sid) {
    link.emit(new Event.StatementStarted(sid));
    link.emit(new Event.StatementOutput(sid, Event.Stream.STDOUT, "line 1\n"));
    link.emit(new Event.StatementProgress(sid, 1, 2));
    link.emit(new Event.StatementOutput(sid, Event.Stream.STDERR, "a warning\n"));
    link.emit(Event.StatementResult.ok(sid, "{\"text/plain\":\"line 1\\na warning\\n\"}", false));
  }

  @Test
  void aStatementsChangesArriveInOrderWithTheRestJsonOfEachMoment() {
    FakeAgents.Link link = readySession();
    int id = link.sessionId;
    try (SseReader events = sse("/sessions/" + id + "/events", Map.of())) {
      // The stream starts with what the window holds: the session's own history.
      List<Frame> history = events.until(f -> f.event().equals("session") && f.json().getString("state").equals("idle"),
          Duration.ofSeconds(20));
      assertTrue(types(history).contains("session"), types(history).toString());
      JsonObject idle = history.get(history.size() - 1).json();
      assertEquals(get("/sessions/" + id).json().getString("appId"), idle.getString("appId"));
      assertEquals(id, idle.getInteger("id"));

      int sid = submit(id, "print('line 1')");
      Frame submitted = events.next();
      assertEquals("statement", submitted.event());
      assertEquals("waiting", submitted.json().getString("state"));
      assertEquals("busy", events.next().json().getString("state"));
      run(link, sid);
      List<Frame> rest = events.until(f -> f.event().equals("session") && f.json().getString("state").equals("idle"),
          Duration.ofSeconds(20));
      assertEquals(List.of("statement", "output", "statement", "output", "statement", "session"), types(rest));
      assertEquals("running", rest.get(0).json().getString("state"));
      assertEquals(new JsonObject().put("statement", sid).put("stream", "stdout").put("text", "line 1\n"),
          rest.get(1).json());
      assertEquals(0.5, rest.get(2).json().getDouble("progress"));
      assertEquals(new JsonObject().put("statement", sid).put("stream", "stderr").put("text", "a warning\n"),
          rest.get(3).json());
      // The terminal event is the statement exactly as GET answers it now, byte for byte.
      assertEquals(get("/sessions/" + id + "/statements/" + sid).body(), rest.get(4).data());

      // Ids are per session, strictly increasing by one.
      List<Frame> all = new ArrayList<>(history);
      all.add(submitted);
      all.addAll(rest);
      for (int i = 1; i < all.size(); i++) {
        if (i == history.size() + 1) {
          continue; // the busy event was read without keeping it
        }
        assertTrue(all.get(i).id() > all.get(i - 1).id(), "ids " + all);
      }
    }
  }

  @Test
  void aStatementsStreamEndsAfterItsLastEventAndSaysNoMoreWhenAskedAgain() {
    FakeAgents.Link link = readySession();
    int id = link.sessionId;
    int sid = submit(id, "x");
    String path = "/sessions/" + id + "/statements/" + sid + "/events";
    long lastId;
    try (SseReader events = sse(path, Map.of())) {
      run(link, sid);
      List<Frame> frames = events.rest(Duration.ofSeconds(20));
      assertEquals(List.of("statement", "statement", "output", "statement", "output", "statement"), types(frames));
      assertEquals("waiting", frames.get(0).json().getString("state"));
      assertEquals("available", frames.get(5).json().getString("state"));
      lastId = frames.get(5).id();
    }
    // Opened later, it replays the whole statement from the window, then ends.
    try (SseReader again = sse(path, Map.of())) {
      assertEquals(6, again.rest(Duration.ofSeconds(20)).size());
    }
    // Resumed after its last event there is nothing more: 204 stops a browser's EventSource.
    SseReader done = SseReader.open(http, gateway.port(), path, Map.of("Last-Event-ID", Long.toString(lastId)));
    assertEquals(204, done.status());
  }

  @Test
  void aSessionStreamOpenedOnAHistoryOfFinishedStatementsGoesOnLive() {
    FakeAgents.Link link = readySession();
    int id = link.sessionId;
    int first = submit(id, "x");
    run(link, first);
    awaitState(id, "idle");
    // The window now holds a finished statement; a new client gets it, then what happens next.
    try (SseReader events = sse("/sessions/" + id + "/events", Map.of())) {
      List<Frame> history = events.until(f -> f.event().equals("statement")
          && f.json().getInteger("id") == first && f.json().getString("state").equals("available"),
          Duration.ofSeconds(20));
      assertEquals("statement", history.get(history.size() - 1).event());
      int second = submit(id, "y");
      List<Frame> live = events.until(f -> f.event().equals("statement") && f.json().getInteger("id") == second,
          Duration.ofSeconds(20));
      assertEquals("waiting", live.get(live.size() - 1).json().getString("state"));
      run(link, second);
      events.until(f -> f.event().equals("statement") && f.json().getInteger("id") == second
          && f.json().getString("state").equals("available"), Duration.ofSeconds(20));
    }
  }

  @Test
  void aClientThatReconnectsWithLastEventIdGetsEveryEventExactlyOnce() {
    FakeAgents.Link link = readySession();
    int id = link.sessionId;
    int sid = submit(id, "x");
    String path = "/sessions/" + id + "/statements/" + sid + "/events";
    List<Frame> seen = new ArrayList<>();
    try (SseReader first = sse(path, Map.of())) {
      link.emit(new Event.StatementStarted(sid));
      link.emit(new Event.StatementOutput(sid, Event.Stream.STDOUT, "one\n"));
      seen.addAll(first.until(f -> f.event().equals("output"), Duration.ofSeconds(20)));
    }
    // While nobody listens:
    link.emit(new Event.StatementOutput(sid, Event.Stream.STDOUT, "two\n"));
    link.emit(new Event.StatementOutput(sid, Event.Stream.STDOUT, "three\n"));
    String last = Long.toString(seen.get(seen.size() - 1).id());
    try (SseReader second = sse(path, Map.of("Last-Event-ID", last))) {
      link.emit(Event.StatementResult.ok(sid, "{\"text/plain\":\"one\\ntwo\\nthree\\n\"}", false));
      seen.addAll(second.rest(Duration.ofSeconds(20)));
    }
    assertEquals(List.of("statement", "statement", "output", "output", "output", "statement"), types(seen));
    assertEquals(List.of("one\n", "two\n", "three\n"), seen.stream().filter(f -> f.event().equals("output"))
        .map(f -> f.json().getString("text")).toList());
    for (int i = 1; i < seen.size(); i++) {
      assertTrue(seen.get(i).id() > seen.get(i - 1).id(), "ids " + seen);
    }
    // ?from= does the same for clients that cannot set the header.
    try (SseReader byQuery = sse(path + "?from=" + last, Map.of())) {
      assertEquals(seen.subList(3, 6), byQuery.rest(Duration.ofSeconds(20)));
    }
  }

  @Test
  void anIdOlderThanTheWindowGetsAResetNamingTheOldestKept() {
    FakeAgents.Link link = readySession();
    int id = link.sessionId;
    int sid = submit(id, "x");
    link.emit(new Event.StatementStarted(sid));
    for (int i = 0; i < 60; i++) { // more than the 40 events kept
      link.emit(new Event.StatementOutput(sid, Event.Stream.STDOUT, "line " + i + "\n"));
    }
    try (SseReader events = sse("/sessions/" + id + "/events?from=1", Map.of())) {
      Frame reset = events.next();
      assertEquals("reset", reset.event());
      assertNull(reset.id());
      long oldest = reset.json().getLong("oldest");
      assertTrue(oldest > 2, reset.data());
      Frame first = events.next();
      assertEquals(oldest, first.id());
      assertEquals("output", first.event());
    }
    // The statement's own stream has lost its first events too.
    try (SseReader events = sse("/sessions/" + id + "/statements/" + sid + "/events", Map.of())) {
      assertEquals("reset", events.next().event());
      assertEquals("output", events.next().event());
    }
    link.emit(Event.StatementResult.ok(sid, "{}", false));
  }

  @Test
  void aSessionStreamOpenedAfterAStatementEndedStillGetsLiveEvents() {
    FakeAgents.Link link = readySession();
    int id = link.sessionId;
    int first = submit(id, "x");
    run(link, first);
    awaitState(id, "idle");
    // Its window now holds a statement's last event; from the start, and after a reset.
    for (String from : List.of("", "?from=999999")) {
      try (SseReader events = sse("/sessions/" + id + "/events" + from, Map.of())) {
        events.until(f -> f.event().equals("statement") && f.json().getString("state").equals("available"),
            Duration.ofSeconds(20));
        int next = submit(id, "y");
        Frame live = events.until(f -> f.event().equals("statement") && f.json().getInteger("id") == next,
            Duration.ofSeconds(20)).stream().reduce((a, b) -> b).orElseThrow();
        assertEquals("waiting", live.json().getString("state"));
        run(link, next);
        awaitState(id, "idle");
      }
    }
  }

  @Test
  void anIdleStreamGetsKeepAliveComments() {
    FakeAgents.Link link = readySession();
    try (SseReader events = sse("/sessions/" + link.sessionId + "/events?from=1000000", Map.of())) {
      // from past the newest: a reset, then silence but for keep-alives.
      assertEquals("reset", events.next().event());
      awaitTrue("two keep-alive comments", () -> events.comments() >= 2);
    }
  }

  @Test
  void badStreamRequestsAreAnswered4xx() {
    FakeAgents.Link link = readySession();
    int id = link.sessionId;
    assertEquals(404, get("/sessions/999/events").status());
    assertEquals(404, get("/sessions/" + id + "/statements/7/events").status());
    Response bad = get("/sessions/" + id + "/events?from=-3");
    assertEquals(400, bad.status());
    assertTrue(bad.msg().contains("from"), bad.body());
    assertEquals(400, get("/sessions/" + id + "/events?from=abc").status());
    SseReader header = SseReader.open(http, gateway.port(), "/sessions/" + id + "/events",
        Map.of("Last-Event-ID", "x1"));
    assertEquals(400, header.status());
    assertEquals(400, get("/sessions/" + id + "/ws").status()); // not a WebSocket handshake
  }

  // --- Long-poll ------------------------------------------------------------------------------

  @Test
  void aLongPollAnswersWhenTheStatementEnds() throws Exception {
    FakeAgents.Link link = readySession();
    int id = link.sessionId;
    int sid = submit(id, "x");
    var pending = client.get(gateway.port(), "127.0.0.1", "/sessions/" + id + "/statements/" + sid + "?wait=30")
        .timeout(20_000).send();
    link.emit(new Event.StatementStarted(sid));
    Thread.sleep(100);
    assertTrue(!pending.isComplete(), "answered before the statement ended");
    link.emit(Event.StatementResult.ok(sid, "{\"text/plain\":\"done\"}", false));
    var answer = await(pending);
    assertEquals(200, answer.statusCode());
    assertEquals("available", answer.bodyAsJsonObject().getString("state"));
    assertEquals(get("/sessions/" + id + "/statements/" + sid).body(), answer.bodyAsString());
  }

  @Test
  void aLongPollAnswersTheCurrentStateWhenTheWaitIsOverAndTheWaitIsCapped() {
    FakeAgents.Link link = readySession();
    int id = link.sessionId;
    int sid = submit(id, "x");
    link.emit(new Event.StatementStarted(sid));
    long t0 = System.nanoTime();
    Response r = get("/sessions/" + id + "/statements/" + sid + "?wait=0.3");
    assertEquals(200, r.status());
    assertEquals("running", r.json().getString("state"));
    assertTrue(System.nanoTime() - t0 >= 250_000_000L, "answered before the wait was over");
    // 3600 s is cut to the configured 2 s.
    Response capped = get("/sessions/" + id + "/statements/" + sid + "?wait=3600");
    assertEquals("running", capped.json().getString("state"));
    // Without wait, nothing changes: at once.
    assertEquals("running", get("/sessions/" + id + "/statements/" + sid).json().getString("state"));
    for (String bad : List.of("-1", "soon", "NaN", "1e400")) {
      Response b = get("/sessions/" + id + "/statements/" + sid + "?wait=" + bad);
      assertEquals(400, b.status(), bad);
      assertTrue(b.msg().startsWith("wait must be"), b.body());
    }
    link.emit(Event.StatementResult.ok(sid, "{}", false));
    // A finished statement answers at once, whatever the wait.
    assertEquals("available", get("/sessions/" + id + "/statements/" + sid + "?wait=30").json().getString("state"));
  }
}
