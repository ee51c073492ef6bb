package io.sparkgate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.testing.FakeAgents;
import io.sparkgate.gateway.testing.GatewayTestBase;
import io.sparkgate.gateway.testing.LivyShapes;
import io.sparkgate.proto.Event;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * What a Livy 0.8 client relies on beyond the basics, through the REST API with the agent played by
 * {@link FakeAgents} (a real driver cannot be made to finish, cancel or idle on cue): every object
 * replayed against Livy's shape ({@link LivyShapes}), session names in paths, {@code order=desc},
 * the per-session {@code ttl} and {@code idleTimeout}, the operator's conf blacklist and local-dir
 * whitelist, {@code /version}, and the 406 of an unknown API version. Batches are replayed too
 * (their driver is {@link io.sparkgate.gateway.testing.FakeSpark}'s script).
 */
class LivyCompatibilityTest extends GatewayTestBase {

  @Override
  protected Map<String, String> settings() {
    return Map.of(
        "sparkgate.session.conf-blacklist", "spark.driver.extraJavaOptions, spark.yarn.jars",
        "sparkgate.file.local-dir-whitelist", "/opt/allowed",
        "sparkgate.session.state-retain", "1h",
        // Impersonation on, so that a proxyUser is taken (without authentication anyone may name one).
        "sparkgate.impersonation.enabled", "true");
  }

  private FakeAgents.Link ready(int id) {
    FakeAgents.Link link = agents.link(id);
    link.connect();
    link.emit(new Event.Ready("local-" + id, "http://driver:4040"));
    awaitState(id, "idle");
    return link;
  }

  @Test
  void everyObjectHasLivysFieldsAndTypes() {
    Response created = post("/sessions", """
        {"kind": "pyspark", "name": "shapes", "proxyUser": "bob", "jars": ["/opt/allowed/a.jar"],
         "pyFiles": ["hdfs:///p.py"], "files": ["s3a://b/f.txt"], "archives": ["/opt/allowed/env.zip"],
         "driverMemory": "1g", "driverCores": 2, "executorMemory": "2g", "executorCores": 3, "numExecutors": 4,
         "queue": "q1", "conf": {"spark.sql.shuffle.partitions": 4}, "heartbeatTimeoutInSecond": 600,
         "ttl": "2h", "idleTimeout": "30m"}""");
    assertEquals(201, created.status(), created.body());
    LivyShapes.assertShape(LivyShapes.SESSION, created.body(), LivyShapes.SESSION_NULLABLE);
    JsonObject s = created.json();
    int id = s.getInteger("id");
    // What was asked is shown back, as Livy's SessionInfo does.
    assertEquals("2h", s.getString("ttl"));
    assertEquals("30m", s.getString("idleTimeout"));
    assertEquals("1g", s.getString("driverMemory"));
    assertEquals(2, s.getInteger("driverCores"));
    assertEquals("2g", s.getString("executorMemory"));
    assertEquals(3, s.getInteger("executorCores"));
    assertEquals(4, s.getInteger("numExecutors"));
    assertEquals(new JsonObject().put("spark.sql.shuffle.partitions", "4"), s.getJsonObject("conf"));
    assertEquals(new JsonArray().add("/opt/allowed/a.jar"), s.getJsonArray("jars"));
    assertEquals(new JsonArray().add("hdfs:///p.py"), s.getJsonArray("pyFiles"));
    assertEquals(new JsonArray().add("s3a://b/f.txt"), s.getJsonArray("files"));
    assertEquals(new JsonArray().add("/opt/allowed/env.zip"), s.getJsonArray("archives"));
    assertEquals(600, s.getInteger("heartbeatTimeoutInSecond"));
    assertEquals("q1", s.getString("queue"));

    FakeAgents.Link link = ready(id);
    JsonObject idle = get("/sessions/" + id).json();
    assertEquals("local-" + id, idle.getString("appId"));
    assertEquals("http://driver:4040", idle.getJsonObject("appInfo").getString("sparkUiUrl"));
    LivyShapes.assertShape(LivyShapes.SESSION, get("/sessions/" + id).body(), LivyShapes.SESSION_NULLABLE);
    LivyShapes.assertShape(LivyShapes.STATE, get("/sessions/" + id + "/state").body(), Set.of());
    LivyShapes.assertShape(LivyShapes.LOG, get("/sessions/" + id + "/log").body(), Set.of());
    LivyShapes.assertList(get("/sessions").body(), List.of("from", "total", "sessions"), "sessions",
        LivyShapes.SESSION, LivyShapes.SESSION_NULLABLE);

    // Statements: waiting (no output), available ok, available with an error output.
    Response waiting = post("/sessions/" + id + "/statements", "{\"code\": \"1 + 1\"}");
    LivyShapes.assertShape(LivyShapes.STATEMENT, waiting.body(), LivyShapes.STATEMENT_NULLABLE);
    link.emit(new Event.StatementStarted(0));
    link.emit(Event.StatementResult.ok(0, "{\"text/plain\": \"2\"}", false));
    post("/sessions/" + id + "/statements", "{\"code\": \"x\"}");
    link.emit(new Event.StatementStarted(1));
    link.emit(Event.StatementResult.error(1, "NameError", "name 'x' is not defined", List.of("line 1\n")));
    Response ok = get("/sessions/" + id + "/statements/0");
    assertEquals("available", ok.json().getString("state"));
    LivyShapes.assertShape(LivyShapes.STATEMENT, ok.body(), LivyShapes.STATEMENT_NULLABLE);
    Response error = get("/sessions/" + id + "/statements/1");
    assertEquals("error", error.json().getJsonObject("output").getString("status"));
    LivyShapes.assertShape(LivyShapes.STATEMENT, error.body(), LivyShapes.STATEMENT_NULLABLE);
    LivyShapes.assertList(get("/sessions/" + id + "/statements").body(), List.of("total_statements", "statements"),
        "statements", LivyShapes.STATEMENT, LivyShapes.STATEMENT_NULLABLE);

    LivyShapes.assertShape(LivyShapes.MESSAGE, post("/sessions/" + id + "/statements/0/cancel", "").body(), Set.of());
    LivyShapes.assertShape(LivyShapes.MESSAGE, delete("/sessions/" + id).body(), Set.of());
  }

  @Test
  void aBatchHasLivysFieldsAndTypes() {
    Response created = post("/batches", "{\"file\": \"/opt/allowed/pi.jar\", \"className\": \"org.example.Pi\","
        + " \"name\": \"pi\", \"conf\": {\"spark.test.behaviour\": \"exit0\"}}");
    assertEquals(201, created.status(), created.body());
    LivyShapes.assertShape(LivyShapes.BATCH, created.body(), LivyShapes.BATCH_NULLABLE);
    int id = created.json().getInteger("id");
    awaitTrue("the batch to succeed", () -> "success".equals(get("/batches/" + id + "/state").json().getString("state")));
    LivyShapes.assertShape(LivyShapes.BATCH, get("/batches/" + id).body(), LivyShapes.BATCH_NULLABLE);
    LivyShapes.assertShape(LivyShapes.STATE, get("/batches/" + id + "/state").body(), Set.of());
    LivyShapes.assertShape(LivyShapes.LOG, get("/batches/" + id + "/log").body(), Set.of());
    LivyShapes.assertList(get("/batches").body(), List.of("from", "total", "sessions"), "sessions", LivyShapes.BATCH,
        LivyShapes.BATCH_NULLABLE);
  }

  @Test
  void unsetFieldsHaveLivysValues() {
    JsonObject s = post("/sessions", "{}").json();
    for (String field : List.of("name", "appId", "owner", "proxyUser", "ttl", "idleTimeout", "driverMemory",
        "executorMemory", "queue")) {
      assertTrue(s.containsKey(field) && s.getValue(field) == null, field + " in " + s);
    }
    for (String field : List.of("driverCores", "executorCores", "numExecutors", "heartbeatTimeoutInSecond")) {
      assertEquals(0, s.getInteger(field), field + " in " + s);
    }
    for (String field : List.of("jars", "pyFiles", "files", "archives")) {
      assertEquals(new JsonArray(), s.getJsonArray(field), field + " in " + s);
    }
    assertEquals(new JsonObject(), s.getJsonObject("conf"));
    assertEquals(new JsonObject().putNull("driverLogUrl").putNull("sparkUiUrl"), s.getJsonObject("appInfo"));
  }

  @Test
  void versionHasLivysFieldsAndOurs() {
    Response r = get("/version");
    LivyShapes.assertShape(LivyShapes.VERSION, r.body(), Set.of(), "sparkgateVersion");
    JsonObject v = r.json();
    assertEquals(RestApi.LIVY_API_VERSION, v.getString("version"));
    assertTrue(v.getString("sparkgateVersion").startsWith("0."), v.encode());
    for (String field : List.of("user", "revision", "branch", "date", "url")) {
      assertFalse(v.getString(field).isBlank() || v.getString(field).contains("${"), field + " in " + v);
    }
    // Filled in by the build (git-commit-id, the build timestamp) when built from a checkout.
    assertTrue(v.getString("revision").matches("[0-9a-f]{40}|unknown"), v.encode());
    assertTrue(v.getString("date").matches("\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ|unknown"), v.encode());
  }

  @Test
  void theBuildsRepositoryUrlIsAnsweredWithoutCredentials() {
    assertEquals("https://github.com/org/sparkgate.git",
        RestApi.withoutCredentials("https://alice:ghp_secret@github.com/org/sparkgate.git"));
    assertEquals("https://github.com/org/sparkgate.git", RestApi.withoutCredentials("https://github.com/org/sparkgate.git"));
    assertEquals("git@github.com:org/sparkgate.git", RestApi.withoutCredentials("git@github.com:org/sparkgate.git"));
    assertEquals("unknown", RestApi.withoutCredentials("unknown"));
  }

  @Test
  void anUnknownApiVersionIsAnswered406() {
    Response r = request(HttpMethod.GET, "/sessions", null, null, "application/vnd.livy.v0.2+json");
    assertEquals(406, r.status(), r.body());
    assertTrue(r.msg().contains("'0.2'"), r.body());
    // Also on a POST, before the body is looked at.
    Response post = request(HttpMethod.POST, "/sessions", Buffer.buffer("{}"), "application/json",
        "application/vnd.livy.v1+json");
    assertEquals(406, post.status(), post.body());
    // Livy's one version, or no Livy version at all, is served.
    assertEquals(200, request(HttpMethod.GET, "/sessions", null, null, "application/vnd.livy.v0.1+json").status());
    assertEquals(200, request(HttpMethod.GET, "/version", null, null, "application/json").status());
    assertEquals(200, request(HttpMethod.GET, "/version", null, null, "*/*").status());
  }

  @Test
  void sessionsAreNamedInPathsByIdOrName() {
    int id = createSession("{\"kind\": \"spark\", \"name\": \"etl-nightly\"}");
    FakeAgents.Link link = ready(id);
    String base = "/sessions/etl-nightly";
    assertEquals(id, get(base).json().getInteger("id"));
    assertEquals(new JsonObject().put("id", id).put("state", "idle"), get(base + "/state").json());
    assertEquals(id, get(base + "/log").json().getInteger("id"));

    Response submitted = post(base + "/statements", "{\"code\": \"1 + 1\"}");
    assertEquals(201, submitted.status(), submitted.body());
    assertEquals("/sessions/" + id + "/statements/0", submitted.headers().get("Location"));
    link.emit(new Event.StatementStarted(0));
    link.emit(Event.StatementResult.ok(0, "{\"text/plain\": \"2\"}", false));
    assertEquals("available", get(base + "/statements/0").json().getString("state"));
    assertEquals(1, get(base + "/statements").json().getInteger("total_statements"));
    assertEquals(200, post(base + "/statements/0/cancel", "").status());
    // A name with characters that need escaping in a path.
    int spaced = createSession("{\"kind\": \"sql\", \"name\": \"my report\"}");
    assertEquals(spaced, get("/sessions/my%20report").json().getInteger("id"));

    assertEquals("Session 'nobody' not found.", get("/sessions/nobody").msg());
    assertEquals(404, get("/sessions/nobody/statements").status());

    // An all-digit name would read as an id: refused.
    Response digits = post("/sessions", "{\"name\": \"42\"}");
    assertEquals(400, digits.status(), digits.body());
    assertTrue(digits.msg().contains("all digits"), digits.body());

    assertEquals(200, delete(base).status());
    awaitTrue("the deleted session to be forgotten", () -> get(base).status() == 404);
    assertEquals(404, get("/sessions/" + id).status());
  }

  @Test
  void statementsListNewestFirstWithOrderDesc() {
    int id = createSession("{\"kind\": \"spark\"}");
    FakeAgents.Link link = ready(id);
    for (int i = 0; i < 4; i++) {
      post("/sessions/" + id + "/statements", "{\"code\": \"" + i + "\"}");
      link.emit(new Event.StatementStarted(i));
      link.emit(Event.StatementResult.ok(i, "{}", false));
    }
    String path = "/sessions/" + id + "/statements";
    assertEquals(List.of(0, 1, 2, 3), ids(get(path).json()));
    assertEquals(List.of(3, 2, 1, 0), ids(get(path + "?order=desc").json()));
    assertEquals(List.of(3, 2, 1, 0), ids(get(path + "?order=DESC").json()));
    assertEquals(List.of(0, 1, 2, 3), ids(get(path + "?order=asc").json()));
    // from and size count in the order asked for, as Livy.
    assertEquals(List.of(2, 1), ids(get(path + "?order=desc&from=1&size=2").json()));
    assertEquals(4, get(path + "?order=desc&from=1&size=2").json().getInteger("total_statements"));
    assertEquals(List.of(1, 2), ids(get(path + "?from=1&size=2").json()));
    Response bad = get(path + "?order=newest");
    assertEquals(400, bad.status(), bad.body());
    assertTrue(bad.msg().contains("order must be asc or desc"), bad.body());
  }

  private static List<Integer> ids(JsonObject list) {
    JsonArray statements = list.getJsonArray("statements");
    return IntStream.range(0, statements.size()).mapToObj(i -> statements.getJsonObject(i).getInteger("id")).toList();
  }

  @Test
  void ttlAndIdleTimeoutAreCheckedLikeLivysTimes() {
    for (String body : List.of("{\"ttl\": \"soon\"}", "{\"ttl\": \"-5m\"}", "{\"ttl\": \"0\"}", "{\"ttl\": \"10\"}",
        "{\"ttl\": 1.5}", "{\"ttl\": []}", "{\"idleTimeout\": \"5 weeks\"}", "{\"idleTimeout\": \"400d\"}",
        "{\"idleTimeout\": \"99999999999999m\"}")) {
      Response r = post("/sessions", body);
      assertEquals(400, r.status(), body + " -> " + r.body());
      assertTrue(r.msg().startsWith(body.contains("ttl") ? "ttl " : "idleTimeout "), r.body());
    }
    // Livy's forms: a unit, or milliseconds without one.
    assertEquals("90000", post("/sessions", "{\"ttl\": 90000}").json().getString("ttl"));
    assertEquals("1h", post("/sessions", "{\"ttl\": \"1h\", \"idleTimeout\": \"5min\"}").json().getString("ttl"));
  }

  @Test
  void anIdleTimeoutOfItsOwnStopsAnIdleSession() {
    // The gateway's idle timeout is an hour; this session's own is one second.
    int id = createSession("{\"kind\": \"spark\", \"idleTimeout\": \"1s\"}");
    int other = createSession("{\"kind\": \"spark\"}");
    long pid = driverPid(id);
    // Not waiting for idle: with a one-second limit the session may be stopped before (as Livy,
    // a starting session idles out too).
    agents.link(id).connect();
    agents.link(id).emit(new Event.Ready("local-" + id, ""));
    ready(other);
    awaitTrue("the idle session to be stopped and forgotten", () -> get("/sessions/" + id).status() == 404);
    awaitTrue("its driver to be gone", () -> gone(pid));
    assertEquals("idle", get("/sessions/" + other + "/state").json().getString("state"));
    assertTrue(get("/sessions/" + id + "/log").status() == 404);
  }

  @Test
  void aTtlStopsASessionHoweverActiveItIs() {
    int id = createSession("{\"kind\": \"spark\", \"ttl\": \"2s\", \"idleTimeout\": \"1h\"}");
    long pid = driverPid(id);
    FakeAgents.Link link = ready(id);
    // Keep it active: statements run while the ttl runs out.
    int[] next = {0};
    awaitTrue("the ttl to stop the session", () -> {
      Response r = post("/sessions/" + id + "/statements", "{\"code\": \"1\"}");
      if (r.status() == 201) {
        link.emit(new Event.StatementStarted(next[0]));
        link.emit(Event.StatementResult.ok(next[0]++, "{}", false));
        return false;
      }
      return r.status() == 404 || r.status() == 400;
    });
    awaitTrue("its driver to be gone", () -> gone(pid));
    assertTrue(next[0] > 0);
  }

  @Test
  void theOperatorsConfBlacklistAndLocalDirWhitelistApply() {
    Response black = post("/sessions", "{\"conf\": {\"spark.driver.extraJavaOptions\": \"-Xdebug\"}}");
    assertEquals(400, black.status(), black.body());
    assertTrue(black.msg().contains("spark.driver.extraJavaOptions is blacklisted"), black.body());
    assertEquals(400, post("/sessions", "{\"conf\": {\"spark.yarn.jars\": \"x\"}}").status());

    for (String path : List.of("/etc/passwd", "file:/etc/passwd", "/opt/allowed/../../etc/passwd", "relative.jar",
        "/opt/allowedness/a.jar")) {
      Response r = post("/sessions", "{\"jars\": [\"" + path + "\"]}");
      assertEquals(400, r.status(), path + " -> " + r.body());
    }
    assertEquals(201, post("/sessions", "{\"files\": [\"file:///opt/allowed/data.csv\"]}").status());
    assertEquals(201, post("/sessions", "{\"jars\": [\"hdfs:///libs/a.jar\", \"/opt/allowed/b.jar\"]}").status());
  }

  private Response request(HttpMethod method, String path, Buffer body, String contentType, String accept) {
    var req = client.request(method, gateway.port(), "127.0.0.1", path).timeout(10_000).putHeader("Accept", accept);
    if (contentType != null) {
      req.putHeader("Content-Type", contentType);
    }
    var r = await(body == null ? req.send() : req.sendBuffer(body));
    return new Response(r.statusCode(), r.headers(), r.bodyAsString() == null ? "" : r.bodyAsString());
  }
}
