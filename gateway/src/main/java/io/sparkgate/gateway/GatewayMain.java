package io.sparkgate.gateway;

import io.sparkgate.gateway.agent.AgentServer;
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
    try {
      // Agent connections are accepted on every event loop and then move to their session's (each
      // session has an event loop of its own): no thread hand-off between an agent's socket and
      // its session (see AgentServer).
      Context sessionsContext = vertx.getOrCreateContext();
      int agentPort = agentServer.start(config.agentServerHost(), config.agentServerPort(),
              ((io.vertx.core.internal.VertxInternal) vertx).nettyEventLoopGroup())
          .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      gateway = Gateway.start(vertx, config, agentServer, agentPort, sessionsContext, metrics)
          .toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      LOG.info("Sparkgate {} listening on {}://{}:{} (agents dial {}:{}; Spark at {}, {} mode, master {})",
          io.sparkgate.gateway.api.RestApi.SPARKGATE_VERSION,
          config.get(GatewayConfig.TLS_KEYSTORE).isEmpty() && config.get(GatewayConfig.TLS_CERT_FILE).isEmpty()
              ? "http" : "https", config.serverHost(), gateway.port(),
          config.agentServerHost(), agentPort, config.sparkHome(), config.get(GatewayConfig.SPARK_DEPLOY_MODE),
          config.get(GatewayConfig.SPARK_MASTER));
    } catch (Exception e) {
      LOG.error("Sparkgate failed to start", e);
      agentServer.close();
      vertx.close();
      System.exit(1);
      return;
    }

    Duration grace = config.get(GatewayConfig.SESSION_STOP_GRACE);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(vertx, gateway, agentServer, grace),
        "sparkgate-shutdown"));
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
