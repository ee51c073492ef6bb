package io.sparkgate.gateway.batch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.testing.GatewayTestBase;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The batch REST API: Livy's shapes, validation (every field, the file rules) and the state machine
 * driven by spark-submit's exit. spark-submit is {@link io.sparkgate.gateway.testing.FakeSpark}'s
 * script, a test double: these tests check what the gateway does with any process (its command
 * line, its exit code, a kill), which a real Spark would only make slower; real applications run in
 * {@code BatchEndToEndTest}.
 */
class BatchApiTest extends GatewayTestBase {

  private final Path allowed = tempDir();

  private static Path tempDir() {
    try {
      return Files.createTempDirectory("sparkgate-batch-allowed").toRealPath();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  @Override
  protected Map<String, String> settings() {
    // Impersonation on, so that a proxyUser is taken (without authentication anyone may name one).
    return Map.of("sparkgate.file.local-dir-whitelist", allowed + ",/opt/jobs", "sparkgate.impersonation.enabled", "true");
  }

  @AfterAll
  void removeTempDir() throws Exception {
    try (var files = Files.walk(allowed)) {
      files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private JsonObject create(String body) {
    Response r = post("/batches", body);
    assertEquals(201, r.status(), r.body());
    JsonObject b = r.json();
    assertEquals("/batches/" + b.getInteger("id"), r.headers().get("Location"));
    return b;
  }

  private void awaitBatch(int id, String state) {
    awaitTrue("batch " + id + " to be " + state, () -> state.equals(get("/batches/" + id + "/state").json().getString("state")));
  }

  private String args(int id) {
    return awaitValue("spark-submit's arguments", () -> get("/batches/" + id + "/log?size=1000").jsonArray("log").stream()
        .map(Object::toString).filter(l -> l.startsWith("args: ")).findFirst(), java.util.Optional::isPresent)
        .orElseThrow();
  }

  @Test
  void everyFieldReachesSparkSubmitAndTheBatchLooksLikeLivys() {
    JsonObject b = create("{\"file\":\"/opt/jobs/pi.jar\",\"className\":\"org.example.Pi\",\"args\":[\"10\",\"a b\"],"
        + "\"proxyUser\":\"alice\",\"jars\":[\"hdfs:///libs/a.jar\"],\"pyFiles\":[\"hdfs:///libs/b.py\"],"
        + "\"files\":[\"s3a://bucket/c.txt\"],\"driverMemory\":\"2g\",\"driverCores\":1,\"executorMemory\":\"1g\","
        + "\"executorCores\":2,\"numExecutors\":3,\"archives\":[\"hdfs:///libs/env.zip#env\"],\"queue\":\"q1\","
        + "\"name\":\"nightly pi\",\"conf\":{\"spark.test.behaviour\":\"exit0\",\"spark.sql.shuffle.partitions\":4}}");
    int id = b.getInteger("id");
    assertEquals(List.of("id", "name", "owner", "proxyUser", "state", "appId", "appInfo", "log"),
        List.copyOf(b.fieldNames()), b.encode());
    assertEquals("nightly pi", b.getString("name"));
    assertEquals("alice", b.getString("proxyUser"));
    assertNull(b.getString("owner"));
    assertEquals("starting", b.getString("state"));
    assertEquals(new JsonObject().putNull("driverLogUrl").putNull("sparkUiUrl"), b.getJsonObject("appInfo"));

    assertEquals("args: --master local[*] --deploy-mode client --name nightly pi --class org.example.Pi"
        + " --jars hdfs:///libs/a.jar --py-files hdfs:///libs/b.py --files s3a://bucket/c.txt"
        + " --archives hdfs:///libs/env.zip#env --driver-memory 2g --driver-cores 1 --executor-memory 1g"
        + " --executor-cores 2 --num-executors 3 --queue q1 --proxy-user alice --conf spark.test.behaviour=exit0"
        + " --conf spark.sql.shuffle.partitions=4 file:/opt/jobs/pi.jar 10 a b", args(id));
    awaitBatch(id, "success");
    assertTrue(get("/batches/" + id).json().getJsonArray("log").contains("[sparkgate] The application exited with code 0."));
  }

  @Test
  void aPythonBatchHasNoClassAndALocalFileMustBeAllowed() throws Exception {
    Path py = Files.writeString(allowed.resolve("job.py"), "print(1)\n");
    int id = create("{\"file\":\"file://" + py + "\",\"conf\":{\"spark.test.behaviour\":\"exit0\"}}").getInteger("id");
    String args = args(id);
    assertFalse(args.contains("--class"), args);
    assertTrue(args.endsWith(" file://" + py), args);
    assertTrue(args.contains("--name sparkgate-batch-" + id + " "), args);
    awaitBatch(id, "success");
  }

  @Test
  void aFailingApplicationEndsDeadWithItsErrorInTheLog() {
    int id = create("{\"file\":\"hdfs:///jobs/x.jar\",\"conf\":{\"spark.test.behaviour\":\"exit1\"}}").getInteger("id");
    awaitBatch(id, "dead");
    List<Object> log = get("/batches/" + id + "/log").jsonArray("log").getList();
    assertTrue(log.contains("Error: the cluster said no"), log.toString());
    assertTrue(log.contains("[sparkgate] The application exited with code 1."), log.toString());
  }

  @Test
  void deleteKillsTheApplicationAndForgetsTheBatch() {
    JsonObject b = create("{\"file\":\"hdfs:///jobs/long.jar\",\"className\":\"Long\"}");
    int id = b.getInteger("id");
    awaitBatch(id, "running");
    long pid = awaitValue("the pid", () -> get("/batches/" + id + "/log").jsonArray("log").stream().map(Object::toString)
        .filter(l -> l.startsWith("pid ")).findFirst(), java.util.Optional::isPresent)
        .map(l -> Long.parseLong(l.substring(4).trim())).orElseThrow();
    BatchSession batch = gateway.batches().get(id);
    Response deleted = delete("/batches/" + id);
    assertEquals(200, deleted.status(), deleted.body());
    assertEquals("deleted", deleted.json().getString("msg"));
    assertEquals(404, get("/batches/" + id).status());
    awaitTrue("spark-submit " + pid + " to be gone", () -> gone(pid));
    awaitTrue("the batch to end killed", () -> batch.state() == BatchState.KILLED);
    assertEquals("Batch '" + id + "' not found.", delete("/batches/" + id).msg());
  }

  @Test
  void eventsStreamTheBatchsChangesAndItsLog() {
    io.vertx.core.http.HttpClient http = vertx.createHttpClient();
    try {
      int id = create("{\"file\":\"hdfs:///jobs/x.jar\",\"conf\":{\"spark.test.behaviour\":\"exit1\"}}").getInteger("id");
      awaitBatch(id, "dead");
      // A late subscriber gets the whole history from the oldest kept event, in order.
      io.sparkgate.gateway.testing.SseReader r =
          io.sparkgate.gateway.testing.SseReader.open(http, gateway.port(), "/batches/" + id + "/events");
      assertEquals(200, r.status());
      List<io.sparkgate.gateway.testing.SseReader.Frame> frames = r.until(
          f -> "batch".equals(f.event()) && "dead".equals(f.json().getString("state")), java.time.Duration.ofSeconds(20));
      List<String> states = frames.stream().filter(f -> "batch".equals(f.event()))
          .map(f -> f.json().getString("state")).distinct().toList();
      assertEquals(List.of("starting", "running", "dead"), states);
      assertTrue(frames.stream().filter(f -> "log".equals(f.event()))
          .anyMatch(f -> f.json().getJsonArray("lines").contains("Error: the cluster said no")), frames.toString());
      long last = frames.get(frames.size() - 1).id();
      r.close();
      assertEquals(404, io.sparkgate.gateway.testing.SseReader.open(http, gateway.port(), "/batches/999/events").status());
      // Resuming after an event starts right after it.
      io.sparkgate.gateway.testing.SseReader resumed = io.sparkgate.gateway.testing.SseReader.open(http, gateway.port(),
          "/batches/" + id + "/events", Map.of("Last-Event-ID", Long.toString(last - 1)));
      assertEquals(last, resumed.next().id());
      resumed.close();
    } finally {
      http.close();
    }
  }

  @Test
  void listingPagesAsLivy() {
    int first = create("{\"file\":\"hdfs:///a.jar\",\"conf\":{\"spark.test.behaviour\":\"exit0\"}}").getInteger("id");
    int second = create("{\"file\":\"hdfs:///b.jar\",\"conf\":{\"spark.test.behaviour\":\"exit0\"}}").getInteger("id");
    JsonObject all = get("/batches").json();
    assertEquals(List.of("from", "total", "sessions"), List.copyOf(all.fieldNames()));
    assertEquals(0, all.getInteger("from"));
    List<Integer> ids = all.getJsonArray("sessions").stream().map(o -> ((JsonObject) o).getInteger("id")).toList();
    assertTrue(ids.contains(first) && ids.contains(second), ids.toString());
    assertEquals(all.getInteger("total"), ids.size());
    JsonObject page = get("/batches?from=1&size=1").json();
    assertEquals(1, page.getInteger("from"));
    assertEquals(1, page.getJsonArray("sessions").size());
    assertEquals(ids.get(1), page.getJsonArray("sessions").getJsonObject(0).getInteger("id"));
    JsonObject state = get("/batches/" + first + "/state").json();
    assertEquals(List.of("id", "state"), List.copyOf(state.fieldNames()));
    JsonObject log = get("/batches/" + first + "/log?from=0&size=2").json();
    assertEquals(List.of("id", "from", "total", "log"), List.copyOf(log.fieldNames()));
    assertTrue(log.getJsonArray("log").size() <= 2);
  }

  @Test
  void badBatchesAreAnswered400WithWhatIsWrong() {
    String key = "sparkgate.file.local-dir-whitelist (livy.file.local-dir-whitelist)";
    assertEquals("file is required: the jar or Python file of the application", post("/batches", "{}").msg());
    assertTrue(post("/batches", "{\"file\":\"/etc/passwd\"}").msg()
        .equals("file: local path /etc/passwd is not in a directory allowed by " + key + " ([" + allowed + ", /opt/jobs])"));
    assertTrue(post("/batches", "{\"file\":\"file:///opt/jobs/../../etc/passwd\"}").msg().contains("local path /opt/jobs/../../etc/passwd is not in a directory allowed"));
    assertTrue(post("/batches", "{\"file\":\"hdfs:///a.jar\",\"jars\":[\"/tmp/x.jar\"]}").msg().startsWith("jars: local path /tmp/x.jar"));
    assertTrue(post("/batches", "{\"file\":\"hdfs:///a.jar\",\"conf\":{\"spark.jars\":\"hdfs:///ok.jar,file:/root/x.jar\"}}").msg()
        .startsWith("conf spark.jars: local path /root/x.jar"));
    assertTrue(post("/batches", "{\"file\":\"jobs/pi.jar\"}").msg().contains("is not absolute"));
    assertTrue(post("/batches", "{\"file\":\"hdfs:///a.jar\",\"className\":\"not a class\"}").msg().startsWith("className must be"));
    assertTrue(post("/batches", "{\"file\":\"hdfs:///a.jar\",\"args\":\"10\"}").msg().startsWith("args must be a list"));
    assertTrue(post("/batches", "{\"file\":\"hdfs:///a.jar\",\"args\":[{}]}").msg().startsWith("args must be a list of strings, but holds an object"));
    assertTrue(post("/batches", "{\"file\":\"hdfs:///a.jar\",\"kind\":\"spark\"}").msg().startsWith("Unrecognized field \"kind\""));
    assertTrue(post("/batches", "{\"file\":\"hdfs:///a.jar\",\"driverMemory\":\"lots\"}").msg().startsWith("driverMemory must be"));
    assertTrue(post("/batches", "{\"file\":\"hdfs:///a.jar\",\"numExecutors\":-1}").msg().startsWith("numExecutors must be"));
    assertTrue(post("/batches", "{\"file\":\"hdfs:///a.jar\",\"conf\":{\"spark.yarn.tags\":\"x\"}}").msg().contains("set by the gateway"));
    assertTrue(post("/batches", "{\"file\":\"hdfs:///a.jar\",\"conf\":{\"spark.sparkgate.secretFile\":\"x\"}}").msg().contains("set by the gateway"));
    assertEquals(400, post("/batches", "{\"file\":3}").status());
    assertEquals("Batch 'x' not found.", get("/batches/x").msg());
    assertEquals("Batch '99999' not found.", get("/batches/99999/state").msg());
    assertEquals(404, get("/batches/99999/log").status());
    assertTrue(get("/batches?from=-1").msg().startsWith("from must be a non-negative integer"));
    // Sessions follow the same file rules.
    assertTrue(post("/sessions", "{\"kind\":\"spark\",\"jars\":[\"/etc/x.jar\"]}").msg().startsWith("jars: local path /etc/x.jar"));
    assertEquals(200, get("/batches").status());
  }
}
