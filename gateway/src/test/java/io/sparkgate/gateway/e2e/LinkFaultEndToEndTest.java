package io.sparkgate.gateway.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Network faults between a real driver's agent and the gateway, made by a
 * {@link io.sparkgate.gateway.testing.LinkProxy} on the agent's path: a link down for 30 s in the
 * middle of a statement loses nothing and repeats nothing; a link down for longer than the
 * reconnect grace ends the session {@code dead}, says why, and its driver exits. One pyspark driver
 * for both (the second test ends it).
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LinkFaultEndToEndTest extends EndToEndTestBase {
  private static final String NAME = "e2e-link-faults";
  private static final Duration GRACE = Duration.ofSeconds(60);
  private static final Duration OUTAGE = Duration.ofSeconds(30);
  private int session;

  @Override
  Map<String, String> settings() {
    return Map.of("sparkgate.agent.reconnect-grace", GRACE.toSeconds() + "s");
  }

  @Override
  boolean proxied() {
    return true;
  }

  @BeforeAll
  void startSession() {
    session = createSession("{\"kind\": \"pyspark\", \"name\": \"" + NAME + "\", \"conf\": {\"spark.ui.enabled\": \"false\"}}")
        .getInteger("id");
    gw.awaitSessionState(session, "idle", START);
  }

  @Test
  @Order(1)
  void aLinkDownForThirtySecondsMidStatementLosesNothingAndRepeatsNothing() throws Exception {
    long connectionsBefore = gw.proxy.connections();
    // Prints for about 30 s: it goes on printing while the link is down and ends during the outage,
    // so its last output and its result wait in the agent and are replayed.
    String code = "import time\nfor i in range(60):\n    print('line %d' % i, flush=True)\n    time.sleep(0.5)";
    RealSparkGateway.Answer submitted = gw.post("/sessions/" + session + "/statements", new JsonObject().put("code", code).encode());
    assertEquals(201, submitted.status(), submitted.response().body());
    int statement = submitted.json().getInteger("id");
    RealSparkGateway.await("the statement to run", RUN, () -> gw.get("/sessions/" + session + "/statements/" + statement).json(),
        st -> "running".equals(st.getString("state")));

    gw.proxy.down(true);
    Thread.sleep(OUTAGE.toMillis());
    assertEquals("busy", gw.get("/sessions/" + session + "/state").json().getString("state"),
        "within the grace the session waits for its agent");
    gw.proxy.down(false);

    JsonObject done = gw.awaitStatement(session, statement, RUN);
    assertEquals("available", done.getString("state"), done.encode());
    String expected = IntStream.range(0, 60).mapToObj(i -> "line " + i).collect(Collectors.joining("\n"));
    assertEquals(expected, done.getJsonObject("output").getJsonObject("data").getString("text/plain"),
        "every line once, in order");
    assertTrue(gw.proxy.connections() > connectionsBefore, "the agent dialled back");
    gw.awaitSessionState(session, "idle", RUN);
    assertEquals(new JsonObject().put("text/plain", "2"), data(session, null, "1 + 1"));
  }

  @Test
  @Order(2)
  void aLinkDownLongerThanTheGraceEndsTheSessionDeadAndTheDriverExits() {
    assertTrue(driverProcess().isPresent());
    gw.proxy.down(true);

    JsonObject ended = gw.awaitSessionState(session, "dead", GRACE.plus(RUN));
    String log = gw.get("/sessions/" + session + "/log?from=0&size=1000").json().getJsonArray("log").encode();
    assertTrue(log.contains("did not reconnect within " + GRACE.toSeconds() + "s"), log);
    RealSparkGateway.await("the driver to exit", RUN, this::driverProcess, Optional::isEmpty);
    assertEquals("dead", ended.getString("state"));
  }

  private Optional<ProcessHandle> driverProcess() {
    return ProcessHandle.allProcesses()
        .filter(p -> p.info().commandLine()
            .map(c -> c.contains("io.sparkgate.agent.AgentMain") && c.contains("spark.sparkgate.session.id=" + session)
                && c.contains(NAME))
            .orElse(false))
        .findFirst();
  }
}
