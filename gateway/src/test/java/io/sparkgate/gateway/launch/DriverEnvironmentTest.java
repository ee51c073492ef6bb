package io.sparkgate.gateway.launch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.testing.GatewayTestBase;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * What a driver inherits from the gateway's environment: the allow-list, never the gateway's
 * credentials unless an operator names them exactly. Checked on the environment
 * {@link SparkSubmitLauncher} builds, and in a real child process (a spark-submit script of this
 * test's that prints the names of its environment).
 */
class DriverEnvironmentTest {

  private static Vertx vertx;
  private static Path home;

  @BeforeAll
  static void start() throws IOException {
    vertx = Vertx.vertx(GatewayTestBase.strictOptions());
    home = Files.createTempDirectory("sparkgate-env-spark");
    Path submit = Files.createDirectories(home.resolve("bin")).resolve("spark-submit");
    Files.writeString(submit, "#!/bin/sh\nenv | cut -d= -f1 | sed 's/^/env: /'\n");
    Files.setPosixFilePermissions(submit, PosixFilePermissions.fromString("rwxr-xr-x"));
  }

  @AfterAll
  static void stop() throws IOException {
    GatewayTestBase.await(vertx.close());
    try (var paths = Files.walk(home)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  private static LaunchSpec spec(LogRing log) {
    return new LaunchSpec(3, "env", "io.sparkgate.agent.AgentMain", Path.of("/opt/agent.jar"), SparkAppRequest.DEFAULTS,
        Map.of(), Map.of("SPARKGATE_SESSION_SECRET", "s3cr3t"), log);
  }

  @Test
  void theGatewaysCredentialsNeverReachADriverUnlessNamedExactly() {
    Map<String, String> gateway = new HashMap<>();
    gateway.put("PATH", "/usr/bin:/bin");
    gateway.put("HOME", "/home/sparkgate");
    gateway.put("LC_ALL", "C.UTF-8");
    gateway.put("JAVA_HOME", "/usr/lib/jvm/17");
    gateway.put("SPARK_LOCAL_IP", "127.0.0.1");
    gateway.put("PYSPARK_PYTHON", "/venv/bin/python");
    gateway.put("HADOOP_CONF_DIR", "/etc/hadoop");
    // Credentials of the gateway.
    gateway.put("KRB5CCNAME", "FILE:/tmp/krb5cc_gateway");
    gateway.put("KRB5_KTNAME", "/etc/security/gateway.keytab");
    gateway.put("KRB5_CLIENT_KTNAME", "/etc/security/gateway.keytab");
    gateway.put("HADOOP_TOKEN_FILE_LOCATION", "/tmp/tokens");
    gateway.put("AWS_ACCESS_KEY_ID", "AKIA...");
    gateway.put("AWS_SECRET_ACCESS_KEY", "secret");
    gateway.put("AZURE_CLIENT_SECRET", "secret");
    gateway.put("GOOGLE_APPLICATION_CREDENTIALS", "/etc/gcp.json");
    gateway.put("SPARK_AUTH_SECRET", "secret");
    gateway.put("SPARKGATE_SERVER_TLS_KEYSTORE_PASSWORD", "secret");
    gateway.put("GITHUB_TOKEN", "ghp_...");
    gateway.put("DB_PASSWORD", "secret");
    gateway.put("SSH_AUTH_SOCK", "/tmp/ssh-agent");
    gateway.put("MAVEN_OPTS", "-Xmx1g");

    SparkSubmitLauncher launcher = new SparkSubmitLauncher(vertx, home, "local[1]", "client");
    Map<String, String> env = launcher.environment(spec(new LogRing(10)), gateway);
    assertEquals(Map.of("PATH", "/usr/bin:/bin", "HOME", "/home/sparkgate", "LC_ALL", "C.UTF-8",
        "JAVA_HOME", "/usr/lib/jvm/17", "SPARK_LOCAL_IP", "127.0.0.1", "PYSPARK_PYTHON", "/venv/bin/python",
        "HADOOP_CONF_DIR", "/etc/hadoop", "SPARKGATE_SESSION_SECRET", "s3cr3t"), env);

    // An operator who wants drivers to have a credential names it exactly; a prefix never does.
    SparkSubmitLauncher named = new SparkSubmitLauncher(vertx, home, "local[1]", "client",
        new DriverEnvironment(List.of("PATH", "AWS_*", "AWS_ACCESS_KEY_ID", "KRB5CCNAME")));
    assertEquals(Map.of("PATH", "/usr/bin:/bin", "AWS_ACCESS_KEY_ID", "AKIA...", "KRB5CCNAME",
        "FILE:/tmp/krb5cc_gateway", "SPARKGATE_SESSION_SECRET", "s3cr3t"),
        named.environment(spec(new LogRing(10)), gateway));
  }

  @Test
  void aRealDriverProcessSeesOnlyTheAllowListAndItsSecret() {
    SparkSubmitLauncher launcher = new SparkSubmitLauncher(vertx, home, "local[1]", "client",
        new DriverEnvironment(List.of("PATH", "HOME")));
    LogRing log = new LogRing(100);
    DriverProcess p = GatewayTestBase.await(launcher.launch(spec(log)));
    assertEquals(0, GatewayTestBase.await(p.exit()));
    List<String> names = log.lines().stream().filter(l -> l.startsWith("env: ")).map(l -> l.substring(5)).toList();
    assertTrue(names.contains("SPARKGATE_SESSION_SECRET"), names.toString());
    assertTrue(names.contains("PATH"), names.toString());
    // What the shell itself adds (PWD, SHLVL, _) is not from the gateway.
    for (String n : names) {
      assertTrue(List.of("PATH", "HOME", "SPARKGATE_SESSION_SECRET", "PWD", "SHLVL", "_", "OLDPWD").contains(n),
          "the driver inherited " + n);
    }
    assertTrue(Duration.ofSeconds(1).toMillis() > 0);
  }
}
