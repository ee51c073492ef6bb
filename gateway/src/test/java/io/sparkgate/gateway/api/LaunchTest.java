package io.sparkgate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.testing.FakeSpark;
import io.sparkgate.gateway.testing.GatewayTestBase;
import io.sparkgate.proto.AgentAuth;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * How sessions launch their drivers and what happens when a launch goes wrong, with spark-submit
 * replaced by {@link FakeSpark}'s script: a test double, because the real spark-submit cannot be
 * made to fail at once, hang before its agent connects, or show its exact arguments and
 * environment reliably.
 */
class LaunchTest extends GatewayTestBase {

  @Override
  protected Map<String, String> settings() {
    return Map.of("sparkgate.session.start-timeout", "2s", "sparkgate.spark.master", "local[2]");
  }

  private List<String> log(int id) {
    return get("/sessions/" + id + "/log?size=1000").jsonArray("log").stream().map(Object::toString).toList();
  }

  private Optional<Long> pidAfter(int id, String prefix) {
    return log(id).stream().filter(l -> l.startsWith(prefix)).findFirst()
        .map(l -> Long.parseLong(l.substring(prefix.length()).trim()));
  }

  @Test
  void aSparkSubmitThatFailsLeavesTheSessionInErrorWithItsOutput() {
    int id = createSession("{\"kind\":\"pyspark\",\"conf\":{\"spark.test.behaviour\":\"exit1\"}}");
    awaitState(id, "error");
    List<String> log = log(id);
    assertTrue(log.contains("Error: the cluster said no"), log.toString());
    assertTrue(log.contains("[sparkgate] The driver exited with code 1."), log.toString());
    // The session's JSON shows the end of the log, as Livy's.
    JsonObject s = get("/sessions/" + id).json();
    assertEquals("error", s.getString("state"));
    assertTrue(s.getJsonArray("log").contains("[sparkgate] The driver exited with code 1."), s.encode());
    assertTrue(agents.link(id).unregistered);
  }

  @Test
  void aDriverThatExitsCleanlyBeforeReadyIsAnErrorToo() {
    int id = createSession("{\"kind\":\"sql\",\"conf\":{\"spark.test.behaviour\":\"exit0\"}}");
    awaitState(id, "error");
    assertTrue(log(id).contains("[sparkgate] The driver exited with code 0."));
  }

  @Test
  void aSessionThatDoesNotStartInTimeIsStoppedInError() {
    int id = createSession("{\"kind\":\"spark\"}");
    long pid = awaitValue("the driver's pid", () -> pidAfter(id, "pid "), Optional::isPresent).orElseThrow();
    awaitState(id, "error");
    assertTrue(log(id).stream().anyMatch(l -> l.contains("did not start within 2s")), log(id).toString());
    awaitTrue("the driver to be killed", () -> gone(pid));
  }

  @Test
  void deletingAStartingSessionKillsItsWholeProcessTree() {
    int id = createSession("{\"kind\":\"spark\",\"conf\":{\"spark.test.behaviour\":\"tree\"}}");
    long child = awaitValue("the driver's child", () -> pidAfter(id, "child "), Optional::isPresent).orElseThrow();
    long parent = pidAfter(id, "pid ").orElseThrow();
    assertFalse(gone(child));
    assertEquals(new JsonObject().put("msg", "deleted"), delete("/sessions/" + id).json());
    awaitTrue("the driver and its child to be killed", () -> gone(parent) && gone(child));
    // Listed until its driver was gone, as Livy; then forgotten.
    awaitTrue("the session to be forgotten", () -> get("/sessions/" + id).status() == 404);
  }

  @Test
  void theDriverGetsItsOptionsAndTheSecretOnlyInItsEnvironment() throws Exception {
    int id = createSession("{\"kind\":\"pyspark\",\"name\":\"etl nightly\",\"driverMemory\":\"1g\","
        + "\"executorCores\":2,\"jars\":[\"hdfs:///opt/a.jar\",\"hdfs:///opt/b.jar\"],\"queue\":\"q1\","
        + "\"conf\":{\"spark.sql.shuffle.partitions\":\"4\"}}");
    String args = awaitValue("the arguments", () -> log(id).stream().filter(l -> l.startsWith("args: ")).findFirst(),
        Optional::isPresent).orElseThrow();
    assertTrue(args.startsWith("args: --master local[2] --deploy-mode client --name etl nightly"
        + " --class io.sparkgate.agent.AgentMain --jars hdfs:///opt/a.jar,hdfs:///opt/b.jar --driver-memory 1g"
        + " --executor-cores 2 --queue q1 --conf spark.sql.shuffle.partitions=4"), args);
    assertTrue(args.contains("--conf spark.sparkgate.gateway.host=127.0.0.1"), args);
    assertTrue(args.contains("--conf spark.sparkgate.gateway.port=45999"), args);
    assertTrue(args.contains("--conf spark.sparkgate.session.id=" + id), args);
    assertTrue(args.contains("--conf spark.sparkgate.session.kind=pyspark"), args);
    assertTrue(args.contains("--conf spark.sparkgate.statement.maxOutputBytes=1048576"), args);
    assertTrue(args.contains("--conf spark.sparkgate.agent.idleExitSeconds=600"), args);
    assertTrue(args.endsWith(spark.agentJar.toString()), args);

    String secret = AgentAuth.encodeSecret(agents.link(id).secret);
    String sha = HexFormat.of().formatHex(
        MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.US_ASCII)));
    String shaLine = awaitValue("the secret's digest", () -> log(id).stream()
        .filter(l -> l.startsWith("secret-sha256: ")).findFirst(), Optional::isPresent).orElseThrow();
    assertEquals("secret-sha256: " + sha, shaLine);
    assertFalse(args.contains(secret));
    assertFalse(get("/sessions/" + id + "/log").body().contains(secret));
  }

  @Test
  void aSharedSessionTellsTheAgentItHasNoKind() {
    int id = createSession("{}");
    String args = awaitValue("the arguments", () -> log(id).stream().filter(l -> l.startsWith("args: ")).findFirst(),
        Optional::isPresent).orElseThrow();
    assertTrue(args.contains("--conf spark.sparkgate.session.kind= "), args);
    assertTrue(args.contains("--name sparkgate-session-" + id + " "), args);
  }
}
