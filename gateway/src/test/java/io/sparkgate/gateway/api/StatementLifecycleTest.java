package io.sparkgate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.testing.FakeAgents;
import io.sparkgate.gateway.testing.GatewayTestBase;
import io.sparkgate.proto.Command;
import io.sparkgate.proto.Event;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Statements end to end through the REST API, with the agent played by {@link FakeAgents} (see
 * there why): every agent event is checked against Livy's JSON, including orderings a real driver
 * makes only by chance.
 */
class StatementLifecycleTest extends GatewayTestBase {

  private static final List<String> STATEMENT_FIELDS =
      List.of("id", "code", "state", "output", "progress", "started", "completed");

  @Override
  protected Map<String, String> settings() {
    return Map.of(
        "sparkgate.agent.reconnect-grace", "500ms",
        "sparkgate.completion.timeout", "300ms",
        "sparkgate.statement.retained", "5");
  }

  /** A session whose agent connected and reported ready. */
  private FakeAgents.Link readySession(String body) {
    int id = createSession(body);
    FakeAgents.Link link = agents.link(id);
    link.connect();
    link.emit(new Event.Ready("local-" + id, ""));
    awaitState(id, "idle");
    return link;
  }

  private JsonObject statement(int session, int statement) {
    Response r = get("/sessions/" + session + "/statements/" + statement);
    assertEquals(200, r.status(), r.body());
    return r.json();
  }

  private String state(int session) {
    return get("/sessions/" + session + "/state").json().getString("state");
  }

  @Test
  void aStatementRunsAndAnswersInLivysShape() {
    FakeAgents.Link link = readySession("{\"kind\":\"pyspark\"}");
    int id = link.sessionId;

    Response created = post("/sessions/" + id + "/statements", "{\"code\":\"1 + 1\"}");
    assertEquals(201, created.status(), created.body());
    assertEquals("/sessions/" + id + "/statements/0", created.headers().get("Location"));
    JsonObject waiting = created.json();
    assertEquals(STATEMENT_FIELDS, List.copyOf(waiting.fieldNames()));
    assertEquals(0, waiting.getInteger("id"));
    assertEquals("1 + 1", waiting.getString("code"));
    assertEquals("waiting", waiting.getString("state"));
    assertTrue(waiting.containsKey("output") && waiting.getValue("output") == null);
    assertEquals(0.0, waiting.getDouble("progress"));
    assertEquals(0L, waiting.getLong("started"));
    assertEquals(0L, waiting.getLong("completed"));
    assertEquals(List.of(new Command.Execute(0, "pyspark", "1 + 1")), link.sent);
    assertEquals("busy", state(id));

    link.emit(new Event.StatementStarted(0));
    JsonObject running = statement(id, 0);
    assertEquals("running", running.getString("state"));
    assertTrue(running.getLong("started") > 0);

    link.emit(new Event.StatementProgress(0, 1, 4));
    assertEquals(0.25, statement(id, 0).getDouble("progress"));

    link.emit(Event.StatementResult.ok(0, "{\"text/plain\":\"2\"}", false));
    JsonObject done = statement(id, 0);
    assertEquals(STATEMENT_FIELDS, List.copyOf(done.fieldNames()));
    assertEquals("available", done.getString("state"));
    assertEquals(new JsonObject().put("status", "ok").put("execution_count", 0)
        .put("data", new JsonObject().put("text/plain", "2")), done.getJsonObject("output"));
    assertEquals(1.0, done.getDouble("progress"));
    assertTrue(done.getLong("completed") >= done.getLong("started"));
    assertEquals("idle", state(id));

    JsonObject list = get("/sessions/" + id + "/statements").json();
    assertEquals(List.of("total_statements", "statements"), List.copyOf(list.fieldNames()));
    assertEquals(1, list.getInteger("total_statements"));
    assertEquals(done, list.getJsonArray("statements").getJsonObject(0));
  }

  @Test
  void codeThatRaisesIsAvailableWithAnErrorOutput() {
    FakeAgents.Link link = readySession("{\"kind\":\"spark\"}");
    int id = link.sessionId;
    post("/sessions/" + id + "/statements", "{\"code\":\"x\"}");
    link.emit(new Event.StatementStarted(0));
    link.emit(Event.StatementResult.error(0, "NameError", "name 'x' is not defined", List.of("line 1", "line 2")));
    JsonObject s = statement(id, 0);
    assertEquals("available", s.getString("state"));
    assertEquals(new JsonObject().put("status", "error").put("execution_count", 0).put("ename", "NameError")
        .put("evalue", "name 'x' is not defined").put("traceback", new JsonArray().add("line 1").add("line 2")),
        s.getJsonObject("output"));
  }

