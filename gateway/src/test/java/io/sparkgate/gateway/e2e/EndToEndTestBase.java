package io.sparkgate.gateway.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/**
 * One {@link RealSparkGateway} per test class, started before the class's own set-up (which
 * usually starts the one driver its tests share) and stopped after it, and every test checked for a
 * blocked event loop. Also the request steps the end-to-end tests repeat.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class EndToEndTestBase {
  /** A driver's start on a loaded 2-core machine. */
  static final Duration START = Duration.ofSeconds(240);
  /** A statement's run. */
  static final Duration RUN = Duration.ofSeconds(120);

  RealSparkGateway gw;

  /** This class's gateway settings, over {@link RealSparkGateway}'s. */
  Map<String, String> settings() {
    return Map.of();
  }

  /** Whether this class's agents dial through a {@link io.sparkgate.gateway.testing.LinkProxy} ({@code gw.proxy}). */
  boolean proxied() {
    return false;
  }

  @BeforeAll
  final void startGateway() throws Exception {
    gw = new RealSparkGateway(settings(), proxied());
  }

  @AfterAll
  final void stopGateway() {
    if (gw != null) {
      gw.close();
    }
  }

  @AfterEach
  final void eventLoopsNeverBlocked() {
    gw.assertNoBlockedEventLoop();
  }

  /** POSTs {@code body} to /sessions, checks the 201 and its Location header, returns the session. */
  JsonObject createSession(String body) {
    RealSparkGateway.Answer created = gw.post("/sessions", body);
    assertEquals(201, created.status(), created.response().body());
    JsonObject session = created.json();
    assertEquals(Optional.of("/sessions/" + session.getInteger("id")), created.response().headers().firstValue("Location"));
    return session;
  }

  /**
   * Runs {@code code} in {@code session} (with {@code kind}, or the session's when null) to its end,
   * checks the statement is {@code available}, and returns its output.
   */
  JsonObject output(int session, String kind, String code) {
    JsonObject body = new JsonObject().put("code", code);
    if (kind != null) {
      body.put("kind", kind);
    }
    RealSparkGateway.Answer a = gw.post("/sessions/" + session + "/statements", body.encode());
    assertEquals(201, a.status(), a.response().body());
    JsonObject st = gw.awaitStatement(session, a.json().getInteger("id"), RUN);
    assertEquals("available", st.getString("state"), st.encode());
    return st.getJsonObject("output");
  }

  /** As {@link #output}, checking the output is ok; returns its data. */
  JsonObject data(int session, String kind, String code) {
    JsonObject output = output(session, kind, code);
    assertEquals("ok", output.getString("status"), output.encode());
    return output.getJsonObject("data");
  }
}
