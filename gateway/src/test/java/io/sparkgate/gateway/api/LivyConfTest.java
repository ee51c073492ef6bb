package io.sparkgate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.GatewayConfig;
import io.sparkgate.gateway.testing.FakeAgents;
import io.sparkgate.gateway.testing.GatewayTestBase;
import io.sparkgate.proto.Event;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * A Livy operator's config directory starts the gateway: {@code livy.conf} as Livy writes it (Java
 * properties, Livy's key names, keys Sparkgate does not implement) beside a {@code sparkgate.conf},
 * and Livy's {@code spark-blacklist.conf}. The settings are checked where a client sees them.
 */
class LivyConfTest extends GatewayTestBase {

  /** A port free a moment ago, so that livy.server.port is seen to apply (not 0, which any server gets). */
  private static final int LIVY_PORT = freePort();

  private static int freePort() {
    try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static final String LIVY_CONF = """
      # A Livy 0.8 operator's livy.conf, kept as it was.
      livy.server.port = %d
      livy.server.host=127.0.0.1
      livy.spark.master : local[2]
      livy.spark.deploy-mode client
      livy.server.session.timeout = 1h
      livy.server.session.timeout-check = true
      livy.server.session.state-retain.sec = 600s
      livy.rsc.retained-statements = 2
      livy.rsc.sql.num-rows = 50
      livy.cache-log.size = 4
      livy.file.local-dir-whitelist = /srv/shared
      # Set in both files: sparkgate.conf wins.
      livy.rsc.server.connect.timeout = 5s
      # Not implemented: named in warnings, not fatal.
      livy.repl.enable-hive-context = true
      livy.ui.enabled = false
      livy.server.request-log-retain.days = 5
      """;

  private Path dir;
  private GatewayConfig loaded;

  @Override
  protected GatewayConfig config(Map<String, String> settings) throws Exception {
    dir = Files.createTempDirectory("sparkgate-livy-conf");
    Files.writeString(dir.resolve("livy.conf"), LIVY_CONF.formatted(LIVY_PORT));
    // The test base's settings, minus what livy.conf sets here.
    String own = settings.entrySet().stream()
        .filter(e -> !e.getKey().equals("sparkgate.server.port") && !e.getKey().equals("sparkgate.server.host"))
        .map(e -> e.getKey() + " = " + e.getValue()).collect(Collectors.joining("\n"));
    Files.writeString(dir.resolve("sparkgate.conf"), own + "\nsparkgate.session.start-timeout = 90s\n");
    Files.writeString(dir.resolve("spark-blacklist.conf"), """
        # Livy's spark-blacklist.conf: one property per line.
        spark.master
        spark.submit.deployMode
        spark.yarn.jars
        """);
    loaded = GatewayConfig.load(dir.toString(), Map.of());
    return loaded;
  }

  @Test
  void livysKeysApplyAndTheUnimplementedOnesAreWarnedAbout() {
    assertEquals(LIVY_PORT, gateway.port());
    assertEquals("local[2]", loaded.get(GatewayConfig.SPARK_MASTER));
    assertEquals(java.time.Duration.ofSeconds(90), loaded.get(GatewayConfig.SESSION_START_TIMEOUT));
    assertEquals(50, loaded.get(GatewayConfig.SQL_MAX_ROWS));
    assertEquals(dir.resolve("livy.conf").toString(), loaded.source(GatewayConfig.SPARK_MASTER));
    String warnings = String.join("\n", loaded.warnings());
    for (String key : List.of("livy.repl.enable-hive-context", "livy.ui.enabled",
        "livy.server.request-log-retain.days")) {
      assertTrue(warnings.contains(key + " is a Livy setting that Sparkgate does not implement"), warnings);
    }
    assertTrue(warnings.contains("sparkgate.session.start-timeout is overridden by"), warnings);
    assertEquals(4, loaded.warnings().size(), warnings);
  }

  @Test
  void aClientSeesTheSettings() {
    int id = createSession("{\"kind\": \"sql\"}");
    String args = awaitValue("the driver's arguments", () -> get("/sessions/" + id + "/log").jsonArray("log")
        .stream().map(Object::toString).filter(l -> l.startsWith("args: ")).findFirst(),
        java.util.Optional::isPresent).orElseThrow();
    assertTrue(args.contains("--master local[2]"), args);
    assertTrue(args.contains("spark.sparkgate.sql.maxRows=50"), args);

    // livy.rsc.retained-statements = 2: the oldest statement is forgotten.
    FakeAgents.Link link = agents.link(id);
    link.connect();
    link.emit(new Event.Ready("local-" + id, ""));
    for (int i = 0; i < 3; i++) {
      assertEquals(201, post("/sessions/" + id + "/statements", "{\"code\": \"select " + i + "\"}").status());
      link.emit(new Event.StatementStarted(i));
      link.emit(Event.StatementResult.ok(i, "{}", false));
    }
    assertEquals(404, get("/sessions/" + id + "/statements/0").status());
    assertEquals(2, get("/sessions/" + id + "/statements").json().getInteger("total_statements"));
    // livy.cache-log.size = 4.
    assertTrue(get("/sessions/" + id + "/log").json().getInteger("total") <= 4);

    // spark-blacklist.conf and livy.file.local-dir-whitelist.
    Response black = post("/sessions", "{\"conf\": {\"spark.yarn.jars\": \"hdfs:///x\"}}");
    assertEquals(400, black.status(), black.body());
    assertTrue(black.msg().contains("spark.yarn.jars is blacklisted"), black.body());
    assertEquals(400, post("/sessions", "{\"jars\": [\"/home/alice/a.jar\"]}").status());
    assertEquals(201, post("/sessions", "{\"jars\": [\"/srv/shared/a.jar\"]}").status());
  }
}
