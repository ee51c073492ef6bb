package io.sparkgate.gateway.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.http.HttpMethod;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code sparkgate.auth.type = basic}: HTTP Basic checked against an htpasswd file by Vert.x Auth,
 * in front of every route, over a real HTTP server.
 */
class BasicAuthTest extends SecureGatewayTestBase {

  @Override
  protected Map<String, String> warmUpHeaders() {
    return Map.of("Authorization", basic("alice", "wonder land"));
  }

  @Override
  protected Map<String, String> settings() {
    var file = htpasswd(tempDir("sparkgate-basic"), Map.of("alice", "wonder land", "bob", "builder"));
    return Map.of("sparkgate.auth.type", "basic", "sparkgate.auth.basic.htpasswd-file", file.toString(),
        "sparkgate.auth.realm", "Spark at ACME");
  }

  @Test
  void withoutCredentialsEveryRouteAnswers401WithTheBasicChallenge() {
    for (String path : new String[] {"/version", "/sessions", "/sessions/0", "/nowhere"}) {
      Response r = get(path);
      assertEquals(401, r.status(), path);
      assertEquals("Basic realm=\"Spark at ACME\", charset=\"UTF-8\"", r.headers().get("WWW-Authenticate"), path);
      assertEquals("Authentication required", r.msg());
    }
    Response r = post("/sessions", "{\"kind\":\"spark\"}");
    assertEquals(401, r.status());
    // The operations routes too, but for the health probes, which cannot authenticate.
    for (String path : new String[] {"/metrics", "/ui", "/openapi.json"}) {
      assertEquals(401, get(path).status(), path);
    }
    assertEquals(200, get("/health/live").status());
    Map<String, String> alice = Map.of("Authorization", basic("alice", "wonder land"));
    assertEquals(200, call(HttpMethod.GET, "/metrics", null, alice).status());
  }

  @Test
  void wrongPasswordUnknownUserAndGarbageAre401() {
    for (String auth : new String[] {basic("alice", "wonderland"), basic("carol", "builder"), basic("alice", ""),
        "Basic !!!", "Basic " + java.util.Base64.getEncoder().encodeToString("alice".getBytes()),
        "Bearer abc", "Negotiate YII="}) {
      Response r = call(HttpMethod.GET, "/sessions", null, Map.of("Authorization", auth));
      assertEquals(401, r.status(), auth);
      assertTrue(r.headers().get("WWW-Authenticate").startsWith("Basic realm="), auth);
      assertTrue(!r.msg().contains("wonder"), "the message never repeats a password: " + r.body());
    }
  }

  @Test
  void theAuthenticatedUserOwnsTheSessionItCreates() {
    Map<String, String> alice = Map.of("Authorization", basic("alice", "wonder land"));
    assertEquals(200, call(HttpMethod.GET, "/version", null, alice).status());
    Response created = call(HttpMethod.POST, "/sessions", "{\"kind\":\"spark\"}", alice);
    assertEquals(201, created.status(), created.body());
    assertEquals("alice", created.json().getString("owner"));
    // Impersonation is off: nobody is impersonated.
    assertEquals(null, created.json().getString("proxyUser"));
    int id = created.json().getInteger("id");
    Response got = call(HttpMethod.GET, "/sessions/" + id, null, alice);
    assertEquals("alice", got.json().getString("owner"));
    // CSRF protection is off: a DELETE without X-Requested-By is fine.
    assertEquals(200, call(HttpMethod.DELETE, "/sessions/" + id, null, alice).status());
  }

  @Test
  void proxyUserAndDoAsAreRefusedWhileImpersonationIsOff() {
    Map<String, String> bob = Map.of("Authorization", basic("bob", "builder"));
    Response r = call(HttpMethod.POST, "/sessions", "{\"kind\":\"spark\",\"proxyUser\":\"alice\"}", bob);
    assertEquals(400, r.status());
    assertTrue(r.msg().contains("impersonation, which is disabled"), r.body());
    r = call(HttpMethod.GET, "/sessions?doAs=alice", null, bob);
    assertEquals(400, r.status());
    assertTrue(r.msg().contains("sparkgate.impersonation.enabled"), r.body());
    // Naming oneself is no impersonation.
    r = call(HttpMethod.POST, "/sessions", "{\"kind\":\"spark\",\"proxyUser\":\"bob\"}", bob);
    assertEquals(201, r.status(), r.body());
    assertEquals(null, r.json().getString("proxyUser"));
    assertEquals(200, call(HttpMethod.DELETE, "/sessions/" + r.json().getInteger("id"), null, bob).status());
  }
}
