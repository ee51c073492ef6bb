package io.sparkgate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.sparkgate.gateway.testing.GatewayTestBase;
import org.junit.jupiter.api.Test;

/** heartbeatTimeoutInSecond: a session no client called for that long is stopped and removed, as in Livy. */
class HeartbeatTimeoutTest extends GatewayTestBase {

  @Test
  void aSessionClientsKeepCallingStaysAndOneTheyForgetGoes() throws InterruptedException {
    int watched = createSession("{\"kind\":\"spark\",\"heartbeatTimeoutInSecond\":1}");
    int forgotten = createSession("{\"kind\":\"spark\",\"heartbeatTimeoutInSecond\":1}");
    int noHeartbeat = createSession("{\"kind\":\"spark\"}");
    long forgottenPid = driverPid(forgotten);
    long watchedPid = driverPid(watched);
    long until = System.nanoTime() + 2_500_000_000L;
    while (System.nanoTime() < until) {
      assertEquals(200, get("/sessions/" + watched + "/state").status());
      Thread.sleep(200);
    }
    assertEquals(404, get("/sessions/" + forgotten).status());
    awaitTrue("the forgotten session's driver to be stopped", () -> gone(forgottenPid));
    assertEquals(200, get("/sessions/" + watched).status());
    assertEquals(200, get("/sessions/" + noHeartbeat).status());
    // Listing all sessions is not a call on one session (Livy does not count it either).
    awaitTrue("the watched session to expire once no one calls it",
        () -> get("/sessions").json().getJsonArray("sessions").stream()
            .noneMatch(s -> ((io.vertx.core.json.JsonObject) s).getInteger("id") == watched));
    awaitTrue("the watched session's driver to be stopped", () -> gone(watchedPid));
  }
}
