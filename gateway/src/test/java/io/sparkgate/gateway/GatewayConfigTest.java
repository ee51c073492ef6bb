package io.sparkgate.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.testing.FakeSpark;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class GatewayConfigTest {

  private static final FakeSpark SPARK = FakeSpark.create();

  @org.junit.jupiter.api.AfterAll
  static void deleteSpark() {
    SPARK.delete();
  }

  /** Settings every valid config here needs: a Spark home and an agent jar that exist. */
  private static Map<String, String> base() {
    Map<String, String> s = new LinkedHashMap<>();
    s.put("sparkgate.spark.home", SPARK.home.toString());
    s.put("sparkgate.agent.jar", SPARK.agentJar.toString());
    return s;
  }

  @Test
  void templateListsExactlyTheRegistryWithItsDefaults() throws IOException {
    Path template = Path.of("..", "conf", "sparkgate.conf.template");
    Pattern entry = Pattern.compile("^#\\s*(sparkgate\\.[a-z0-9.-]+)\\s*=\\s*(.*)$");
    Map<String, String> listed = new LinkedHashMap<>();
    for (String line : Files.readAllLines(template)) {
      Matcher m = entry.matcher(line);
      if (m.matches()) {
        assertEquals(null, listed.put(m.group(1), m.group(2).strip()), "listed twice: " + m.group(1));
      }
    }
    Map<String, String> registry = new LinkedHashMap<>();
    for (ConfigEntry<?> e : GatewayConfig.entries()) {
      registry.put(e.key(), e.defaultValue());
    }
    assertEquals(registry, listed, "conf/sparkgate.conf.template and GatewayConfig's registry differ");
  }

  @Test
  void everyDefaultParses() {
    for (ConfigEntry<?> e : GatewayConfig.entries()) {
      if (!e.defaultValue().isEmpty()) {
        e.parse(e.defaultValue());
      }
    }
    GatewayConfig c = GatewayConfig.of(base(), Map.of());
    assertEquals("0.0.0.0", c.serverHost());
    assertEquals(8998, c.serverPort());
    assertEquals("127.0.0.1", c.agentServerHost());
    assertEquals(0, c.agentServerPort());
    assertEquals("local[*]", c.get(GatewayConfig.SPARK_MASTER));
    assertEquals("client", c.get(GatewayConfig.SPARK_DEPLOY_MODE));
    assertEquals(Duration.ofSeconds(120), c.get(GatewayConfig.SESSION_START_TIMEOUT));
    assertEquals(Duration.ofHours(1), c.get(GatewayConfig.SESSION_IDLE_TIMEOUT));
    assertEquals(100, c.get(GatewayConfig.STATEMENT_RETAINED));
    assertEquals(1L << 20, c.get(GatewayConfig.STATEMENT_MAX_OUTPUT_BYTES));
    assertEquals(200, c.get(GatewayConfig.SESSION_LOG_LINES));
    assertEquals(4L << 20, c.get(GatewayConfig.SERVER_MAX_REQUEST_BODY));
    assertEquals(100, c.get(GatewayConfig.SESSION_MAX));
  }

  @Test
  void environmentNamesFollowTheKey() {
    assertEquals("SPARKGATE_SERVER_PORT", GatewayConfig.SERVER_PORT.envName());
    assertEquals("SPARKGATE_AGENT_SERVER_HOST", GatewayConfig.AGENT_SERVER_HOST.envName());
    assertEquals("SPARKGATE_SESSION_IDLE_TIMEOUT", GatewayConfig.SESSION_IDLE_TIMEOUT.envName());
    assertEquals("SPARKGATE_STATEMENT_MAX_OUTPUT_BYTES", GatewayConfig.STATEMENT_MAX_OUTPUT_BYTES.envName());
  }

  @Test
  void fileSetsAndEnvironmentOverrides(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("sparkgate.conf"), String.join("\n",
        "# a comment",
        "",
        "sparkgate.server.port = 9001",
        "sparkgate.session.idle-timeout=30m",
        "sparkgate.spark.home = " + SPARK.home,
        "sparkgate.agent.jar = " + SPARK.agentJar,
        "sparkgate.statement.max-output-bytes = 64k"));
    GatewayConfig fromFile = GatewayConfig.load(dir.toString(), Map.of());
    assertEquals(9001, fromFile.serverPort());
    assertEquals(Duration.ofMinutes(30), fromFile.get(GatewayConfig.SESSION_IDLE_TIMEOUT));
    assertEquals(65536L, fromFile.get(GatewayConfig.STATEMENT_MAX_OUTPUT_BYTES));

    GatewayConfig overridden = GatewayConfig.load(dir.toString(),
        Map.of("SPARKGATE_SERVER_PORT", "9002", "SPARKGATE_SESSION_IDLE_TIMEOUT", "0"));
    assertEquals(9002, overridden.serverPort());
    assertEquals(Duration.ZERO, overridden.get(GatewayConfig.SESSION_IDLE_TIMEOUT));
    assertTrue(overridden.source(GatewayConfig.SERVER_PORT).contains("SPARKGATE_SERVER_PORT"));

    // The directory may also come from the environment.
    assertEquals(9001, GatewayConfig.load(null, Map.of("SPARKGATE_CONF_DIR", dir.toString())).serverPort());
  }

  @Test
  void sparkHomeComesFromTheEnvironmentWhenNotConfigured() {
    Map<String, String> s = base();
    s.remove("sparkgate.spark.home");
    GatewayConfig c = GatewayConfig.of(s, Map.of("SPARK_HOME", SPARK.home.toString()));
    assertEquals(SPARK.home.toAbsolutePath().normalize(), c.sparkHome());

    Map<String, String> noEnv = new LinkedHashMap<>(s);
    ConfigException e = assertThrows(ConfigException.class, () -> GatewayConfig.of(noEnv, Map.of()));
    assertTrue(e.getMessage().contains("SPARK_HOME"), e.getMessage());
  }

  @Test
  void badValuesFailWithEveryProblemNamed() {
    Map<String, String> s = base();
    s.put("sparkgate.server.port", "eighty");
    s.put("sparkgate.session.start-timeout", "120");
    s.put("sparkgate.statement.max-output-bytes", "2x");
    s.put("sparkgate.spark.deploy-mode", "sideways");
    ConfigException e = assertThrows(ConfigException.class,
        () -> GatewayConfig.of(s, Map.of("SPARKGATE_SESSION_LOG_LINES", "-1")));
    assertEquals(5, e.problems().size(), e.getMessage());
    String m = e.getMessage();
    assertTrue(m.contains("sparkgate.server.port = 'eighty'"), m);
    assertTrue(m.contains("sparkgate.session.start-timeout = '120'") && m.contains("with a unit"), m);
    assertTrue(m.contains("sparkgate.statement.max-output-bytes = '2x'"), m);
    assertTrue(m.contains("must be one of client|cluster"), m);
    assertTrue(m.contains("environment variable SPARKGATE_SESSION_LOG_LINES"), m);
  }

  @Test
  void unknownKeysAndMalformedLinesFail(@org.junit.jupiter.api.io.TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("sparkgate.conf"), String.join("\n",
        "sparkgate.server.prot = 9000",
        "just words",
        "sparkgate.server.port = 1",
        "sparkgate.server.port = 2"));
    ConfigException e = assertThrows(ConfigException.class, () -> GatewayConfig.load(dir.toString(),
        Map.of("SPARK_HOME", SPARK.home.toString(), "SPARKGATE_AGENT_JAR", SPARK.agentJar.toString())));
    String m = e.getMessage();
    assertTrue(m.contains("sparkgate.conf:1: unknown key sparkgate.server.prot"), m);
    assertTrue(m.contains("sparkgate.conf:2: expected 'key = value'"), m);
    assertTrue(m.contains("sparkgate.conf:4: sparkgate.server.port is set twice"), m);
  }

  @Test
  void livyKeysAreAliasesAndUnimplementedOnesOnlyWarn(@org.junit.jupiter.api.io.TempDir Path dir)
      throws IOException {
    Files.writeString(dir.resolve("sparkgate.conf"), String.join("\n",
        "livy.server.port = 9001",
        "livy.spark.master = local[3]",
        "livy.server.session.timeout = 2h",
        "livy.repl.enable-hive-context = true"));
    Map<String, String> env = Map.of("SPARK_HOME", SPARK.home.toString(),
        "SPARKGATE_AGENT_JAR", SPARK.agentJar.toString());
    GatewayConfig c = GatewayConfig.load(dir.toString(), env);
    assertEquals(9001, c.serverPort());
    assertEquals("local[3]", c.get(GatewayConfig.SPARK_MASTER));
    assertEquals(Duration.ofHours(2), c.get(GatewayConfig.SESSION_IDLE_TIMEOUT));
    assertEquals(1, c.warnings().size(), c.warnings().toString());
    assertTrue(c.warnings().get(0).contains("livy.repl.enable-hive-context"), c.warnings().toString());

    Files.writeString(dir.resolve("sparkgate.conf"), "sparkgate.server.port = 1\nlivy.server.port = 2\n");
    ConfigException e = assertThrows(ConfigException.class, () -> GatewayConfig.load(dir.toString(), env));
    assertTrue(e.getMessage().contains("sparkgate.server.port is set twice (as sparkgate.server.port and"
        + " livy.server.port)"), e.getMessage());
  }

  @Test
  void livyConfIsReadUnderSparkgateConfAndItsBlacklistBeside(@org.junit.jupiter.api.io.TempDir Path dir)
      throws IOException {
    Map<String, String> env = Map.of("SPARK_HOME", SPARK.home.toString(),
        "SPARKGATE_AGENT_JAR", SPARK.agentJar.toString());
    // Java properties syntax, as Livy reads it: '=', ':' or a blank between key and value.
    Files.writeString(dir.resolve("livy.conf"), String.join("\n",
        "livy.server.port: 9002",
        "livy.server.session.timeout-check false",
        "livy.rsc.sql.num-rows = 10",
        "livy.server.thrift.enabled = true",
        "spark.something = 1"));
    Files.writeString(dir.resolve("sparkgate.conf"), "sparkgate.sql.max-rows = 20\n");
    Files.writeString(dir.resolve("spark-blacklist.conf"), "# comment\nspark.yarn.jars\n\n  spark.master  \n");
    GatewayConfig c = GatewayConfig.load(dir.toString(), env);
    assertEquals(9002, c.serverPort());
    assertEquals(false, c.get(GatewayConfig.SESSION_TIMEOUT_CHECK));
    assertEquals(20, c.get(GatewayConfig.SQL_MAX_ROWS));
    assertEquals(java.util.Set.of("spark.yarn.jars", "spark.master"), c.confBlacklist());
    String w = String.join("\n", c.warnings());
    assertTrue(w.contains("livy.server.thrift.enabled is a Livy setting that Sparkgate does not implement"), w);
    assertTrue(w.contains("spark.something is not a setting Sparkgate knows"), w);
    assertTrue(w.contains("sparkgate.sql.max-rows is overridden by"), w);
    assertEquals(3, c.warnings().size(), w);

    // Bad values of Livy's keys and bad blacklist lines are errors like any other.
    Files.writeString(dir.resolve("livy.conf"), "livy.server.session.timeout-check = maybe\n");
    Files.writeString(dir.resolve("spark-blacklist.conf"), "spark.a = b\n");
    ConfigException e = assertThrows(ConfigException.class, () -> GatewayConfig.load(dir.toString(), env));
    assertTrue(e.getMessage().contains("sparkgate.session.timeout-check = 'maybe'"), e.getMessage());
    assertTrue(e.getMessage().contains("spark-blacklist.conf:1: expected one Spark property name"), e.getMessage());
  }

  @Test
  void missingSparkSubmitAndAgentJarAreReported(@org.junit.jupiter.api.io.TempDir Path dir) {
    Map<String, String> s = new LinkedHashMap<>();
    s.put("sparkgate.spark.home", dir.toString());
    s.put("sparkgate.agent.jar", dir.resolve("nope.jar").toString());
    ConfigException e = assertThrows(ConfigException.class, () -> GatewayConfig.of(s, Map.of()));
    assertTrue(e.getMessage().contains("has no executable bin/spark-submit"), e.getMessage());
    assertTrue(e.getMessage().contains("nope.jar is not a file"), e.getMessage());
  }

  @Test
  void bodyLimitMustHoldTheLongestCode() {
    Map<String, String> s = base();
    s.put("sparkgate.server.max-request-body", "10k");
    s.put("sparkgate.statement.max-code-length", "20000");
    ConfigException e = assertThrows(ConfigException.class, () -> GatewayConfig.of(s, Map.of()));
    assertTrue(e.getMessage().contains("is smaller than sparkgate.statement.max-code-length"), e.getMessage());
  }

  @Test
  void durationsAndSizesParse() {
    assertEquals(Duration.ofMillis(500), ConfigEntry.parseDuration("500ms"));
    assertEquals(Duration.ofMinutes(5), ConfigEntry.parseDuration("5m"));
    assertEquals(Duration.ofMinutes(5), ConfigEntry.parseDuration("5min"));
    assertEquals(Duration.ofDays(2), ConfigEntry.parseDuration("2d"));
    assertEquals(Duration.ZERO, ConfigEntry.parseDuration("0"));
    assertThrows(IllegalArgumentException.class, () -> ConfigEntry.parseDuration("5"));
    assertThrows(IllegalArgumentException.class, () -> ConfigEntry.parseDuration("99999999999999999999d"));
    assertEquals(65536, ConfigEntry.parseBytes("64k"));
    assertEquals(65536, ConfigEntry.parseBytes("64KiB"));
    assertEquals(3L << 30, ConfigEntry.parseBytes("3g"));
    assertEquals(123, ConfigEntry.parseBytes("123"));
    assertThrows(IllegalArgumentException.class, () -> ConfigEntry.parseBytes("-1"));
    assertThrows(IllegalArgumentException.class, () -> ConfigEntry.parseBytes("9223372036854775807g"));
  }
}
