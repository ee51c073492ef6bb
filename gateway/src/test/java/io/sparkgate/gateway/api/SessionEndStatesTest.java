package io.sparkgate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.testing.FakeAgents;
import io.sparkgate.gateway.testing.GatewayTestBase;
import io.sparkgate.proto.Command;
import io.sparkgate.proto.Event;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * How sessions end, as Livy shows it: a deleted session is listed {@code shutting_down} while its
 * driver is still there and then forgotten; {@code POST /sessions/{id}/stop} answers once the
 * driver is gone and leaves the session listed {@code dead}; a session whose driver dies stays
 * listed {@code dead}.
 *
 * <p>The agent is {@link FakeAgents} and the driver the {@code sleep} of {@link io.sparkgate.gateway.testing.FakeSpark}:
 * the stop grace is long, so a driver is gone exactly when the test kills it, and the state in
 * between can be read without racing the clock.
 */
class SessionEndStatesTest extends GatewayTestBase {

  @Override
  protected Map<String, String> settings() {
    return Map.of(
        "sparkgate.session.stop-grace", "10m",
        "sparkgate.session.state-retain", "1h");
  }

  private FakeAgents.Link ready(int id) {
    FakeAgents.Link link = agents.link(id);
    link.connect();
    link.emit(new Event.Ready("local-" + id, ""));
    awaitState(id, "idle");
    return link;
  }

  private static void kill(long pid) {
    ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    awaitTrue("process " + pid + " to end", () -> gone(pid));
  }

  private boolean listed(int id, String state) {
    return get("/sessions").json().getJsonArray("sessions").stream()
        .map(JsonObject.class::cast)
        .anyMatch(s -> s.getInteger("id") == id && s.getString("state").equals(state));
  }

  @Test
  void aDeletedSessionIsShuttingDownUntilItsDriverIsGone() {
    int id = createSession("{\"kind\": \"spark\", \"name\": \"going\"}");
    long pid = driverPid(id);
    FakeAgents.Link link = ready(id);

    assertEquals(new JsonObject().put("msg", "deleted"), delete("/sessions/going").json());
    // The driver was asked to shut down and has not yet: the session says so.
    assertTrue(link.sent.stream().anyMatch(c -> c instanceof Command.Shutdown), link.sent.toString());
    assertEquals("shutting_down", get("/sessions/" + id + "/state").json().getString("state"));
    assertEquals("shutting_down", get("/sessions/going").json().getString("state"));
    assertTrue(listed(id, "shutting_down"));
    Response statement = post("/sessions/" + id + "/statements", "{\"code\": \"1\"}");
    assertEquals(400, statement.status(), statement.body());
    assertTrue(statement.msg().contains("shutting_down"), statement.body());
    // The name is still the session's while it is listed.
    assertEquals(400, post("/sessions", "{\"name\": \"going\"}").status());
    // Deleting again is harmless.
    assertEquals(200, delete("/sessions/" + id).status());

    kill(pid);
    awaitTrue("the session to be forgotten once its driver is gone", () -> get("/sessions/" + id).status() == 404);
    assertFalse(listed(id, "dead"));
    int again = createSession("{\"name\": \"going\"}");
    assertEquals("going", get("/sessions/" + again).json().getString("name"));
    delete("/sessions/" + again);
  }

  @Test
  void stopAnswersOnceTheDriverIsGoneAndLeavesTheSessionListedDead() {
    int id = createSession("{\"kind\": \"pyspark\", \"name\": \"stopping\"}");
    long pid = driverPid(id);
    FakeAgents.Link link = ready(id);

    Future<HttpResponse<Buffer>> stop =
        client.post(gateway.port(), "127.0.0.1", "/sessions/stopping/stop").timeout(60_000).send();
    awaitTrue("the session to be shutting down", () -> "shutting_down".equals(
        get("/sessions/" + id + "/state").json().getString("state")));
    assertTrue(link.sent.stream().anyMatch(c -> c instanceof Command.Shutdown), link.sent.toString());
    assertFalse(stop.isComplete(), "stop answered before the driver was gone");

    kill(pid);
    HttpResponse<Buffer> answer = await(stop);
    assertEquals(204, answer.statusCode(), answer.bodyAsString());
    assertEquals("dead", get("/sessions/" + id + "/state").json().getString("state"));
    assertTrue(listed(id, "dead"));
    assertEquals("dead", get("/sessions/stopping").json().getString("state"));
    // Stopping an ended session answers at once.
    assertEquals(204, post("/sessions/" + id + "/stop", "").status());
    assertEquals(404, post("/sessions/nobody/stop", "").status());
  }

  @Test
  void aSessionWhoseDriverDiesStaysListedDead() {
    int id = createSession("{\"kind\": \"spark\"}");
    long pid = driverPid(id);
    FakeAgents.Link link = ready(id);
    post("/sessions/" + id + "/statements", "{\"code\": \"spin()\"}");
    link.emit(new Event.StatementStarted(0));

    kill(pid);
    awaitState(id, "dead");
    assertTrue(listed(id, "dead"));
    assertTrue(get("/sessions/" + id + "/log?size=1000").jsonArray("log").stream()
        .anyMatch(l -> l.toString().contains("The driver exited with code")));
    // Its statement ended with the session.
    assertEquals("error", get("/sessions/" + id + "/statements/0").json().getString("state"));
    assertEquals(400, post("/sessions/" + id + "/statements", "{\"code\": \"1\"}").status());
  }
}