  @Test
  void outputThatIsNotAJsonObjectIsKeptAsText() {
    FakeAgents.Link link = readySession("{\"kind\":\"sql\"}");
    int id = link.sessionId;
    post("/sessions/" + id + "/statements", "{\"code\":\"select 1\"}");
    link.emit(new Event.StatementStarted(0));
    link.emit(Event.StatementResult.ok(0, "[1, 2", false));
    assertEquals(new JsonObject().put("text/plain", "[1, 2"), statement(id, 0).getJsonObject("output").getJsonObject("data"));
  }

  @Test
  void statementsQueueWhileTheSessionStarts() {
    int id = createSession("{\"kind\":\"spark\"}");
    Response r = post("/sessions/" + id + "/statements", "{\"code\":\"sc.version\"}");
    assertEquals(201, r.status(), r.body());
    assertEquals("waiting", r.json().getString("state"));
    assertEquals("starting", state(id));
    assertEquals(List.of(new Command.Execute(0, "spark", "sc.version")), agents.link(id).sent);
    // Ready with work queued: busy until it is done.
    agents.link(id).connect();
    agents.link(id).emit(new Event.Ready("app", ""));
    assertEquals("busy", state(id));
  }

  @Test
  void aSharedSessionRunsEachStatementInItsKind() {
    FakeAgents.Link link = readySession("{}");
    int id = link.sessionId;
    assertEquals(201, post("/sessions/" + id + "/statements", "{\"code\":\"select 1\",\"kind\":\"sql\"}").status());
    assertEquals(201, post("/sessions/" + id + "/statements", "{\"code\":\"print(1)\",\"kind\":\"python\"}").status());
    assertEquals(List.of(new Command.Execute(0, "sql", "select 1"), new Command.Execute(1, "pyspark", "print(1)")),
        link.sent);
  }

  @Test
  void cancellingAWaitingStatementEndsItAtOnce() {
    FakeAgents.Link link = readySession("{\"kind\":\"pyspark\"}");
    int id = link.sessionId;
    post("/sessions/" + id + "/statements", "{\"code\":\"import time; time.sleep(60)\"}");
    Response r = post("/sessions/" + id + "/statements/0/cancel", null);
    assertEquals(200, r.status(), r.body());
    assertEquals(new JsonObject().put("msg", "canceled"), r.json());
    JsonObject s = statement(id, 0);
    assertEquals("cancelled", s.getString("state"));
    assertNull(s.getValue("output"));
    assertEquals(new Command.Cancel(0), link.sent.get(1));
    assertEquals("idle", state(id));
    // The agent's late start of the dropped statement changes nothing.
    link.emit(new Event.StatementStarted(0));
    assertEquals("cancelled", statement(id, 0).getString("state"));
  }

  @Test
  void cancellingARunningStatementWaitsForTheDriver() {
    FakeAgents.Link link = readySession("{\"kind\":\"spark\"}");
    int id = link.sessionId;
    post("/sessions/" + id + "/statements", "{\"code\":\"spin()\"}");
    post("/sessions/" + id + "/statements", "{\"code\":\"spin()\"}");
    link.emit(new Event.StatementStarted(0));
    link.emit(new Event.StatementStarted(1));

    assertEquals(200, post("/sessions/" + id + "/statements/0/cancel", null).status());
    assertEquals("cancelling", statement(id, 0).getString("state"));
    link.emit(Event.StatementResult.cancelled(0));
    assertEquals("cancelled", statement(id, 0).getString("state"));

    // As Livy: a statement being cancelled ends cancelled even if its code finished first, and
    // keeps the output its code produced before the cancel took hold.
    assertEquals(200, post("/sessions/" + id + "/statements/1/cancel", null).status());
    link.emit(Event.StatementResult.ok(1, "{\"text/plain\":\"done\"}", false));
    JsonObject s = statement(id, 1);
    assertEquals("cancelled", s.getString("state"));
    assertEquals(1.0, s.getDouble("progress"));
    assertEquals(new JsonObject().put("status", "ok").put("execution_count", 1)
        .put("data", new JsonObject().put("text/plain", "done")), s.getJsonObject("output"));
    // A statement the driver reports cancelled has no output.
    assertNull(statement(id, 0).getValue("output"));
    // Cancelling what already ended is harmless.
    assertEquals(200, post("/sessions/" + id + "/statements/1/cancel", null).status());
    assertEquals(List.of(new Command.Cancel(0), new Command.Cancel(1)), link.sent.subList(2, 4));
  }

