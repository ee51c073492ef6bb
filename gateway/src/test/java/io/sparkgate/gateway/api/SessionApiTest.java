package io.sparkgate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.testing.GatewayTestBase;
import io.sparkgate.proto.Event;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The JSON shapes of the session endpoints, field by field, as Livy answers them. */
class SessionApiTest extends GatewayTestBase {

  /** Livy 0.9's SessionInfo, in its order (0.8's without idleTimeout). */
  static final List<String> SESSION_FIELDS = List.of("id", "name", "appId", "owner", "proxyUser", "state", "kind",
      "appInfo", "log", "ttl", "idleTimeout", "driverMemory", "driverCores", "executorMemory", "executorCores", "conf",
      "archives", "files", "heartbeatTimeoutInSecond", "jars", "numExecutors", "pyFiles", "queue");

  /** Impersonation on, so that a proxyUser is taken (without authentication anyone may name one). */
  @Override
  protected java.util.Map<String, String> settings() {
    return java.util.Map.of("sparkgate.impersonation.enabled", "true");
  }

  @Test
  void createAnswers201WithLocationAndTheSession() {
    Response r = post("/sessions", "{\"kind\":\"pyspark\",\"name\":\"shape-1\",\"proxyUser\":\"bob\"}");
    assertEquals(201, r.status(), r.body());
    JsonObject s = r.json();
    int id = s.getInteger("id");
    assertEquals("/sessions/" + id, r.headers().get("Location"));
    assertEquals("application/json", r.headers().get("Content-Type"));
    assertEquals(SESSION_FIELDS, List.copyOf(s.fieldNames()));
    assertEquals("shape-1", s.getString("name"));
    assertNull(s.getString("appId"));
    assertTrue(s.containsKey("owner") && s.getValue("owner") == null);
    assertEquals("bob", s.getString("proxyUser"));
    assertEquals("starting", s.getString("state"));
    assertEquals("pyspark", s.getString("kind"));
    JsonObject appInfo = s.getJsonObject("appInfo");
    assertEquals(List.of("driverLogUrl", "sparkUiUrl"), List.copyOf(appInfo.fieldNames()));
    assertNull(appInfo.getValue("driverLogUrl"));
    assertNull(appInfo.getValue("sparkUiUrl"));
    assertTrue(s.getValue("log") instanceof JsonArray);

    // The driver becomes ready: appId and UI URL appear, the state is idle.
    agents.link(id).connect();
    agents.link(id).emit(new Event.Ready("local-1234", "http://driver:4040"));
    JsonObject ready = get("/sessions/" + id).json();
    assertEquals(SESSION_FIELDS, List.copyOf(ready.fieldNames()));
    assertEquals("idle", ready.getString("state"));
    assertEquals("local-1234", ready.getString("appId"));
    assertEquals("http://driver:4040", ready.getJsonObject("appInfo").getString("sparkUiUrl"));
    assertEquals(new JsonObject().put("id", id).put("state", "idle"), get("/sessions/" + id + "/state").json());
  }

  @Test
  void aSessionWithoutKindIsShared() {
    JsonObject s = post("/sessions", "{}").json();
    assertEquals("shared", s.getString("kind"));
    assertNull(s.getValue("name"));
    // Livy's spelling of a shared session is accepted too.
    assertEquals("shared", post("/sessions", "{\"kind\":\"shared\"}").json().getString("kind"));
    // And its aliases of the kinds.
    assertEquals("spark", post("/sessions", "{\"kind\":\"scala\"}").json().getString("kind"));
  }

