package io.sparkgate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.sparkgate.gateway.testing.FakeAgents;
import io.sparkgate.gateway.testing.GatewayTestBase;
import io.sparkgate.proto.Event;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Route;
import io.vertx.json.schema.Draft;
import io.vertx.json.schema.JsonSchema;
import io.vertx.json.schema.JsonSchemaOptions;
import io.vertx.json.schema.JsonSchemaValidationException;
import io.vertx.json.schema.Validator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The OpenAPI description served at {@code GET /openapi.json} is true: every route the router
 * serves is in it and every operation in it is served (walking vertx-web's {@code Router.getRoutes()}),
 * and the JSON of real answers, good and bad, validates against the schemas it gives for that
 * operation and status (vertx-json-schema, draft 2020-12 as OpenAPI 3.1 uses). A new route needs
 * its entry in gateway/src/main/resources/openapi.json. Agents are played by {@link FakeAgents} so
 * that every statement shape can be produced.
 */
class OpenApiSpecTest extends GatewayTestBase {

  private JsonObject spec;

  @Override
  protected void warmUp() {
    spec = get("/openapi.json").json();
  }

  @Test
  void everyRouteIsDescribedAndEveryDescribedOperationIsRouted() {
    Set<String> routed = new TreeSet<>();
    for (Route r : gateway.newRouter().getRoutes()) {
      String path = r.getPath();
      if (path == null || r.methods() == null) {
        continue; // Handlers for every request (CORS, counting), not routes of their own.
      }
      for (HttpMethod m : r.methods()) {
        routed.add(m.name() + " " + path.replaceAll(":([A-Za-z0-9_]+)", "{$1}"));
      }
    }
    Set<String> described = new TreeSet<>();
    JsonObject paths = spec.getJsonObject("paths");
    for (String p : paths.fieldNames()) {
      for (String m : paths.getJsonObject(p).fieldNames()) {
        if (!m.equals("parameters")) {
          described.add(m.toUpperCase() + " " + p);
        }
      }
    }
    assertEquals(routed, described, "routes served (left) vs. operations in openapi.json (right)");
    assertEquals("3.1.0", spec.getString("openapi"));
  }

  @Test
  void realAnswersMatchTheirSchemas() {
    check("/version", "get", "/version");
    check("/health/live", "get", "/health/live");
    check("/health/ready", "get", "/health/ready");
    check("/sessions", "get", "/sessions");
    check("/sessions", "get", "/sessions?from=x");

    int id = createSession("{\"kind\":\"pyspark\",\"name\":\"spec\"}");
    check("/sessions/{id}", "get", "/sessions/" + id);
    FakeAgents.Link link = agents.link(id);
    link.connect();
    link.emit(new Event.Ready("local-spec", "http://spark-ui"));
    awaitState(id, "idle");
    check("/sessions/{id}", "get", "/sessions/" + id);
    check("/sessions/{id}/state", "get", "/sessions/" + id + "/state");
    check("/sessions/{id}/log", "get", "/sessions/" + id + "/log");
    check("/sessions", "get", "/sessions");

    checkPost("/sessions/{id}/statements", "/sessions/" + id + "/statements", "{\"code\":\"1 + 1\"}", 201);
    link.emit(new Event.StatementStarted(0));
    link.emit(new Event.StatementProgress(0, 1, 4));
    check("/sessions/{id}/statements/{sid}", "get", "/sessions/" + id + "/statements/0");
    link.emit(Event.StatementResult.ok(0, "{\"text/plain\":\"2\"}", false).withExecutionMicros(100));
    check("/sessions/{id}/statements/{sid}", "get", "/sessions/" + id + "/statements/0");
    checkPost("/sessions/{id}/statements", "/sessions/" + id + "/statements", "{\"code\":\"x\"}", 201);
    link.emit(Event.StatementResult.error(1, "NameError", "name 'x' is not defined", List.of("line 1")));
    checkPost("/sessions/{id}/statements", "/sessions/" + id + "/statements", "{\"code\":\"y\"}", 201);
    checkPost("/sessions/{id}/statements/{sid}/cancel", "/sessions/" + id + "/statements/2/cancel", "", 200);
    check("/sessions/{id}/statements", "get", "/sessions/" + id + "/statements");
    check("/sessions/{id}/statements/{sid}", "get", "/sessions/" + id + "/statements/1");
    check("/sessions/{id}/statements/{sid}", "get", "/sessions/" + id + "/statements/99");
    checkPost("/sessions/{id}/statements", "/sessions/" + id + "/statements", "{\"code\":\"\"}", 400);
    checkPost("/sessions", "/sessions", "{\"kind\":\"cobol\"}", 400);
    check("/batches", "get", "/batches");
    check("/batches/{id}", "get", "/batches/7");
    check("/batches/{id}/state", "get", "/batches/7/state");
    check("/sessions/{id}", "delete", "/sessions/" + id);
    check("/sessions/{id}", "get", "/sessions/" + id);
  }

  private void check(String template, String method, String uri) {
    Response r = request(HttpMethod.valueOf(method.toUpperCase()), uri, null, null);
    validate(template, method, r);
  }

  private void checkPost(String template, String uri, String body, int expected) {
    Response r = post(uri, body);
    assertEquals(expected, r.status(), r.body());
    validate(template, "post", r);
  }

  /** Validates {@code r}'s JSON against the schema openapi.json gives for its operation and status. */
  private void validate(String template, String method, Response r) {
    JsonObject op = spec.getJsonObject("paths").getJsonObject(template).getJsonObject(method);
    assertNotNull(op, method + " " + template + " is not described");
    JsonObject responses = op.getJsonObject("responses");
    String status = Integer.toString(r.status());
    assertTrue(responses.containsKey(status), method + " " + template + " answered " + status
        + ", a status openapi.json does not list for it: " + r.body());
    JsonObject content = responses.getJsonObject(status).getJsonObject("content");
    assertNotNull(content, method + " " + template + " " + status + " has no content in openapi.json");
    assertTrue(r.headers().get("content-type").startsWith("application/json"), r.headers().get("content-type"));
    // The whole document is the schema's root, so "#/components/schemas/..." references resolve;
    // its $ref points at this response's schema.
    String pointer = "#/paths/" + escape(template) + "/" + method + "/responses/" + status
        + "/content/application~1json/schema";
    JsonObject root = spec.copy().put("$ref", pointer);
    Validator v = Validator.create(JsonSchema.of(root),
        new JsonSchemaOptions().setDraft(Draft.DRAFT202012).setBaseUri("https://sparkgate.invalid/openapi.json"));
    Object json = io.vertx.core.json.Json.decodeValue(r.body());
    try {
      v.validate(json).checkValidity();
    } catch (JsonSchemaValidationException e) {
      fail(method + " " + template + " " + status + " does not match its schema: " + e.getMessage() + " in " + r.body());
    }
  }

  private static String escape(String path) {
    return path.replace("~", "~0").replace("/", "~1");
  }

  @Test
  void theValidatorCatchesAnAnswerThatBreaksItsSchema() throws JsonSchemaValidationException {
    JsonObject root = spec.copy().put("$ref", "#/components/schemas/Session");
    Validator v = Validator.create(JsonSchema.of(root),
        new JsonSchemaOptions().setDraft(Draft.DRAFT202012).setBaseUri("https://sparkgate.invalid/openapi.json"));
    JsonObject session = new JsonObject(Map.of("id", 1, "name", "x", "appId", "a", "owner", "o", "proxyUser", "p",
        "state", "idle", "kind", "spark", "appInfo", new JsonObject().put("driverLogUrl", (String) null)
            .put("sparkUiUrl", (String) null), "log", List.of()));
    v.validate(session).checkValidity();
    boolean caught = false;
    try {
      v.validate(session.copy().put("state", "sleeping")).checkValidity();
    } catch (JsonSchemaValidationException e) {
      caught = true;
    }
    assertTrue(caught, "a state outside the enum passed");
  }
}
