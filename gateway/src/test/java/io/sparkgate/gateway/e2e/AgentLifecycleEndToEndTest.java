package io.sparkgate.gateway.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.testing.GatewayTestBase;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A driver whose gateway goes away exits by itself after {@code sparkgate.agent.idle-exit}, instead
 * of holding a cluster's resources forever. The agent server is closed under a running session (as a
 * crashed gateway would vanish); the REST API stays up to watch what happens.
 */
class AgentLifecycleEndToEndTest extends EndToEndTestBase {

  @Override
  Map<String, String> settings() {
    // The agent gives up after 3 s without the gateway; the gateway would wait 5 minutes for it.
    return Map.of("sparkgate.agent.idle-exit", "3s", "sparkgate.agent.reconnect-grace", "300s");
  }

  @Test
  void aDriverWithoutItsGatewayExitsAfterTheIdleExitTime() {
    int session = createSession("{\"kind\": \"sql\", \"name\": \"e2e-orphan\", \"conf\": {\"spark.ui.enabled\": \"false\"}}")
        .getInteger("id");
    gw.awaitSessionState(session, "idle", START);
    assertTrue(driverProcess(session).isPresent());

    GatewayTestBase.await(gw.agentServer.close());

    RealSparkGateway.await("the orphaned driver to exit", Duration.ofSeconds(60), () -> driverProcess(session),
        Optional::isEmpty);
    JsonObject s = RealSparkGateway.await("the session to see its driver gone", Duration.ofSeconds(30),
        () -> gw.get("/sessions/" + session).json(), j -> j.getString("state").equals("dead"));
    assertEquals("dead", s.getString("state"));
    // As Livy: a session that ended by itself stays listed, by id and name, in its final state.
    assertTrue(gw.get("/sessions").json().getJsonArray("sessions").stream().map(JsonObject.class::cast)
        .anyMatch(j -> j.getInteger("id") == session && j.getString("state").equals("dead")));
    assertEquals("dead", gw.get("/sessions/e2e-orphan/state").json().getString("state"));
  }

  private static Optional<ProcessHandle> driverProcess(int session) {
    return ProcessHandle.allProcesses()
        .filter(p -> p.info().commandLine()
            .map(c -> c.contains("io.sparkgate.agent.AgentMain") && c.contains("spark.sparkgate.session.id=" + session)
                && c.contains("e2e-orphan"))
            .orElse(false))
        .findFirst();
  }
}
