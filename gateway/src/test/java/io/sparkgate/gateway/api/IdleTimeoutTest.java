package io.sparkgate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.testing.FakeAgents;
import io.sparkgate.gateway.testing.GatewayTestBase;
import io.sparkgate.proto.Event;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The gateway-wide timeouts: idle sessions are stopped (busy ones are not), ended sessions stay
 * listed for the retain time, and the session limit answers Livy's 400.
 */
class IdleTimeoutTest extends GatewayTestBase {

  @Override
  protected Map<String, String> settings() {
    return Map.of(
        "sparkgate.session.idle-timeout", "1s",
        "sparkgate.session.state-retain", "1s",
        "sparkgate.session.max-sessions", "3");
  }

  private FakeAgents.Link ready(int id) {
    FakeAgents.Link link = agents.link(id);
    link.connect();
    link.emit(new Event.Ready("app-" + id, ""));
    return link;
  }

  @Test
  void idleSessionsAreStoppedButBusyOnesAreNot() throws InterruptedException {
    int idle = createSession("{\"kind\":\"spark\"}");
    int busy = createSession("{\"kind\":\"spark\"}");
    long idlePid = driverPid(idle);
    long busyPid = driverPid(busy);
    ready(idle);
    FakeAgents.Link busyLink = ready(busy);
    post("/sessions/" + busy + "/statements", "{\"code\":\"long()\"}");
    busyLink.emit(new Event.StatementStarted(0));

    awaitTrue("the idle session to be stopped", () -> get("/sessions/" + idle).status() == 404);
    awaitTrue("the idle session's driver to be stopped", () -> gone(idlePid));
    Thread.sleep(1200);
    assertEquals("busy", get("/sessions/" + busy + "/state").json().getString("state"));

    // Once its statement ends, it idles out too.
    busyLink.emit(Event.StatementResult.ok(0, "{}", false));
    awaitTrue("the no longer busy session to be stopped", () -> get("/sessions/" + busy).status() == 404);
    awaitTrue("its driver to be stopped", () -> gone(busyPid));
  }

  @Test
  void endedSessionsStayListedForTheRetainTime() {
    int id = createSession("{\"kind\":\"spark\",\"conf\":{\"spark.test.behaviour\":\"exit1\"}}");
    awaitState(id, "error");
    awaitTrue("the ended session to be forgotten", () -> get("/sessions/" + id).status() == 404);
  }

  @Test
  void theSessionLimitAnswersLivys400() {
    awaitTrue("earlier sessions to be gone", () -> get("/sessions").json().getInteger("total") == 0);
    for (int i = 0; i < 3; i++) {
      createSession("{\"kind\":\"sql\"}");
    }
    Response r = post("/sessions", "{\"kind\":\"sql\"}");
    assertEquals(400, r.status(), r.body());
    assertTrue(r.msg().startsWith("Rejected: 3 sessions are alive"), r.body());
  }
}
