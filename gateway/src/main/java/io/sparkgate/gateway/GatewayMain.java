package io.sparkgate.gateway;

import io.sparkgate.gateway.agent.AgentServer;
import io.sparkgate.gateway.store.StateStore;
import io.sparkgate.gateway.store.StateStores;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import io.vertx.core.Context;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.sparkgate.gateway.metrics.GatewayMetrics;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts the gateway: configuration, Vert.x, the agent server, sessions and the REST API; and stops
 * it cleanly on SIGTERM or SIGINT (every session's driver is told to shut down, then killed).
 *
 * <p>Start-up order: config (fails fast, exit code 2), Vert.x (its meters in the gateway's registry), agent server bound
 * (its port goes to every driver), then sessions and the REST API on every event loop.
 */
public final class GatewayMain {

  private static final Logger LOG = LoggerFactory.getLogger(GatewayMain.class);

  /** Where the agent server's port is kept for the next run. */
  static final String AGENT_PORT_KEY = "gateway/agent-port";

  private GatewayMain() {}

  public static void main(String[] args) {
    GatewayConfig config;
    try {
      config = GatewayConfig.load();
    } catch (ConfigException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    for (String warning : config.warnings()) {
      LOG.warn("Config: {}", warning);
    }

    // One Prometheus registry for Vert.x's meters (HTTP server) and the gateway's own.
    io.micrometer.prometheusmetrics.PrometheusMeterRegistry registry = GatewayMetrics.newRegistry();
    Vertx vertx = GatewayMetrics.configure(Vertx.builder(),
        new VertxOptions().setEventLoopPoolSize(config.eventLoops()), registry).build();
    GatewayMetrics metrics = new GatewayMetrics(registry);

    AgentServer agentServer = new AgentServer(new AgentServer.Settings(
        AgentServer.Settings.DEFAULT_MAX_FRAME_LENGTH,
        (int) config.get(GatewayConfig.AGENT_HEARTBEAT_INTERVAL).toMillis(),
        AgentServer.Settings.DEFAULT_HANDSHAKE_TIMEOUT_MILLIS,
        AgentServer.Settings.DEFAULT_MAX_QUEUED_COMMANDS,
        AgentServer.Settings.DEFAULT_MAX_QUEUED_COMMAND_BYTES));
    Gateway gateway;
    StateStore store = null;
    try {
      // Agent connections are accepted on every event loop and then move to their session's (each
      // session has an event loop of its own): no thread hand-off between an agent's socket and
      // its session (see AgentServer).
      Context sessionsContext = vertx.getOrCreateContext();
      store = StateStores.open(config);
      // Agents that outlived a crash dial in as soon as the port is bound: they wait until their
      // sessions are read back (else they would be refused as unknown and exit).
      agentServer.holdAgents();
      int agentPort = bindAgentServer(agentServer, config, store,
          ((io.vertx.core.internal.VertxInternal) vertx).nettyEventLoopGroup());
      gateway = Gateway.start(vertx, config, agentServer, agentPort, sessionsContext, metrics, store)
          .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
      agentServer.acceptAgents();
      LOG.info("Sparkgate {} listening on {}://{}:{} (agents dial {}:{}; Spark at {}, {} mode, master {})",
          io.sparkgate.gateway.api.RestApi.SPARKGATE_VERSION,
          config.get(GatewayConfig.TLS_KEYSTORE).isEmpty() && config.get(GatewayConfig.TLS_CERT_FILE).isEmpty()
              ? "http" : "https", config.serverHost(), gateway.port(),
          config.agentServerHost(), agentPort, config.sparkHome(), config.get(GatewayConfig.SPARK_DEPLOY_MODE),
          config.get(GatewayConfig.SPARK_MASTER));
    } catch (Exception e) {
      LOG.error("Sparkgate failed to start", e);
      if (store != null) {
        store.close();
      }
      agentServer.close();
      vertx.close();
      System.exit(1);
      return;
    }

    Duration grace = config.get(GatewayConfig.SESSION_STOP_GRACE);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(vertx, gateway, agentServer, grace),
        "sparkgate-shutdown"));
  }

  /**
   * Binds the agent server. With port 0 and recovery on, the port of the previous run comes first:
   * drivers that outlived a crash keep dialling it. The port bound is stored for the next run.
   */
  static int bindAgentServer(AgentServer server, GatewayConfig config, StateStore store,
      io.netty.channel.EventLoopGroup loop) throws Exception {
    int port = config.agentServerPort();
    if (port == 0 && store != null) {
      byte[] previous = store.get(AGENT_PORT_KEY);
      if (previous != null) {
        int was = new JsonObject(new String(previous, StandardCharsets.UTF_8)).getInteger("port", 0);
        if (was > 0) {
          try {
            int bound = server.start(config.agentServerHost(), was, loop)
                .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
            LOG.info("Agent server on port {}, as before the restart", bound);
            return bound;
          } catch (java.util.concurrent.ExecutionException e) {
            LOG.warn("Agent port {} of the previous run is taken ({}); drivers that outlived it cannot dial back",
                was, e.getCause().toString());
            server.resetAfterFailedStart();
          }
        }
      }
    }
    int bound = server.start(config.agentServerHost(), port, loop)
        .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    if (store != null) {
      store.put(AGENT_PORT_KEY, new JsonObject().put("version", 1).put("port", bound).toBuffer().getBytes());
    }
    return bound;
  }

  /** Stops sessions (drivers get two stop graces to exit), then the agent server and Vert.x. */
  private static void stop(Vertx vertx, Gateway gateway, AgentServer agentServer, Duration grace) {
    LOG.info("Sparkgate stopping");
    long waitMillis = 2 * grace.toMillis() + 5_000;
    try {
      gateway.stop().toCompletionStage().toCompletableFuture().get(waitMillis, TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      LOG.warn("Sessions did not all stop within {} ms", waitMillis, e);
    }
    try {
      agentServer.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.warn("Shutdown did not complete cleanly", e);
    }
    LOG.info("Sparkgate stopped");
    // Flush queued log lines (an async appender's worker is a daemon thread).
    if (LoggerFactory.getILoggerFactory() instanceof ch.qos.logback.classic.LoggerContext logback) {
      logback.stop();
    }
  }
}
