package io.sparkgate.gateway.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.http.HttpMethod;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * CSRF protection on ({@code livy.server.csrf-protection.enabled}): a request that changes something
 * without {@code X-Requested-By} is refused with 400 naming the header; reads need nothing. (Off, the
 * default, every other test posts without the header.)
 */
class CsrfTest extends SecureGatewayTestBase {

  @Override
  protected Map<String, String> warmUpHeaders() {
    return Map.of("X-Requested-By", "warm-up");
  }

  @Override
  protected Map<String, String> settings() {
    return Map.of("livy.server.csrf-protection.enabled", "true");
  }

  @Test
  void changesNeedTheHeaderReadsDoNot() {
    Response refused = post("/sessions", "{\"kind\":\"spark\"}");
    assertEquals(400, refused.status());
    assertEquals("Missing the X-Requested-By header, which CSRF protection requires on POST requests", refused.msg());

    Response created = call(HttpMethod.POST, "/sessions", "{\"kind\":\"spark\"}", Map.of("X-Requested-By", "sparkmagic"));
    assertEquals(201, created.status(), created.body());
    int id = created.json().getInteger("id");
    assertEquals(200, get("/sessions/" + id).status());
    assertEquals(200, get("/sessions").status());

    for (HttpMethod m : new HttpMethod[] {HttpMethod.DELETE, HttpMethod.PUT, HttpMethod.PATCH}) {
      Response r = call(m, "/sessions/" + id, null, Map.of());
      assertEquals(400, r.status(), m.name());
      assertEquals("Missing the X-Requested-By header, which CSRF protection requires on " + m.name() + " requests",
          r.msg());
    }
    assertEquals(200, call(HttpMethod.DELETE, "/sessions/" + id, null, Map.of("X-Requested-By", "x")).status());
  }
}
