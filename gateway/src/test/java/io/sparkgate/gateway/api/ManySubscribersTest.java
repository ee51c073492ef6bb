package io.sparkgate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.session.InteractiveSession;
import io.sparkgate.gateway.testing.FakeAgents;
import io.sparkgate.gateway.testing.GatewayTestBase;
import io.sparkgate.gateway.testing.SseReader;
import io.sparkgate.gateway.testing.SseReader.Frame;
import io.sparkgate.proto.Event;
import io.vertx.core.Promise;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Back-pressure with many subscribers: 1,000 SSE clients on one session each get every event of a
 * statement, while one client that stopped reading is cut off with the id to resume from, and
 * resumes from it. The agent is played by {@link FakeAgents}: the test needs to produce a volume of
 * output on demand, which a real driver would only give slowly.
 */
class ManySubscribersTest extends GatewayTestBase {

  private static final int SUBSCRIBERS = 1000;

  private HttpClient http;
  private HttpClient slowHttp;
  private io.vertx.core.Vertx clientVertx;

  /**
   * A thousand streams and megabytes written to a stalled socket: on a 2-core machine shared with
   * other builds a single socket write (writev) was seen to take 100-200 ms. A blocking call would
   * still show: the limit is 500 ms.
   */
  @Override
  protected io.vertx.core.Vertx createVertx() {
    return io.vertx.core.Vertx.vertx(strictOptions().setMaxEventLoopExecuteTime(500));
  }

  @Override
  protected Map<String, String> settings() {
    return Map.of(
        "sparkgate.stream.log-events", "10000",
        "sparkgate.stream.log-bytes", "64m",
        "sparkgate.stream.subscriber-buffer-events", "50",
        "sparkgate.stream.subscriber-buffer-bytes", "64k",
        "sparkgate.stream.keep-alive", "30s");
  }

  private io.netty.util.ResourceLeakDetector.Level leakLevel;

  @BeforeAll
  void clients() {
    // The build runs Netty's leak detector at paranoid, which records a stack trace on every access
    // to every buffer: with a thousand streams that alone stalls the event loops past the 100 ms
    // guard. The sampling level still finds leaks; the other test classes keep paranoid.
    leakLevel = io.netty.util.ResourceLeakDetector.getLevel();
    io.netty.util.ResourceLeakDetector.setLevel(io.netty.util.ResourceLeakDetector.Level.SIMPLE);
    // The clients run on a Vert.x of their own: parsing a thousand streams is their work, not the
    // gateway's, and must not count against the gateway's event loops.
    clientVertx = io.vertx.core.Vertx.vertx(new io.vertx.core.VertxOptions()
        .setMetricsOptions(new io.vertx.core.metrics.MetricsOptions().setEnabled(false)));
    http = clientVertx.createHttpClient(new HttpClientOptions(), new PoolOptions().setHttp1MaxSize(SUBSCRIBERS + 10));
    // A client that reads little at a time: its socket's receive buffer is small.
    slowHttp = clientVertx.createHttpClient(new HttpClientOptions().setReceiveBufferSize(4096), new PoolOptions());
    SseReader.open(http, gateway.port(), "/sessions/999/events").close();
    SseReader.open(slowHttp, gateway.port(), "/sessions/999/events").close();
    forgetWarmUp();
  }

  @AfterAll
  void closeClients() {
    io.netty.util.ResourceLeakDetector.setLevel(leakLevel);
    await(http.close());
    await(slowHttp.close());
    await(clientVertx.close());
  }

  private int listeners(InteractiveSession s) {
    Promise<Integer> p = Promise.promise();
    s.context().runOnContext(v -> p.complete(s.events().listeners()));
    return await(p.future());
  }

