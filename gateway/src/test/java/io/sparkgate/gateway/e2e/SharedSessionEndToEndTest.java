package io.sparkgate.gateway.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * A shared session (created without a kind) through a real driver: every statement names its
 * kind, and Scala, SQL and Python share one SparkSession, so a view made in one is read by the
 * others. Also SQL's output shapes, an error in each language and Scala completion.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SharedSessionEndToEndTest extends EndToEndTestBase {
  private int session;

  @Override
  Map<String, String> settings() {
    return Map.of("sparkgate.sql.max-rows", "3");
  }

  @BeforeAll
  void startSession() {
    JsonObject created = createSession("{\"name\": \"e2e-shared\", \"conf\": {\"spark.ui.enabled\": \"false\"}}");
    session = created.getInteger("id");
    assertEquals("shared", created.getString("kind"), "Livy names a session without kind shared");
    gw.awaitSessionState(session, "idle", START);
  }

  private JsonObject run(String kind, String code) {
    return output(session, kind, code);
  }

  private JsonObject ok(String kind, String code) {
    return data(session, kind, code);
  }

  @Test
  @Order(1)
  void aStatementWithoutKindIsRefused() {
    RealSparkGateway.Answer a = gw.post("/sessions/" + session + "/statements", "{\"code\": \"1 + 1\"}");
    assertEquals(400, a.status(), a.response().body());
    assertTrue(a.json().getString("msg").contains("kind"), a.json().encode());
  }

  @Test
  @Order(2)
  void aViewMadeInScalaIsReadFromSqlAndPython() {
    ok("spark", "spark.range(5).toDF(\"n\").createOrReplaceTempView(\"nums\")");

    JsonObject sql = ok("sql", "select count(*) as total, max(n) as top from nums");
    JsonObject json = sql.getJsonObject("application/json");
    assertEquals(new JsonArray().add(new JsonArray().add(5).add(4)), json.getJsonArray("data"));
    JsonArray fields = json.getJsonObject("schema").getJsonArray("fields");
    assertEquals("total", fields.getJsonObject(0).getString("name"));
    assertEquals("top", fields.getJsonObject(1).getString("name"));
    assertTrue(sql.getString("text/plain").contains("total"), sql.encode());

    assertEquals(new JsonObject().put("text/plain", "5"), ok("pyspark", "spark.table('nums').count()"));

    // The gateway's row cap (3 here) reaches the driver.
    JsonArray rows = ok("sql", "select n from nums order by n").getJsonObject("application/json").getJsonArray("data");
    assertEquals(new JsonArray().add(new JsonArray().add(0)).add(new JsonArray().add(1)).add(new JsonArray().add(2)), rows);
  }

  @Test
  @Order(3)
  void anErrorInEachLanguage() {
    JsonObject scala = run("spark", "undefinedValue + 1");
    assertEquals("error", scala.getString("status"));
    assertTrue(scala.getString("evalue").contains("not found: value undefinedValue"), scala.encode());

    JsonObject sql = run("sql", "select * from no_such_table");
    assertEquals("error", sql.getString("status"));
    assertTrue(sql.getString("evalue").contains("no_such_table"), sql.encode());

    JsonObject python = run("pyspark", "1 / 0");
    assertEquals("error", python.getString("status"));
    assertEquals("ZeroDivisionError", python.getString("ename"));
    assertEquals("division by zero", python.getString("evalue"));
  }

  @Test
  @Order(4)
  void withoutSparkRTheRStatementAndTheSparkrSessionSaySoClearly() {
    // The provisioned Spark (the pyspark package) carries no SparkR.
    JsonObject r = run("sparkr", "1 + 1");
    assertEquals("error", r.getString("status"), r.encode());
    assertTrue(r.getString("evalue").contains("SparkR") && r.getString("evalue").contains("R/lib/SparkR"), r.encode());
    assertEquals("idle", gw.get("/sessions/" + session + "/state").json().getString("state"));

    RealSparkGateway.Answer created = gw.post("/sessions", "{\"kind\": \"sparkr\"}");
    assertEquals(400, created.status(), created.response().body());
    assertTrue(created.json().getString("msg").contains("R/lib/SparkR"), created.json().encode());
  }

  @Test
  @Order(5)
  void scalaCompletion() {
    RealSparkGateway.Answer a = gw.post("/sessions/" + session + "/completion",
        "{\"code\": \"spark.ran\", \"kind\": \"spark\", \"cursor\": 9}");
    assertEquals(200, a.status(), a.response().body());
    assertTrue(a.json().getJsonArray("candidates").contains("range"), a.json().encode());
  }

  @Test
  @Order(6)
  void anErrorWithATwentyMegabyteMessageEndsTheStatementWithACutMessageAndTheSessionGoesOn() {
    // A result larger than a frame once dropped the link on every replay and left the session busy.
    for (String[] kindAndCode : new String[][] {
        {"spark", "throw new RuntimeException(\"x\" * (20 * 1024 * 1024))"},
        {"sql", "select raise_error(repeat('x', 20971520))"},
        {"pyspark", "raise ValueError('x' * (20 * 1024 * 1024))"}}) {
      JsonObject error = run(kindAndCode[0], kindAndCode[1]);
      assertEquals("error", error.getString("status"), kindAndCode[0]);
      String evalue = error.getString("evalue");
      assertTrue(evalue.contains("x".repeat(1000)) && evalue.contains("cut]") && evalue.length() < 200_000,
          kindAndCode[0] + ": an evalue of " + evalue.length() + " characters ending " + evalue.substring(Math.max(0, evalue.length() - 60)));
      assertEquals("idle", gw.get("/sessions/" + session + "/state").json().getString("state"), kindAndCode[0]);
    }
    assertEquals(new JsonObject().put("text/plain", "2"), ok("pyspark", "1 + 1"));
  }
}
