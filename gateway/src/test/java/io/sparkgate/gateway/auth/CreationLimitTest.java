package io.sparkgate.gateway.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.session.CreationLimits;
import io.sparkgate.gateway.testing.FakeAgents;
import io.sparkgate.proto.Event;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.client.HttpResponse;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Admission limits: 200 concurrent {@code POST /sessions} against a creation limit of 3 (Livy's
 * {@code livy.server.session.max-creation}), then the per-user limit.
 *
 * <p>The 200 launches go to {@code FakeSpark}'s script and the agents are {@link FakeAgents} (test
 * doubles: 200 real Spark drivers cannot start on this machine, and what is checked is the
 * gateway's admission, not Spark).
 */
class CreationLimitTest extends SecureGatewayTestBase {

  @Override
  protected Map<String, String> warmUpHeaders() {
    return Map.of("Authorization", basic("alice", "alice-pw"));
  }

  @Override
  protected Map<String, String> settings() {
    var file = htpasswd(tempDir("sparkgate-limits"), Map.of("burst", "burst-pw", "alice", "alice-pw"));
    return Map.of("sparkgate.auth.type", "basic", "sparkgate.auth.basic.htpasswd-file", file.toString(),
        "livy.server.session.max-creation", "3",
        "sparkgate.session.max-per-user", "4",
        "sparkgate.session.max-sessions", "300");
  }

  private static long usedHeapAfterGc() {
    System.gc();
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  @Test
  void twoHundredConcurrentCreationsAdmitThreeAndRefuseTheRestAtOnce() {
    long heapBefore = usedHeapAfterGc();
    List<Future<HttpResponse<Buffer>>> all = new ArrayList<>();
    for (int i = 0; i < 200; i++) {
      all.add(client.request(HttpMethod.POST, gateway.port(), "127.0.0.1", "/sessions").timeout(30_000)
          .putHeader("Authorization", basic("burst", "burst-pw"))
          .putHeader("Content-Type", "application/json")
          .sendBuffer(Buffer.buffer("{\"kind\":\"spark\"}")));
    }
    await(Future.join(all));
    Map<Integer, Integer> byStatus = new TreeMap<>();
    List<Integer> admitted = new ArrayList<>();
    for (Future<HttpResponse<Buffer>> f : all) {
      HttpResponse<Buffer> r = f.result();
      byStatus.merge(r.statusCode(), 1, Integer::sum);
      if (r.statusCode() == 201) {
        admitted.add(new JsonObject(r.bodyAsString()).getInteger("id"));
      } else {
        assertEquals(new JsonObject().put("msg", CreationLimits.TOO_MANY_CREATING), new JsonObject(r.bodyAsString()));
      }
    }
    assertEquals(Map.of(201, 3, 400, 197), byStatus);
    // Nothing of the refused remains: 3 sessions exist, and the heap holds no more than noise.
    assertEquals(3, gateway.sessions().total());
    long grown = usedHeapAfterGc() - heapBefore;
    System.out.printf("heap grown by %d KiB after 200 concurrent creations%n", grown / 1024);
    assertTrue(grown < 32L * 1024 * 1024, "heap grew by " + grown + " bytes");

    // Every admitted session reaches idle once its agent reports.
    for (int id : admitted) {
      FakeAgents.Link link = agents.link(id);
      link.connect();
      link.emit(new Event.Ready("local-" + id, ""));
    }
    for (int id : admitted) {
      awaitTrue("session " + id + " idle", () -> "idle".equals(call(HttpMethod.GET, "/sessions/" + id + "/state",
          null, Map.of("Authorization", basic("burst", "burst-pw"))).json().getString("state")));
    }

    // Once they are idle, creation is open again, up to the per-user limit of 4 live sessions.
    Response fourth = call(HttpMethod.POST, "/sessions", "{\"kind\":\"spark\"}",
        Map.of("Authorization", basic("burst", "burst-pw")));
    assertEquals(201, fourth.status(), fourth.body());
    agents.link(fourth.json().getInteger("id")).connect();
    agents.link(fourth.json().getInteger("id")).emit(new Event.Ready("local", ""));
    Response fifth = call(HttpMethod.POST, "/sessions", "{\"kind\":\"spark\"}",
        Map.of("Authorization", basic("burst", "burst-pw")));
    assertEquals(429, fifth.status(), fifth.body());
    assertTrue(fifth.msg().startsWith("User 'burst' has 4 live sessions"), fifth.body());
    // Another user is not held back by burst's sessions.
    Response other = call(HttpMethod.POST, "/sessions", "{\"kind\":\"spark\"}",
        Map.of("Authorization", basic("alice", "alice-pw")));
    assertEquals(201, other.status(), other.body());
  }
}