  @Test
  void completionAsksTheDriverAndAnswersItsCandidates() {
    FakeAgents.Link link = readySession("{\"kind\":\"spark\"}");
    int id = link.sessionId;
    Future<HttpResponse<Buffer>> pending = client.post(gateway.port(), "127.0.0.1", "/sessions/" + id + "/completion")
        .sendBuffer(Buffer.buffer("{\"code\":\"sc.para\",\"cursor\":7}"));
    Command.Complete ask = awaitValue("the completion request", () -> link.sent.stream()
        .filter(c -> c instanceof Command.Complete).map(c -> (Command.Complete) c).findFirst(), Optional::isPresent)
        .orElseThrow();
    assertEquals("spark", ask.kind());
    assertEquals("sc.para", ask.code());
    assertEquals(7, ask.cursor());
    link.emit(new Event.Completion(ask.requestId(), List.of("parallelize")));
    HttpResponse<Buffer> r = await(pending);
    assertEquals(200, r.statusCode());
    assertEquals(new JsonObject().put("candidates", new JsonArray().add("parallelize")), r.bodyAsJsonObject());
  }

  @Test
  void aSlowCompletionTimesOut() {
    FakeAgents.Link link = readySession("{\"kind\":\"pyspark\"}");
    Response r = post("/sessions/" + link.sessionId + "/completion", "{\"code\":\"im\",\"kind\":\"pyspark\",\"cursor\":2}");
    assertEquals(504, r.status(), r.body());
    assertTrue(r.msg().contains("gave no completion within 300 ms"), r.body());
  }

  @Test
  void aFullStatementWindowRefusesMoreUntilOneEnds() {
    FakeAgents.Link link = readySession("{\"kind\":\"sql\"}");
    int id = link.sessionId;
    for (int i = 0; i < 5; i++) {
      assertEquals(201, post("/sessions/" + id + "/statements", "{\"code\":\"select " + i + "\"}").status());
    }
    Response refused = post("/sessions/" + id + "/statements", "{\"code\":\"select 5\"}");
    assertEquals(429, refused.status(), refused.body());
    assertTrue(refused.msg().contains("already has 5 statements waiting or running"), refused.body());

    link.emit(new Event.StatementStarted(0));
    link.emit(Event.StatementResult.ok(0, "{}", false));
    assertEquals(201, post("/sessions/" + id + "/statements", "{\"code\":\"select 5\"}").status());
    // Statement 0 made room and is forgotten, as Livy forgets statements past its limit.
    assertEquals(404, get("/sessions/" + id + "/statements/0").status());
    assertEquals(5, get("/sessions/" + id + "/statements").json().getInteger("total_statements"));
    JsonObject page = get("/sessions/" + id + "/statements?from=1&size=2").json();
    assertEquals(List.of(2, 3), page.getJsonArray("statements").stream()
        .map(o -> ((JsonObject) o).getInteger("id")).toList());
  }

