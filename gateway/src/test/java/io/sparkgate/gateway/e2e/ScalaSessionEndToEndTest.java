package io.sparkgate.gateway.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.sparkgate.gateway.testing.LivyShapes;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * A Scala session end to end, with nothing faked: the gateway launches a real driver through
 * spark-submit (local master), the driver-agent dials back over the real protocol, and statements
 * run in the Scala REPL inside the driver. One driver serves every test of the class; the last one
 * deletes it.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ScalaSessionEndToEndTest extends EndToEndTestBase {
  private int session;

  @BeforeAll
  void startSession() {
    JsonObject created = createSession(
        "{\"kind\": \"spark\", \"name\": \"e2e-scala\", \"conf\": {\"spark.ui.enabled\": \"false\"}}");
    session = created.getInteger("id");
    assertEquals("starting", created.getString("state"));
  }

  @Test
  @Order(1)
  void sessionBecomesIdleWithLivysShape() {
    JsonObject s = gw.awaitSessionState(session, "idle", START);
    assertEquals(session, s.getInteger("id"));
    assertEquals("e2e-scala", s.getString("name"));
    assertEquals("spark", s.getString("kind"));
    assertTrue(s.getString("appId").startsWith("local-"), s.encode());
    assertNull(s.getValue("owner"));
    assertNull(s.getValue("proxyUser"));
    assertTrue(s.containsKey("appInfo"), s.encode());
    assertTrue(s.getJsonArray("log") != null, s.encode());
    assertEquals(new JsonObject().put("id", session).put("state", "idle"),
        gw.get("/sessions/" + session + "/state").json());
  }

  @Test
  @Order(2)
  void sparkJobGivesTheWholeStatement() {
    String code = "sc.parallelize(1 to 100000).map(_ * 2).sum";
    int id = gw.submit(session, code);
    JsonObject st = gw.awaitStatement(session, id, RUN);
    assertEquals(id, st.getInteger("id"));
    assertEquals(code, st.getString("code"));
    assertEquals("available", st.getString("state"));
    assertEquals(1.0, st.getDouble("progress"));
    assertEquals(new JsonObject()
            .put("status", "ok")
            .put("execution_count", id)
            .put("data", new JsonObject().put("text/plain", "val res0: Double = 1.00001E10\n")),
        st.getJsonObject("output"));
    long driverMicros = gw.get("/sessions/" + session + "/statements/" + id).response()
        .headers().firstValueAsLong("Sparkgate-Execution-Micros").orElse(0);
    assertTrue(driverMicros > 0, "the driver's own time of a finished statement");
    long started = st.getLong("started");
    long completed = st.getLong("completed");
    assertTrue(started > 0 && completed >= started, st.encode());
  }

  @Test
  @Order(3)
  void printedOutputComesBeforeTheValue() {
    int id = gw.submit(session, "println(\"hello from the driver\")\n21 * 2");
    JsonObject st = gw.awaitStatement(session, id, RUN);
    assertEquals("available", st.getString("state"));
    JsonObject output = st.getJsonObject("output");
    assertEquals("ok", output.getString("status"));
    assertEquals(id, output.getInteger("execution_count"));
    assertEquals("hello from the driver\nval res1: Int = 42\n", output.getJsonObject("data").getString("text/plain"));
  }

  @Test
  @Order(4)
  void runtimeErrorGivesLivysErrorOutput() {
    int id = gw.submit(session, "val zero = 0\n1 / zero");
    JsonObject st = gw.awaitStatement(session, id, RUN);
    assertEquals("available", st.getString("state"));
    JsonObject output = st.getJsonObject("output");
    assertEquals("error", output.getString("status"));
    assertEquals(id, output.getInteger("execution_count"));
    assertEquals("Error", output.getString("ename"));
    assertEquals("java.lang.ArithmeticException: / by zero", output.getString("evalue"));
    assertTrue(output.getJsonArray("traceback") instanceof JsonArray, output.encode());
    assertFalse(output.containsKey("data"), output.encode());
  }

  @Test
  @Order(5)
  void compileErrorGivesLivysErrorOutput() {
    int id = gw.submit(session, "val n: Int = \"not a number\"");
    JsonObject output = gw.awaitStatement(session, id, RUN).getJsonObject("output");
    assertEquals("error", output.getString("status"));
    assertEquals("Error", output.getString("ename"));
    assertTrue(output.getString("evalue").contains("error"), output.encode());
    assertTrue(String.join("", output.getJsonArray("traceback").getList()).contains("type mismatch")
        || output.getString("evalue").contains("type mismatch"), output.encode());
  }

  @Test
  @Order(6)
  void longStatementIsCancelledAndTheSessionGoesBackToIdle() {
    int id = gw.submit(session, "sc.parallelize(1 to 4, 4).map { i => Thread.sleep(120000); i }.count()");
    RealSparkGateway.await("statement to run", RUN,
        () -> gw.get("/sessions/" + session + "/statements/" + id).json(),
        s -> s.getString("state").equals("running"));
    assertEquals("busy", gw.get("/sessions/" + session + "/state").json().getString("state"));

    RealSparkGateway.Answer cancel = gw.post("/sessions/" + session + "/statements/" + id + "/cancel", "");
    assertEquals(200, cancel.status(), cancel.response().body());
    assertEquals(new JsonObject().put("msg", "canceled"), cancel.json());

    JsonObject st = gw.awaitStatement(session, id, Duration.ofSeconds(30));
    assertEquals("cancelled", st.getString("state"));
    gw.awaitSessionState(session, "idle", Duration.ofSeconds(30));

    // The session still works.
    int next = gw.submit(session, "1 + 1");
    JsonObject after = gw.awaitStatement(session, next, RUN);
    assertEquals("ok", after.getJsonObject("output").getString("status"), after.encode());
  }

  @Test
  @Order(7)
  void statementsListAndSessionLog() {
    JsonObject list = gw.get("/sessions/" + session + "/statements").json();
    JsonArray statements = list.getJsonArray("statements");
    assertEquals(statements.size(), list.getInteger("total_statements"));
    assertTrue(statements.size() >= 6, list.encode());
    for (int i = 0; i < statements.size(); i++) {
      assertEquals(i, statements.getJsonObject(i).getInteger("id"));
    }

    JsonObject log = gw.get("/sessions/" + session + "/log?from=0&size=1000").json();
    assertEquals(session, log.getInteger("id"));
    assertEquals(0, log.getInteger("from"));
    List<Object> lines = log.getJsonArray("log").getList();
    assertFalse(lines.isEmpty(), log.encode());
    assertTrue(lines.stream().anyMatch(l -> l.toString().contains("SparkContext")), "spark-submit output in " + log);
    assertFalse(String.join("\n", lines.stream().map(Object::toString).toList()).contains("SPARKGATE_SESSION_SECRET="),
        "the session secret must never be logged");
  }

  @Test
  @Order(8)
  void aRealSessionAndItsStatementsHaveLivysShapesByIdOrName() {
    LivyShapes.assertShape(LivyShapes.SESSION, gw.get("/sessions/e2e-scala").response().body(),
        LivyShapes.SESSION_NULLABLE);
    JsonObject s = gw.get("/sessions/e2e-scala").json();
    assertEquals(session, s.getInteger("id"));
    assertEquals(new JsonObject().put("spark.ui.enabled", "false"), s.getJsonObject("conf"));
    String listing = gw.get("/sessions/e2e-scala/statements?order=desc").response().body();
    LivyShapes.assertList(listing, List.of("total_statements", "statements"), "statements", LivyShapes.STATEMENT,
        LivyShapes.STATEMENT_NULLABLE);
    JsonArray newestFirst = new JsonObject(listing).getJsonArray("statements");
    assertTrue(newestFirst.size() >= 2, listing);
    for (int i = 1; i < newestFirst.size(); i++) {
      assertTrue(newestFirst.getJsonObject(i - 1).getInteger("id") > newestFirst.getJsonObject(i).getInteger("id"),
          listing);
    }
    LivyShapes.assertShape(LivyShapes.LOG, gw.get("/sessions/e2e-scala/log?size=5").response().body(),
        java.util.Set.of());
    LivyShapes.assertShape(LivyShapes.VERSION, gw.get("/version").response().body(), java.util.Set.of(),
        "sparkgateVersion");
  }

  @Test
  @Order(100)
  void deleteEndsTheDriverProcess() {
    assertTrue(driverProcess().isPresent(), "a driver process for session " + session);
    RealSparkGateway.Answer deleted = gw.delete("/sessions/" + session);
    assertEquals(200, deleted.status(), deleted.response().body());
    assertEquals(new JsonObject().put("msg", "deleted"), deleted.json());
    // As Livy: listed shutting_down while the driver stops (by its name too), then forgotten.
    RealSparkGateway.Answer during = gw.get("/sessions/e2e-scala");
    assertTrue(during.status() == 404 || during.json().getString("state").equals("shutting_down"),
        during.response().body());
    RealSparkGateway.await("the driver process to exit", Duration.ofSeconds(30), this::driverProcess,
        Optional::isEmpty);
    RealSparkGateway.await("the session to be forgotten", Duration.ofSeconds(30),
        () -> gw.get("/sessions/" + session).status(), status -> status == 404);
  }

  /** The driver JVM of this class's session, found as a user would, by its command line. */
  private Optional<ProcessHandle> driverProcess() {
    return ProcessHandle.allProcesses()
        .filter(p -> p.info().commandLine()
            .map(c -> c.contains("io.sparkgate.agent.AgentMain") && c.contains("spark.sparkgate.session.id=" + session)
                && c.contains("e2e-scala"))
            .orElse(false))
        .findFirst();
  }
}