  @Test
  void listPagesWithFromSizeAndTotal() {
    for (int i = 0; i < 3; i++) {
      createSession("{\"kind\":\"sql\"}");
    }
    JsonObject all = get("/sessions").json();
    assertEquals(List.of("from", "total", "sessions"), List.copyOf(all.fieldNames()));
    int total = all.getInteger("total");
    assertTrue(total >= 3);
    JsonArray sessions = all.getJsonArray("sessions");
    assertEquals(total, sessions.size());
    for (int i = 1; i < sessions.size(); i++) {
      assertTrue(sessions.getJsonObject(i - 1).getInteger("id") < sessions.getJsonObject(i).getInteger("id"));
      assertEquals(SESSION_FIELDS, List.copyOf(sessions.getJsonObject(i).fieldNames()));
    }

    JsonObject page = get("/sessions?from=1&size=2").json();
    assertEquals(1, page.getInteger("from"));
    assertEquals(total, page.getInteger("total"));
    assertEquals(2, page.getJsonArray("sessions").size());
    assertEquals(sessions.getJsonObject(1).getInteger("id"), page.getJsonArray("sessions").getJsonObject(0).getInteger("id"));

    JsonObject beyond = get("/sessions?from=" + (total + 5)).json();
    assertEquals(0, beyond.getJsonArray("sessions").size());
    assertEquals(0, get("/sessions?size=0").json().getJsonArray("sessions").size());
  }

  @Test
  void logPagesLikeLivy() {
    int id = createSession("{\"kind\":\"spark\"}");
    // The fake spark-submit prints "pid", "args" and "secret-sha256" lines.
    awaitTrue("driver output", () -> get("/sessions/" + id + "/log").json().getInteger("total") >= 3);
    JsonObject log = get("/sessions/" + id + "/log").json();
    assertEquals(List.of("id", "from", "total", "log"), List.copyOf(log.fieldNames()));
    assertEquals(id, log.getInteger("id"));
    int total = log.getInteger("total");
    assertEquals(total, log.getJsonArray("log").size());
    assertTrue(log.getJsonArray("log").getString(0).startsWith("pid "));

    // Without from: the last `size` lines.
    JsonObject tail = get("/sessions/" + id + "/log?size=1").json();
    assertEquals(total - 1, tail.getInteger("from"));
    assertEquals(1, tail.getJsonArray("log").size());
    JsonObject head = get("/sessions/" + id + "/log?from=0&size=2").json();
    assertEquals(0, head.getInteger("from"));
    assertEquals(List.of(log.getJsonArray("log").getString(0), log.getJsonArray("log").getString(1)),
        head.getJsonArray("log").getList());

    // The session's own JSON carries the last lines of the log too.
    JsonArray inSession = get("/sessions/" + id).json().getJsonArray("log");
    assertEquals(log.getJsonArray("log").getList().subList(Math.max(0, total - 10), total), inSession.getList());
  }

  @Test
  void deleteAnswersDeletedAndForgetsTheSession() {
    int id = createSession("{\"kind\":\"spark\",\"name\":\"to-delete\"}");
    Response r = delete("/sessions/" + id);
    assertEquals(200, r.status());
    assertEquals(new JsonObject().put("msg", "deleted"), r.json());
    // Listed (shutting_down) until the driver is gone, then forgotten, as Livy.
    awaitTrue("the deleted session to be forgotten", () -> get("/sessions/" + id).status() == 404);
    assertEquals("Session '" + id + "' not found.", delete("/sessions/" + id).msg());
    // The name is free again.
    createSession("{\"kind\":\"spark\",\"name\":\"to-delete\"}");
  }


  @Test
  void bodiesAreReadWhateverTheirContentType() {
    // curl -d sends form content type; Python requests with data= sends none.
    Response form = request(HttpMethod.POST, "/sessions", Buffer.buffer("{\"kind\":\"sql\"}"),
        "application/x-www-form-urlencoded");
    assertEquals(201, form.status(), form.body());
    assertEquals("sql", form.json().getString("kind"));
    Response none = request(HttpMethod.POST, "/sessions", Buffer.buffer("{\"kind\":\"pyspark\"}"), null);
    assertEquals(201, none.status(), none.body());
    assertEquals("pyspark", none.json().getString("kind"));
  }
}
