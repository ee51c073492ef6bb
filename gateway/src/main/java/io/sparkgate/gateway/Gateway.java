package io.sparkgate.gateway;

import io.sparkgate.gateway.api.ApiVerticle;
import io.sparkgate.gateway.api.RestApi;
import io.sparkgate.gateway.launch.SparkSubmitLauncher;
import io.sparkgate.gateway.session.AgentRegistry;
import io.sparkgate.gateway.session.SessionManager;
import io.sparkgate.gateway.session.SessionSettings;
import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The running gateway minus its agent server: sessions, the launcher, and the REST API on every
 * event loop. {@link GatewayMain} builds it around an agent server; tests build it around a
 * registry of their own.
 */
public final class Gateway {

  private final Vertx vertx;
  private final SessionManager sessions;
  private final List<String> deployments;
  private final int port;
  private final io.sparkgate.gateway.auth.Security security;

  private Gateway(Vertx vertx, SessionManager sessions, List<String> deployments, int port,
      io.sparkgate.gateway.auth.Security security) {
    this.security = security;
    this.vertx = vertx;
    this.sessions = sessions;
    this.deployments = deployments;
    this.port = port;
  }

  /**
   * Starts the REST API with sessions launched through spark-submit.
   *
   * @param agents the agent server sessions register with
   * @param agentPort the port the agent server is bound to (told to every driver)
   */
  public static Future<Gateway> start(Vertx vertx, GatewayConfig config, AgentRegistry agents, int agentPort) {
    // Called from outside Vert.x this is a fresh event-loop context: the sessions' home.
    return start(vertx, config, agents, agentPort, vertx.getOrCreateContext());
  }

  /**
   * As {@link #start(Vertx, GatewayConfig, AgentRegistry, int)}, with the context every session lives
   * on (the agent server should serve its connections on that context's event loop).
   */
  public static Future<Gateway> start(Vertx vertx, GatewayConfig config, AgentRegistry agents, int agentPort,
      Context sessionsContext) {
    Objects.requireNonNull(config, "config");
    SparkSubmitLauncher launcher = new SparkSubmitLauncher(vertx, config.sparkHome(),
        config.get(GatewayConfig.SPARK_MASTER), config.get(GatewayConfig.SPARK_DEPLOY_MODE),
        new io.sparkgate.gateway.launch.DriverEnvironment(config.get(GatewayConfig.DRIVER_ENVIRONMENT)));
    SessionManager sessions = new SessionManager(vertx, sessionsContext, SessionSettings.from(config, agentPort),
        launcher, agents);
    sessions.limits(new io.sparkgate.gateway.session.CreationLimits(config.get(GatewayConfig.SESSION_MAX_CREATING),
        config.get(GatewayConfig.SESSION_MAX_PER_USER)));
    long maxBody = config.get(GatewayConfig.SERVER_MAX_REQUEST_BODY);
    int maxName = config.get(GatewayConfig.SESSION_MAX_NAME_LENGTH);
    int maxCode = config.get(GatewayConfig.STATEMENT_MAX_CODE_LENGTH);
    io.sparkgate.gateway.auth.Security security;
    io.vertx.core.net.KeyCertOptions tls;
    try {
      security = io.sparkgate.gateway.auth.Security.create(vertx, config);
      tls = io.sparkgate.gateway.auth.ServerTls.keyCert(config);
    } catch (RuntimeException e) {
      return sessions.shutdown().transform(ar -> Future.failedFuture(e));
    }
    java.util.function.Supplier<RestApi> api =
        () -> new RestApi(vertx, sessions, maxBody, maxName, maxCode, security);
    api.get().warmUp();
    String host = config.serverHost();

    // Every instance listens on the same port and Vert.x spreads connections over them. Port 0
    // would give each instance a port of its own; a negative port makes them share one random port.
    int listenPort = config.serverPort() == 0 ? -1 : config.serverPort();
    List<ApiVerticle> instances = new java.util.concurrent.CopyOnWriteArrayList<>();
    return vertx.deployVerticle(() -> {
          ApiVerticle v = new ApiVerticle(api, host, listenPort, tls);
          instances.add(v);
          return v;
        }, new DeploymentOptions().setInstances(config.eventLoops()))
        .map(id -> {
          int port = instances.stream().mapToInt(ApiVerticle::actualPort).max().orElseThrow();
          return new Gateway(vertx, sessions, List.of(id), port, security);
        })
        .recover(t -> sessions.shutdown().eventually(security::close).transform(ar -> Future.failedFuture(t)));
  }

  /** The port the REST API listens on. */
  public int port() {
    return port;
  }

  public SessionManager sessions() {
    return sessions;
  }

  /**
   * Stops every session (their drivers exit or are killed) and then the REST API.
   *
   * @return completes when drivers are gone and the API is down
   */
  public Future<Void> stop() {
    return sessions.shutdown().eventually(() -> {
      List<Future<Void>> undeploys = new ArrayList<>();
      for (String id : deployments) {
        undeploys.add(vertx.undeploy(id));
      }
      return Future.join(undeploys);
    }).eventually(security::close);
  }
}
