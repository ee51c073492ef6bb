package io.sparkgate.gateway.metrics;

import io.vertx.core.Future;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

/**
 * The gateway's readiness checks, each a name and a probe, answered in the JSON shape of
 * vertx-health-check (and of most health endpoints):
 *
 * <pre>
 * {"status": "UP"|"DOWN", "outcome": "UP"|"DOWN",
 *  "checks": [{"id": "agent-server", "status": "UP"}, {"id": "spark", "status": "DOWN", "data": {"cause": "..."}}]}
 * </pre>
 *
 * Thread-safe: parts of the gateway add their checks at start-up; every probe runs on each call.
 */
public final class Health {

  /** A check: completes with null when up, with the reason when down; a failed future is down too. */
  public interface Check extends Supplier<Future<String>> {}

  private record Named(String id, Check check) {}

  private final List<Named> checks = new CopyOnWriteArrayList<>();
  private final Map<String, Boolean> ids = new ConcurrentHashMap<>();

  /** Adds a readiness check named {@code id} (unique). */
  public Health register(String id, Check check) {
    if (ids.putIfAbsent(id, Boolean.TRUE) != null) {
      throw new IllegalArgumentException("a health check named " + id + " exists");
    }
    checks.add(new Named(id, check));
    return this;
  }

  /** Liveness: the process answers; no check runs. */
  public static JsonObject live() {
    return new JsonObject().put("status", "UP").put("outcome", "UP").put("checks", new JsonArray());
  }

  /** Runs every check; completes with the readiness JSON (never fails). */
  public Future<JsonObject> ready() {
    List<Future<JsonObject>> results = new ArrayList<>();
    for (Named n : checks) {
      Future<String> probe;
      try {
        probe = n.check().get();
      } catch (RuntimeException e) {
        probe = Future.failedFuture(e);
      }
      results.add(probe.transform(ar -> {
        JsonObject o = new JsonObject().put("id", n.id());
        String cause = ar.failed() ? String.valueOf(ar.cause().getMessage()) : ar.result();
        if (cause == null) {
          o.put("status", "UP");
        } else {
          o.put("status", "DOWN").put("data", new JsonObject().put("cause", cause));
        }
        return Future.succeededFuture(o);
      }));
    }
    return Future.join(results).transform(ar -> {
      JsonArray out = new JsonArray();
      boolean up = true;
      for (Future<JsonObject> f : results) {
        JsonObject o = f.result();
        out.add(o);
        up &= "UP".equals(o.getString("status"));
      }
      String status = up ? "UP" : "DOWN";
      return Future.succeededFuture(new JsonObject().put("status", status).put("outcome", status).put("checks", out));
    });
  }
}
