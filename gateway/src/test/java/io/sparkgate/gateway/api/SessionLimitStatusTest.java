package io.sparkgate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.testing.GatewayTestBase;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code sparkgate.session.limit-status}: an operator whose clients back off on 429 (or 503) gets
 * that status at the session limit instead of Livy's 400 (IdleTimeoutTest checks the default).
 */
class SessionLimitStatusTest extends GatewayTestBase {

  @Override
  protected Map<String, String> settings() {
    return Map.of("sparkgate.session.max-sessions", "1", "sparkgate.session.limit-status", "429");
  }

  @Test
  void theSessionLimitAnswersTheConfiguredStatus() {
    awaitTrue("earlier sessions to be gone", () -> get("/sessions").json().getInteger("total") == 0);
    createSession("{\"kind\": \"sql\"}");
    Response r = post("/sessions", "{\"kind\": \"sql\"}");
    assertEquals(429, r.status(), r.body());
    assertTrue(r.msg().startsWith("Rejected: 1 sessions are alive"), r.body());
  }
}
