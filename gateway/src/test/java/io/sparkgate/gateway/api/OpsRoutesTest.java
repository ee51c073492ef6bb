package io.sparkgate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.testing.GatewayTestBase;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;

/**
 * The operator's routes: liveness, readiness (down when spark-submit cannot be run, and saying
 * why), Livy's redirect from {@code /} to the UI, and the UI's files with their cache validators.
 */
class OpsRoutesTest extends GatewayTestBase {

  @Override
  protected void warmUp() {
    get("/health/ready");
    get("/ui");
  }

  @Test
  void liveAndReady() {
    Response live = get("/health/live");
    assertEquals(200, live.status());
    assertEquals("UP", live.json().getString("status"));

    Response ready = get("/health/ready");
    assertEquals(200, ready.status(), ready.body());
    JsonObject body = ready.json();
    assertEquals("UP", body.getString("status"));
    assertEquals("UP", body.getString("outcome"));
    JsonArray checks = body.getJsonArray("checks");
    assertEquals(new JsonObject().put("id", "agent-server").put("status", "UP"), checks.getJsonObject(0));
    assertEquals(new JsonObject().put("id", "spark").put("status", "UP"), checks.getJsonObject(1));
    // This class's gateway keeps its records in a state store of its own: ready checks it answers.
    assertEquals(new JsonObject().put("id", "state-store").put("status", "UP"), checks.getJsonObject(2));
  }

  @Test
  void notReadyWhenSparkSubmitCannotRun() throws Exception {
    Path submit = spark.home.resolve("bin").resolve("spark-submit");
    var perms = Files.getPosixFilePermissions(submit);
    Files.setPosixFilePermissions(submit, PosixFilePermissions.fromString("rw-r--r--"));
    try {
      Response ready = get("/health/ready");
      assertEquals(503, ready.status(), ready.body());
      JsonObject body = ready.json();
      assertEquals("DOWN", body.getString("status"));
      JsonObject check = body.getJsonArray("checks").getJsonObject(1);
      assertEquals("spark", check.getString("id"));
      assertEquals("DOWN", check.getString("status"));
      assertTrue(check.getJsonObject("data").getString("cause").contains("spark-submit"), check.encode());
      assertEquals(200, get("/health/live").status(), "alive all the same");
    } finally {
      Files.setPosixFilePermissions(submit, perms);
    }
    assertEquals(200, get("/health/ready").status());
  }

  @Test
  void rootRedirectsToTheUi() {
    var root = await(client.get(gateway.port(), "127.0.0.1", "/").followRedirects(false).send());
    assertEquals(302, root.statusCode());
    assertEquals("/ui", root.getHeader("Location"));
  }

  @Test
  void uiFilesWithValidators() {
    Response page = get("/ui");
    assertEquals(200, page.status());
    assertTrue(page.headers().get("content-type").startsWith("text/html"), page.headers().toString());
    assertTrue(page.body().contains("<title>Sparkgate</title>"), page.body());
    String etag = page.headers().get("ETag");
    assertEquals("no-cache", page.headers().get("Cache-Control"));

    var again = await(client.get(gateway.port(), "127.0.0.1", "/ui/index.html").putHeader("If-None-Match", etag).send());
    assertEquals(304, again.statusCode());

    Response js = get("/ui/app.js");
    assertEquals(200, js.status());
    assertTrue(js.headers().get("content-type").startsWith("text/javascript"));
    assertEquals(200, get("/ui/app.css").status());
    Response missing = get("/ui/nothing.js");
    assertEquals(404, missing.status());
    assertTrue(missing.msg().contains("/ui/nothing.js"));
  }
}
