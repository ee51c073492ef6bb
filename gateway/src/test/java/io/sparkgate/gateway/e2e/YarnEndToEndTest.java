package io.sparkgate.gateway.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.sparkgate.devyarn.DevYarn;
import io.vertx.core.json.JsonObject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.YarnApplicationState;
import org.apache.hadoop.yarn.client.api.YarnClient;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

/**
 * Batches and interactive sessions on YARN, through the gateway: a real YARN and HDFS (the dev YARN,
 * MiniYARNCluster and MiniDFSCluster, started once for the class), the real spark-submit in cluster
 * mode, the application master running the driver (and the driver-agent for sessions) in a YARN
 * container. What a user checks: the batch's state and log, the session's statements, and through
 * the YARN client that nothing is left running.
 *
 * <p>Slow (every application starts two JVMs in containers): batches are submitted together and
 * awaited one by one; everything shares the one cluster, which runs in a JVM of its own
 * ({@link DevYarn#startProcess}) so that its garbage collections do not pause the gateway's event
 * loops (the blocked-thread check stays on).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@Timeout(value = 30, unit = java.util.concurrent.TimeUnit.MINUTES)
class YarnEndToEndTest {
  private static final Duration APP = Duration.ofMinutes(8);

  private Path dir;
  /** The dev YARN, in a JVM of its own: its garbage collections must not pause the gateway's event loops. */
  private Process cluster;
  private Path confDir;
  private org.apache.hadoop.conf.Configuration hadoop;
  private RealSparkGateway gw;
  private YarnClient yarn;
  private String jar;
  private String py;

  @BeforeAll
  void start() throws Exception {
    dir = Files.createTempDirectory("sparkgate-yarn-test").toRealPath();
    String sparkHome = System.getenv("SPARK_HOME");
    try {
      cluster = DevYarn.startProcess(dir.resolve("cluster"), Path.of(sparkHome), Duration.ofMinutes(5));
      confDir = dir.resolve("cluster").resolve("conf");
      hadoop = io.sparkgate.gateway.launch.YarnApplications.hadoopConfiguration(confDir);
      // The applications live on HDFS, as in the seed's walkthrough.
      try (FileSystem fs = FileSystem.newInstance(hadoop)) {
        Path local = ExampleApps.jar(dir);
        fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(local.toUri()), new org.apache.hadoop.fs.Path("/jobs/sparkgate-examples.jar"));
        Path pi = Files.writeString(dir.resolve("pi.py"), ExampleApps.PI_PY);
        fs.copyFromLocalFile(new org.apache.hadoop.fs.Path(pi.toUri()), new org.apache.hadoop.fs.Path("/jobs/pi.py"));
      }
      jar = "/jobs/sparkgate-examples.jar"; // schemeless: resolved against HDFS, as Livy
      py = "hdfs:///jobs/pi.py";
      Map<String, String> s = new HashMap<>();
      s.put("sparkgate.spark.master", "yarn");
      s.put("sparkgate.spark.deploy-mode", "cluster");
      s.put("sparkgate.hadoop.conf-dir", confDir.toString());
      s.put("sparkgate.yarn.gateway-id", "yarn-e2e");
      s.put("sparkgate.yarn.poll-interval", "100ms");
      s.put("sparkgate.yarn.spark-jars", "local:" + Path.of(sparkHome, "jars") + "/*");
      s.put("sparkgate.session.start-timeout", "600s");
      gw = new RealSparkGateway(s);
      yarn = YarnClient.createYarnClient();
      yarn.init(new YarnConfiguration(hadoop));
      yarn.start();
    } catch (Exception | Error e) {
      stop();
      throw e;
    }
  }

  @AfterAll
  void stop() {
    try {
      if (gw != null) {
        gw.close();
      }
    } finally {
      try {
        if (yarn != null) {
          yarn.stop();
        }
      } finally {
        if (cluster != null) {
          cluster.destroy();
          try {
            if (!cluster.waitFor(2, java.util.concurrent.TimeUnit.MINUTES)) {
              cluster.destroyForcibly();
            }
          } catch (InterruptedException e) {
            cluster.destroyForcibly();
            Thread.currentThread().interrupt();
          }
        }
        try (var files = Files.walk(dir)) {
          files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (java.io.IOException e) {
          // Left in the temp dir.
        }
      }
    }
  }

  @AfterEach
  void eventLoopsNeverBlocked() {
    gw.assertNoBlockedEventLoop();
  }

  private JsonObject submit(String body) {
    RealSparkGateway.Answer a = gw.post("/batches", body);
    assertEquals(201, a.status(), a.response().body());
    return a.json();
  }

  private JsonObject awaitBatch(int id, String... states) {
    List<String> wanted = List.of(states);
    return RealSparkGateway.await("batch " + id + " to be " + wanted, APP, () -> gw.get("/batches/" + id).json(),
        b -> wanted.contains(b.getString("state")));
  }

  private List<String> log(int id) {
    return gw.get("/batches/" + id + "/log?size=1000").json().getJsonArray("log").stream().map(Object::toString).toList();
  }

  private ApplicationReport report(String appId) throws Exception {
    return yarn.getApplicationReport(ApplicationId.fromString(appId));
  }

  private void assertNothingRunning() throws Exception {
    RealSparkGateway.await("no application left running", Duration.ofMinutes(2), () -> {
      try {
        return yarn.getApplications(EnumSet.of(YarnApplicationState.NEW, YarnApplicationState.NEW_SAVING,
            YarnApplicationState.SUBMITTED, YarnApplicationState.ACCEPTED, YarnApplicationState.RUNNING));
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }, List::isEmpty);
  }

  @Test
  void batchesRunToTheirEndOnYarnAndDeleteKillsTheApplication() throws Exception {
    // All four at once: each needs two containers' JVMs, so waiting for them together saves minutes.
    int pi = submit("{\"file\":\"" + jar + "\",\"className\":\"" + ExampleApps.PI_CLASS + "\",\"args\":[\"4\"],"
        + "\"driverMemory\":\"512m\",\"driverCores\":1,\"executorMemory\":\"512m\",\"executorCores\":1,"
        + "\"numExecutors\":1,\"name\":\"yarn pi\"}").getInteger("id");
    int python = submit("{\"file\":\"" + py + "\",\"args\":[\"2\"],\"driverMemory\":\"512m\",\"executorMemory\":\"512m\","
        + "\"numExecutors\":1,\"conf\":{\"spark.pyspark.python\":\"" + pythonOfSpark() + "\"}}").getInteger("id");
    int failing = submit("{\"file\":\"" + jar + "\",\"className\":\"" + ExampleApps.PI_CLASS + "\","
        + "\"args\":[\"1\",\"fail:the answer is not 42\"],\"driverMemory\":\"512m\",\"executorMemory\":\"512m\","
        + "\"numExecutors\":1}").getInteger("id");
    int longOne = submit("{\"file\":\"" + jar + "\",\"className\":\"" + ExampleApps.PI_CLASS + "\","
        + "\"args\":[\"1\",\"sleep:3600\"],\"driverMemory\":\"512m\",\"executorMemory\":\"512m\",\"numExecutors\":1}")
        .getInteger("id");

    JsonObject done = awaitBatch(pi, "success", "dead", "killed");
    assertEquals("success", done.getString("state"), String.join("\n", log(pi)));
    String appId = done.getString("appId");
    assertTrue(appId.startsWith("application_"), done.encode());
    assertEquals("yarn pi", done.getString("name"));
    assertNotNull(done.getJsonObject("appInfo").getString("driverLogUrl"), done.encode());
    assertTrue(done.getJsonObject("appInfo").getString("sparkUiUrl").contains(appId), done.encode());
    ApplicationReport r = report(appId);
    assertEquals(YarnApplicationState.FINISHED, r.getYarnApplicationState());
    assertTrue(r.getApplicationTags().contains("sparkgate-yarn-e2e"), r.getApplicationTags().toString());

    JsonObject py = awaitBatch(python, "success", "dead", "killed");
    assertEquals("success", py.getString("state"), String.join("\n", log(python)));

    JsonObject failed = awaitBatch(failing, "success", "dead", "killed");
    assertEquals("dead", failed.getString("state"));
    assertTrue(log(failing).stream().anyMatch(l -> l.contains("IllegalStateException: the answer is not 42")),
        String.join("\n", log(failing)));

    JsonObject running = awaitBatch(longOne, "running", "success", "dead", "killed");
    assertEquals("running", running.getString("state"), String.join("\n", log(longOne)));
    String longApp = running.getString("appId");
    var batch = gw.gateway.batches().get(longOne);
    assertEquals(200, gw.delete("/batches/" + longOne).status());
    assertEquals(404, gw.get("/batches/" + longOne).status());
    RealSparkGateway.await("the YARN application to be killed", APP, () -> {
      try {
        return report(longApp).getYarnApplicationState();
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }, s -> s == YarnApplicationState.KILLED);
    RealSparkGateway.await("the batch to end killed", APP, batch::state,
        s -> s == io.sparkgate.gateway.batch.BatchState.KILLED);
    assertNothingRunning();
  }

  @Test
  void interactiveSessionsRunTheirDriverInTheApplicationMaster() throws Exception {
    String sizes = "\"driverMemory\":\"512m\",\"executorMemory\":\"512m\",\"numExecutors\":1";
    int scala = createSession("{\"kind\":\"spark\"," + sizes + "}");
    int python = createSession("{\"kind\":\"pyspark\"," + sizes + ",\"conf\":{\"spark.pyspark.python\":\""
        + pythonOfSpark() + "\"}}");
    JsonObject s = gw.awaitSessionState(scala, "idle", APP);
    String appId = s.getString("appId");
    assertTrue(appId.startsWith("application_"), s.encode());
    JsonObject out = statement(scala, "sc.parallelize(1 to 1000, 4).map(_ * 2).sum()");
    assertTrue(out.getJsonObject("data").getString("text/plain").contains("1001000"), out.encode());

    gw.awaitSessionState(python, "idle", APP);
    out = statement(python, "print(sc.parallelize(range(1000), 4).map(lambda x: x * 2).sum())");
    assertEquals("999000", out.getJsonObject("data").getString("text/plain").strip(), out.encode());

    assertEquals(200, gw.delete("/sessions/" + scala).status());
    assertEquals(200, gw.delete("/sessions/" + python).status());
    assertNothingRunning();
    assertTrue(List.of(YarnApplicationState.FINISHED, YarnApplicationState.KILLED)
        .contains(report(appId).getYarnApplicationState()));
  }

  @Test
  void atStartTheGatewayKillsTheApplicationsItsEarlierRunLeftBehind() throws Exception {
    // An application tagged as a gateway "orphans" would tag it, whose record died with that gateway:
    // a container that only sleeps stands in for its driver.
    var app = yarn.createApplication();
    var ctx = app.getApplicationSubmissionContext();
    ctx.setApplicationName("left behind");
    ctx.setApplicationTags(java.util.Set.of("sparkgate-orphans", "sparkgate-orphans-batch-0-abcdef"));
    ctx.setResource(org.apache.hadoop.yarn.api.records.Resource.newInstance(128, 1));
    ctx.setQueue("default");
    ctx.setAMContainerSpec(org.apache.hadoop.yarn.api.records.ContainerLaunchContext.newInstance(
        Map.of(), Map.of(), List.of("sleep 600"), null, null, null));
    ApplicationId orphan = yarn.submitApplication(ctx);
    RealSparkGateway.await("the orphan to be accepted", APP, () -> {
      try {
        return report(orphan.toString()).getYarnApplicationState();
      } catch (Exception e) {
        throw new AssertionError(e);
      }
    }, st -> st == YarnApplicationState.ACCEPTED || st == YarnApplicationState.RUNNING);

    Map<String, String> s = new HashMap<>();
    s.put("sparkgate.spark.master", "yarn");
    s.put("sparkgate.spark.deploy-mode", "cluster");
    s.put("sparkgate.hadoop.conf-dir", confDir.toString());
    s.put("sparkgate.yarn.gateway-id", "orphans");
    s.put("sparkgate.yarn.orphans", "kill");
    RealSparkGateway restarted = new RealSparkGateway(s);
    gw.forgetWarnings(); // the second gateway's start-up, not a blocking call
    try {
      RealSparkGateway.await("the orphan to be killed", APP, () -> {
        try {
          return report(orphan.toString()).getYarnApplicationState();
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      }, st -> st == YarnApplicationState.KILLED);
    } finally {
      restarted.close();
      gw.forgetWarnings(); // and its shutdown
    }
  }

  private int createSession(String body) {
    RealSparkGateway.Answer created = gw.post("/sessions", body);
    assertEquals(201, created.status(), created.response().body());
    return created.json().getInteger("id");
  }

  private JsonObject statement(int session, String code) {
    int id = gw.submit(session, code);
    JsonObject st = gw.awaitStatement(session, id, APP);
    assertEquals("available", st.getString("state"), st.encode());
    JsonObject output = st.getJsonObject("output");
    if (!"ok".equals(output.getString("status"))) {
      fail("statement failed: " + output.encode());
    }
    return output;
  }

  /** The Python that carries pyspark (the provisioned venv's), for the containers on this host. */
  private static String pythonOfSpark() {
    String p = System.getenv("PYSPARK_PYTHON");
    return p != null && !p.isBlank() ? p : "python3";
  }
}