  @Test
  void anAgentThatDoesNotComeBackLeavesTheSessionDead() {
    FakeAgents.Link link = readySession("{\"kind\":\"pyspark\"}");
    int id = link.sessionId;
    long pid = driverPid(id);
    post("/sessions/" + id + "/statements", "{\"code\":\"long_job()\"}");
    link.emit(new Event.StatementStarted(0));

    link.disconnect();
    awaitState(id, "dead");
    JsonObject s = statement(id, 0);
    assertEquals("error", s.getString("state"));
    assertEquals("SessionEnded", s.getJsonObject("output").getString("ename"));
    assertTrue(get("/sessions/" + id + "/log").body().contains("did not reconnect within"));
    awaitTrue("the driver to be killed", () -> ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true));
    // The gateway unregisters when it sees the exit, which may be after the process is observed gone.
    awaitTrue("the agent to be unregistered", () -> link.unregistered);
    Response r = post("/sessions/" + id + "/statements", "{\"code\":\"1\"}");
    assertEquals(400, r.status());
    assertTrue(r.msg().contains("is dead"), r.body());
  }

  @Test
  void anAgentBackWithinTheGraceKeepsTheSession() throws InterruptedException {
    FakeAgents.Link link = readySession("{\"kind\":\"pyspark\"}");
    link.disconnect();
    link.connect();
    Thread.sleep(800);
    assertEquals("idle", state(link.sessionId));
  }

  @Test
  void aDriverThatFailsToStartLeavesTheSessionInError() {
    int id = createSession("{\"kind\":\"pyspark\"}");
    FakeAgents.Link link = agents.link(id);
    link.connect();
    link.emit(new Event.StartFailed("Python is not installed"));
    awaitState(id, "error");
    assertTrue(get("/sessions/" + id + "/log").body().contains("The driver could not start: Python is not installed"));
  }

  @Test
  void aDriverDyingAfterItWasReadyLeavesTheSessionDead() {
    FakeAgents.Link link = readySession("{\"kind\":\"spark\"}");
    int id = link.sessionId;
    ProcessHandle.of(driverPid(id)).orElseThrow().destroy();
    awaitState(id, "dead");
    assertTrue(get("/sessions/" + id + "/log").body().contains("The driver exited with code 143."));
  }

  @Test
  void deleteAsksTheDriverToShutDownThenKillsIt() {
    FakeAgents.Link link = readySession("{\"kind\":\"spark\"}");
    int id = link.sessionId;
    long pid = driverPid(id);
    assertEquals(200, delete("/sessions/" + id).status());
    assertInstanceOf(Command.Shutdown.class, link.sent.get(link.sent.size() - 1));
    // The fake driver ignores Shutdown: it is terminated after the stop grace.
    awaitTrue("the driver to be killed", () -> ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true));
    awaitTrue("the agent to be unregistered", () -> link.unregistered);
  }

  /** Readers racing changes only ever see whole values: never available without output, never back in time. */
  @Test
  void readersSeeStateAndOutputChangeTogether() throws Exception {
    FakeAgents.Link link = readySession("{\"kind\":\"pyspark\"}");
    int id = link.sessionId;
    int rounds = 40;
    AtomicBoolean done = new AtomicBoolean();
    AtomicReference<String> problem = new AtomicReference<>();
    List<String> order = List.of("waiting", "running", "available");
    Thread reader = new Thread(() -> {
      int[] last = new int[rounds];
      while (!done.get() && problem.get() == null) {
        for (int sid = 0; sid < rounds; sid++) {
          Response r = get("/sessions/" + id + "/statements/" + sid);
          if (r.status() == 404) {
            continue;
          }
          JsonObject s = r.json();
          int rank = order.indexOf(s.getString("state"));
          if (rank < last[sid]) {
            problem.set("statement " + sid + " went back to " + s.getString("state"));
          }
          last[sid] = rank;
          if (rank == 2 && (s.getValue("output") == null || s.getDouble("progress") != 1.0)) {
            problem.set("available without its output: " + s.encode());
          }
          if (rank < 2 && s.getValue("output") != null) {
            problem.set("output before the end: " + s.encode());
          }
        }
      }
    });
    reader.start();
    for (int i = 0; i < rounds; i++) {
      assertEquals(201, post("/sessions/" + id + "/statements", "{\"code\":\"" + i + "\"}").status());
      link.emit(new Event.StatementStarted(i));
      link.emit(new Event.StatementProgress(i, 1, 2));
      link.emit(Event.StatementResult.ok(i, "{\"text/plain\":\"" + i + "\"}", false));
    }
    done.set(true);
    reader.join();
    assertNull(problem.get());
  }

  @Test
  void retainedWindowDefaultsAreIndependentOfOtherSessions() {
    // Statement ids count per session, from 0.
    FakeAgents.Link a = readySession("{\"kind\":\"sql\"}");
    FakeAgents.Link b = readySession("{\"kind\":\"sql\"}");
    assertEquals(0, post("/sessions/" + a.sessionId + "/statements", "{\"code\":\"1\"}").json().getInteger("id"));
    assertEquals(0, post("/sessions/" + b.sessionId + "/statements", "{\"code\":\"1\"}").json().getInteger("id"));
    assertEquals(1, post("/sessions/" + a.sessionId + "/statements", "{\"code\":\"2\"}").json().getInteger("id"));
    assertFalse(a.sent.isEmpty() || b.sent.isEmpty());
  }
}