  @Test
  void aThousandSubscribersGetEveryEventAndAStalledOneIsCutOffWithItsResumeId() {
    int id = createSession("{\"kind\":\"pyspark\"}");
    FakeAgents.Link link = agents.link(id);
    link.connect();
    link.emit(new Event.Ready("local-" + id, ""));
    awaitState(id, "idle");
    InteractiveSession session = gateway.sessions().get(id);

    int a = post("/sessions/" + id + "/statements", "{\"code\":\"a\"}").json().getInteger("id");
    int b = post("/sessions/" + id + "/statements", "{\"code\":\"b\"}").json().getInteger("id");
    List<SseReader> readers = new ArrayList<>();
    for (int i = 0; i < SUBSCRIBERS; i++) {
      SseReader r = SseReader.open(http, gateway.port(), "/sessions/" + id + "/statements/" + a + "/events");
      assertEquals(200, r.status());
      readers.add(r);
    }
    // The stalled client follows the whole session (so it also gets statement b's bulk output).
    SseReader stalled = SseReader.open(slowHttp, gateway.port(), "/sessions/" + id + "/events").ignoring("log");
    stalled.pause();
    awaitTrue("every subscriber to be subscribed", () -> listeners(session) == SUBSCRIBERS + 1);

    link.emit(new Event.StatementStarted(a));
    for (int i = 0; i < 10; i++) {
      link.emit(new Event.StatementOutput(a, Event.Stream.STDOUT, "a line " + i + "\n"));
    }
    // b is not run yet: its output here stands for a statement printing a lot that the stalled client
    // cannot take. It fills the stalled client's socket, then its bounded queue, and it is cut off.
    String chunk = "b".repeat(16 * 1024) + "\n";
    int chunks = 0;
    while (listeners(session) > SUBSCRIBERS && chunks < 4000) {
      link.emit(new Event.StatementOutput(b, Event.Stream.STDOUT, chunk));
      chunks++;
    }
    assertEquals(SUBSCRIBERS, listeners(session), "the stalled client was not cut off after " + chunks + " chunks");
    link.emit(new Event.StatementProgress(a, 1, 1));
    link.emit(Event.StatementResult.ok(a, "{\"text/plain\":\"done\"}", false));

    // Every reader got every event of statement a, in order, and its stream ended.
    List<Frame> reference = readers.get(0).rest(Duration.ofSeconds(60));
    assertEquals(1 + 1 + 10 + 1 + 1, reference.size(), reference.toString());
    assertEquals("waiting", reference.get(0).json().getString("state"));
    assertEquals("available", reference.get(reference.size() - 1).json().getString("state"));
    for (int i = 1; i < readers.size(); i++) {
      assertEquals(reference, readers.get(i).rest(Duration.ofSeconds(60)), "reader " + i);
    }

    // The stalled client, reading again, finds what it was sent, then the overflow naming the
    // last id it got; then its stream ends.
    stalled.resume();
    List<Frame> got = stalled.rest(Duration.ofSeconds(60));
    Frame overflow = got.get(got.size() - 1);
    assertEquals("overflow", overflow.event(), got.subList(Math.max(0, got.size() - 3), got.size()).toString());
    assertNull(overflow.id());
    long resumeFrom = overflow.json().getLong("resumeFrom");
    assertEquals(got.get(got.size() - 2).id(), resumeFrom);
    assertTrue(got.size() > 2);

    // Resuming from it gives exactly the events after it.
    try (SseReader resumed = SseReader.open(http, gateway.port(), "/sessions/" + id + "/events",
        Map.of("Last-Event-ID", Long.toString(resumeFrom))).ignoring("log")) {
      Frame first = resumed.next();
      assertEquals(resumeFrom + 1, first.id());
      JsonObject last = resumed.until(f -> f.event().equals("statement") && f.json().getInteger("id") == a
          && f.json().getString("state").equals("available"), Duration.ofSeconds(60)).stream()
          .reduce((x, y) -> y).orElseThrow().json();
      assertEquals(get("/sessions/" + id + "/statements/" + a).json(), last);
    }
    link.emit(Event.StatementResult.ok(b, "{}", false));
  }
}
