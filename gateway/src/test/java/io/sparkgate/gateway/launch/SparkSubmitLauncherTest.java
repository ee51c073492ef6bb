package io.sparkgate.gateway.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.testing.FakeSpark;
import io.sparkgate.gateway.testing.GatewayTestBase;
import io.vertx.core.Vertx;
import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The spark-submit command line, and real child processes: output capture, exit, tree kill. The
 * processes come from {@link FakeSpark}'s script (a test double: see there why).
 */
class SparkSubmitLauncherTest {

  private static Vertx vertx;
  private static FakeSpark spark;

  @BeforeAll
  static void start() {
    vertx = Vertx.vertx(GatewayTestBase.strictOptions());
    spark = FakeSpark.create();
  }

  @AfterAll
  static void stop() {
    GatewayTestBase.await(vertx.close());
    spark.delete();
  }

  private static LaunchSpec spec(SparkAppRequest app, LogRing log) {
    Map<String, String> gatewayConf = new LinkedHashMap<>();
    gatewayConf.put("spark.sparkgate.session.id", "7");
    return new LaunchSpec(7, "my app", "io.sparkgate.agent.AgentMain", Path.of("/opt/agent.jar"), app, gatewayConf,
        Map.of("SPARKGATE_SESSION_SECRET", "s3cr3t"), log);
  }

  @Test
  void mapsEveryRequestFieldToSparkSubmit() {
    Map<String, String> conf = new LinkedHashMap<>();
    conf.put("spark.executor.extraJavaOptions", "-Da=b c");
    conf.put("spark.sql.shuffle.partitions", "8");
    SparkAppRequest app = new SparkAppRequest("alice", List.of("a.jar", "b.jar"), List.of("x.py"), List.of("f.txt"),
        List.of("env.zip#env"), "2g", 2, "3g", 4, 5, "etl", conf);
    SparkSubmitLauncher launcher = new SparkSubmitLauncher(vertx, Path.of("/spark"), "yarn", "cluster");
    assertEquals(List.of("/spark/bin/spark-submit",
            "--master", "yarn", "--deploy-mode", "cluster", "--name", "my app",
            "--class", "io.sparkgate.agent.AgentMain",
            "--jars", "a.jar,b.jar", "--py-files", "x.py", "--files", "f.txt", "--archives", "env.zip#env",
            "--driver-memory", "2g", "--driver-cores", "2", "--executor-memory", "3g", "--executor-cores", "4",
            "--num-executors", "5", "--queue", "etl", "--proxy-user", "alice",
            "--conf", "spark.executor.extraJavaOptions=-Da=b c", "--conf", "spark.sql.shuffle.partitions=8",
            "--conf", "spark.sparkgate.session.id=7",
            "/opt/agent.jar"),
        launcher.command(spec(app, new LogRing(10))));
  }

  @Test
  void leavesOutWhatWasNotAsked() {
    SparkSubmitLauncher launcher = new SparkSubmitLauncher(vertx, Path.of("/spark"), "local[*]", "client");
    List<String> cmd = launcher.command(spec(SparkAppRequest.DEFAULTS, new LogRing(10)));
    assertEquals(List.of("/spark/bin/spark-submit", "--master", "local[*]", "--deploy-mode", "client",
        "--name", "my app", "--class", "io.sparkgate.agent.AgentMain", "--conf", "spark.sparkgate.session.id=7",
        "/opt/agent.jar"), cmd);
    assertFalse(String.join(" ", cmd).contains("s3cr3t"));
    assertFalse(spec(SparkAppRequest.DEFAULTS, new LogRing(1)).toString().contains("s3cr3t"));
  }

  @Test
  void redactsSecretLookingPropertiesInLogs() {
    assertEquals("--conf spark.ssl.keyPassword=***** --conf spark.app.name=x",
        SparkSubmitLauncher.redacted(List.of("--conf", "spark.ssl.keyPassword=hunter2", "--conf", "spark.app.name=x")));
  }

  @Test
  void splitsOutputIntoLines() throws Exception {
    LogRing ring = new LogRing(10);
    String text = "one\ntwo\r\nthree\rfour\n\nlast-without-newline";
    SparkSubmitLauncher.readLines(new ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), ring);
    assertEquals(List.of("one", "two", "three", "four", "", "last-without-newline"), ring.lines());

    LogRing longLines = new LogRing(10);
    String huge = "y".repeat(100_000) + "\nafter\n";
    SparkSubmitLauncher.readLines(new ByteArrayInputStream(huge.getBytes(StandardCharsets.UTF_8)), longLines);
    assertEquals(2, longLines.lines().size());
    assertTrue(longLines.lines().get(0).endsWith("line cut at " + LogRing.MAX_LINE_LENGTH + " characters]"));
    assertEquals("after", longLines.lines().get(1));
  }

  @Test
  void capturesOutputAndExitCodeOfAFailingLaunch() {
    LogRing log = new LogRing(50);
    SparkSubmitLauncher launcher = new SparkSubmitLauncher(vertx, spark.home, "local[1]", "client");
    SparkAppRequest app = new SparkAppRequest(null, List.of(), List.of(), List.of(), List.of(), null, null, null,
        null, null, null, Map.of("spark.test.behaviour", "exit1"));
    DriverProcess driver = GatewayTestBase.await(launcher.launch(spec(app, log)));
    assertEquals(1, GatewayTestBase.await(driver.exit()));
    assertFalse(driver.isAlive());
    List<String> lines = log.lines();
    assertTrue(lines.contains("Error: the cluster said no"), lines.toString());
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("secret-sha256: ")), lines.toString());
    assertTrue(lines.stream().noneMatch(l -> l.contains("s3cr3t")), lines.toString());
  }

  @Test
  void killEndsTheWholeProcessTree() {
    LogRing log = new LogRing(50);
    SparkSubmitLauncher launcher = new SparkSubmitLauncher(vertx, spark.home, "local[1]", "client");
    SparkAppRequest app = new SparkAppRequest(null, List.of(), List.of(), List.of(), List.of(), null, null, null,
        null, null, null, Map.of("spark.test.behaviour", "tree"));
    DriverProcess driver = GatewayTestBase.await(launcher.launch(spec(app, log)));
    long child = GatewayTestBase.awaitValue("the child's pid", () -> pidAfter(log.lines(), "child "),
        Optional::isPresent).orElseThrow();
    long parent = pidAfter(log.lines(), "pid ").orElseThrow();
    assertTrue(ProcessHandle.of(child).map(ProcessHandle::isAlive).orElse(false));

    GatewayTestBase.await(driver.kill(Duration.ofMillis(300)));
    assertFalse(driver.isAlive());
    GatewayTestBase.awaitTrue("the child to be gone",
        () -> ProcessHandle.of(child).map(h -> !h.isAlive()).orElse(true));
    assertTrue(ProcessHandle.of(parent).map(h -> !h.isAlive()).orElse(true));
  }

  static Optional<Long> pidAfter(List<String> lines, String prefix) {
    return lines.stream().filter(l -> l.startsWith(prefix)).findFirst()
        .map(l -> Long.parseLong(l.substring(prefix.length()).trim()));
  }
}
