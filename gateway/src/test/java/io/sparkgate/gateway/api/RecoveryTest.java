package io.sparkgate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.Gateway;
import io.sparkgate.gateway.GatewayConfig;
import io.sparkgate.gateway.testing.FakeAgents;
import io.sparkgate.gateway.testing.GatewayTestBase;
import io.sparkgate.proto.Command;
import io.sparkgate.proto.Event;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.WebClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A gateway that goes down without stopping its sessions (as in a crash) and a new gateway on the
 * same state store: what each session and statement looked like comes back, live sessions are
 * {@code recovering} until their agents dial back, ids are never reused, and the agent is sent the
 * statements it never received. The agents are {@link FakeAgents} (this test is about the gateway's
 * records and REST answers; the real agents dialling back after a real kill -9 are
 * GatewayRestartEndToEndTest's), the state store is the real file store.
 */
class RecoveryTest extends GatewayTestBase {

  @Override
  protected Map<String, String> settings() {
    return Map.of("sparkgate.agent.reconnect-grace", "60s");
  }

  @AfterAll
  void killLeftoverDrivers() {
    // The first gateway went down without stopping its fake drivers (sleep processes of this JVM).
    ProcessHandle.current().descendants().forEach(ProcessHandle::destroyForcibly);
  }

  @Test
  void aRestartedGatewayRecoversSessionsStatementsAndIds() throws Exception {
    // --- Before: one busy session, one deleted, one that failed ---------------------------------
    int live = createSession("{\"kind\": \"pyspark\", \"name\": \"kept\"}");
    FakeAgents.Link link = agents.link(live);
    link.connect();
    link.emit(new Event.Ready("local-1", ""));
    awaitState(live, "idle");
    int done = submit(live, "1 + 1");
    link.emit(new Event.StatementStarted(done));
    link.emit(Event.StatementResult.ok(done, "{\"text/plain\":\"2\"}", false));
    int running = submit(live, "long()");
    link.emit(new Event.StatementStarted(running));
    int queued = submit(live, "after()");
    int deleted = createSession("{\"kind\": \"spark\"}");
    assertEquals(200, delete("/sessions/" + deleted).status());
    int failed = createSession("{\"kind\": \"spark\", \"conf\": {\"spark.test.behaviour\": \"exit1\"}}");
    awaitState(failed, "error");
    awaitTrue("every agent event acknowledged after it was stored", () -> link.acknowledged.get() == link.eventSeq);
    awaitTrue("the store to settle", () -> stored(failed).contains("\"ERROR\"") && !Files.exists(record(deleted)));
    assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(
        Files.getPosixFilePermissions(record(live))), "records hold the session secret");

    long lastPushId = gateway.sessions().get(live).events().newestId();

    // --- The gateway goes down without a word (no session is stopped) ---------------------------
    await(vertx.close());
    restartOnSameStore();

    // --- After: listed as before, live ones recovering ------------------------------------------
    Response list = get("/sessions");
    assertEquals(2, list.json().getInteger("total"), list.body());
    JsonObject session = get("/sessions/" + live).json();
    assertEquals("recovering", session.getString("state"));
    assertEquals("kept", session.getString("name"));
    assertEquals("local-1", session.getString("appId"));
    assertEquals("error", get("/sessions/" + failed).json().getString("state"));
    assertEquals(404, get("/sessions/" + deleted).status());
    JsonObject first = get("/sessions/" + live + "/statements/" + done).json();
    assertEquals("available", first.getString("state"));
    assertEquals("2", first.getJsonObject("output").getJsonObject("data").getString("text/plain"));
    assertEquals("running", get("/sessions/" + live + "/statements/" + running).json().getString("state"));
    assertEquals("waiting", get("/sessions/" + live + "/statements/" + queued).json().getString("state"));
    // Push event ids go on after the restart; a subscriber resuming from an id it got before the
    // crash is told to re-read the state (a reset), never given another event under an old id.
    io.sparkgate.gateway.session.SessionEventLog log = gateway.sessions().get(live).events();
    assertTrue(log.oldestId() > lastPushId, log.oldestId() + " after " + lastPushId);
    assertTrue(log.readAfter(lastPushId) instanceof io.sparkgate.gateway.session.SessionEventLog.Reset);
    // Until the agent is back, a new statement is refused with a reason, not queued into nowhere.
    Response refused = post("/sessions/" + live + "/statements", "{\"code\": \"1\"}");
    assertEquals(503, refused.status(), refused.body());
    assertTrue(refused.msg().contains("recovering"), refused.msg());

    // --- The agent dials back: it got the first two Executes, not the third ---------------------
    FakeAgents.Link back = agents.link(live);
    assertTrue(back.options.resumed());
    assertEquals(link.eventSeq, back.options.lastEventSeq(), "events are replayed after the last one stored");
    back.resume(2);
    assertEquals(List.of(new Command.Execute(queued, "pyspark", "after()")), back.sent,
        "the statement the agent never received is sent again");
    awaitState(live, "busy");
    back.emit(Event.StatementResult.ok(running, "{\"text/plain\":\"done\"}", false));
    back.emit(new Event.StatementStarted(queued));
    back.emit(Event.StatementResult.ok(queued, "{\"text/plain\":\"3\"}", false));
    awaitState(live, "idle");
    assertEquals("done", get("/sessions/" + live + "/statements/" + running).json().getJsonObject("output")
        .getJsonObject("data").getString("text/plain"));
    assertEquals(queued + 1, submit(live, "next()"), "statement ids continue");

    // --- Ids are never reused: not the deleted session's, not the last one's ---------------------
    int fresh = createSession("{\"kind\": \"sql\"}");
    assertEquals(failed + 1, fresh);
  }

  @Test
  void livyKeysTurnRecoveryOffOrPointTheStore() {
    Map<String, String> s = new HashMap<>();
    s.put("sparkgate.spark.home", spark.home.toString());
    s.put("sparkgate.agent.jar", spark.agentJar.toString());
    s.put("livy.server.recovery.mode", "off");
    assertEquals("off", GatewayConfig.of(s, Map.of()).get(GatewayConfig.RECOVERY_MODE));
    s.put("livy.server.recovery.mode", "recovery");
    s.put("livy.server.recovery.state-store", "zookeeper");
    s.put("livy.server.recovery.state-store.url", "zk1:2181,zk2:2181");
    GatewayConfig c = GatewayConfig.of(s, Map.of());
    assertEquals("zookeeper", c.get(GatewayConfig.RECOVERY_STATE_STORE));
    assertEquals("zk1:2181,zk2:2181", c.get(GatewayConfig.RECOVERY_STATE_STORE_URL));
    s.remove("livy.server.recovery.state-store.url");
    io.sparkgate.gateway.ConfigException e = org.junit.jupiter.api.Assertions.assertThrows(
        io.sparkgate.gateway.ConfigException.class, () -> GatewayConfig.of(s, Map.of()));
    assertTrue(e.getMessage().contains("sparkgate.recovery.state-store.url"), e.getMessage());
  }

  private int submit(int session, String code) {
    Response r = post("/sessions/" + session + "/statements", new JsonObject().put("code", code).encode());
    assertEquals(201, r.status(), r.body());
    return r.json().getInteger("id");
  }

  private Path record(int session) {
    return stateDir.resolve("sessions/" + session + ".rec");
  }

  private String stored(int session) {
    try {
      return Files.exists(record(session)) ? Files.readString(record(session)) : "";
    } catch (java.io.IOException e) {
      return "";
    }
  }

  /** A new gateway (new Vert.x, new agent registry) on this class's settings and state directory. */
  private void restartOnSameStore() throws Exception {
    Map<String, String> s = new HashMap<>();
    s.put("sparkgate.server.host", "127.0.0.1");
    s.put("sparkgate.server.port", "0");
    s.put("sparkgate.server.event-loops", "2");
    s.put("sparkgate.spark.home", spark.home.toString());
    s.put("sparkgate.agent.jar", spark.agentJar.toString());
    s.put("sparkgate.session.sweep-interval", "100ms");
    s.put("sparkgate.session.stop-grace", "500ms");
    s.put("sparkgate.recovery.state-store.url", stateDir.toString());
    s.putAll(settings());
    vertx = Vertx.vertx(strictOptions());
    agents = new FakeAgents();
    gateway = await(Gateway.start(vertx, GatewayConfig.of(s, Map.of()), agents, 45_999));
    client = WebClient.create(vertx);
    // As the base class does for its gateway: start-up paths run once before the guard counts.
    get("/version");
    get("/sessions");
    get("/sessions/0/statements/0");
    forgetWarmUp();
  }
}
