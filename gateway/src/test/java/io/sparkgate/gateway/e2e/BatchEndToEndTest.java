package io.sparkgate.gateway.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.batch.BatchState;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Batches on the local master through the gateway, with the real spark-submit: a Java PI estimator
 * from the jar the build makes (with driver and executor sizes), a Python one, a failing one whose
 * error reaches the log, and a long one that DELETE kills, leaving no process behind.
 */
class BatchEndToEndTest extends EndToEndTestBase {

  private Path dir;
  private Path jar;
  private Path py;

  @Override
  Map<String, String> settings() {
    try {
      dir = Files.createTempDirectory("sparkgate-batch-e2e").toRealPath();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return Map.of("sparkgate.file.local-dir-whitelist", dir.toString());
  }

  @BeforeAll
  void apps() throws Exception {
    jar = ExampleApps.jar(dir);
    py = Files.writeString(dir.resolve("pi.py"), ExampleApps.PI_PY);
  }

  @AfterAll
  void removeApps() throws Exception {
    try (var files = Files.walk(dir)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private int submit(String body) {
    RealSparkGateway.Answer a = gw.post("/batches", body);
    assertEquals(201, a.status(), a.response().body());
    assertEquals("starting", a.json().getString("state"));
    return a.json().getInteger("id");
  }

  private JsonObject awaitEnd(int id) {
    return RealSparkGateway.await("batch " + id + " to end", START, () -> gw.get("/batches/" + id).json(),
        b -> List.of("success", "dead", "killed").contains(b.getString("state")));
  }

  private String log(int id) {
    return String.join("\n", gw.get("/batches/" + id + "/log?size=1000").json().getJsonArray("log").stream()
        .map(Object::toString).toList());
  }

  @Test
  void aJavaBatchWithSizesEndsInSuccess() {
    int id = submit("{\"file\":\"" + jar + "\",\"className\":\"" + ExampleApps.PI_CLASS + "\",\"args\":[\"3\"],"
        + "\"driverMemory\":\"512m\",\"driverCores\":1,\"executorMemory\":\"512m\",\"executorCores\":1,"
        + "\"numExecutors\":1,\"name\":\"local pi\"}");
    JsonObject b = awaitEnd(id);
    assertEquals("success", b.getString("state"), log(id));
    assertEquals("local pi", b.getString("name"));
    assertTrue(log(id).contains("Pi is roughly 3.1"), log(id));
  }

  @Test
  void aPythonBatchEndsInSuccess() {
    int id = submit("{\"file\":\"file://" + py + "\",\"args\":[\"2\"]}");
    assertEquals("success", awaitEnd(id).getString("state"), log(id));
    assertTrue(log(id).contains("Pi is roughly 3.1"), log(id));
  }

  @Test
  void aFailingBatchEndsDeadWithItsErrorInTheLog() {
    int id = submit("{\"file\":\"" + jar + "\",\"className\":\"" + ExampleApps.PI_CLASS + "\","
        + "\"args\":[\"1\",\"fail:the answer is not 42\"]}");
    assertEquals("dead", awaitEnd(id).getString("state"), log(id));
    assertTrue(log(id).contains("java.lang.IllegalStateException: the answer is not 42"), log(id));
  }

  @Test
  void aDeletedBatchEndsKilledAndLeavesNoProcess() {
    String name = "long-" + System.nanoTime();
    int id = submit("{\"file\":\"" + jar + "\",\"className\":\"" + ExampleApps.PI_CLASS + "\","
        + "\"args\":[\"1\",\"sleep:3600\"],\"name\":\"" + name + "\"}");
    RealSparkGateway.await("the batch to sleep", START, () -> log(id), l -> l.contains("Sleeping 3600 s"));
    assertEquals("running", gw.get("/batches/" + id + "/state").json().getString("state"));
    List<ProcessHandle> processes = ProcessHandle.current().descendants()
        .filter(p -> p.info().commandLine().map(c -> c.contains(name)).orElse(false)).toList();
    assertTrue(!processes.isEmpty(), "no process runs the batch");
    var batch = gw.gateway.batches().get(id);
    assertEquals(200, gw.delete("/batches/" + id).status());
    RealSparkGateway.await("the batch to end killed", RUN, batch::state, s -> s == BatchState.KILLED);
    RealSparkGateway.await("its processes to be gone", RUN, () -> processes.stream().noneMatch(ProcessHandle::isAlive),
        gone -> gone);
    assertEquals(404, gw.get("/batches/" + id).status());
  }
}
