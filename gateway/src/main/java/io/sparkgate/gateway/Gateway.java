package io.sparkgate.gateway;

import io.sparkgate.gateway.api.ApiVerticle;
import io.sparkgate.gateway.api.LivyJson;
import io.sparkgate.gateway.api.OpsRoutes;
import io.sparkgate.gateway.api.RestApi;
import io.sparkgate.gateway.metrics.GatewayMetrics;
import io.sparkgate.gateway.metrics.Health;
import io.sparkgate.gateway.api.StreamSettings;
import io.sparkgate.gateway.batch.BatchManager;
import io.sparkgate.gateway.batch.BatchSettings;
import io.sparkgate.gateway.launch.FileResolver;
import io.sparkgate.gateway.launch.SparkSubmitLauncher;
import io.sparkgate.gateway.launch.YarnApplications;
import io.sparkgate.gateway.session.AgentRegistry;
import io.sparkgate.gateway.session.SessionJournal;
import io.sparkgate.gateway.session.SessionManager;
import io.sparkgate.gateway.session.SessionRecords;
import io.sparkgate.gateway.store.RecordWriter;
import io.sparkgate.gateway.store.StateStore;
import io.sparkgate.gateway.store.StateStores;
import io.sparkgate.gateway.session.SessionSettings;
import io.sparkgate.gateway.session.SessionViews;
import io.vertx.core.Context;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.net.KeyCertOptions;
import io.sparkgate.gateway.auth.Security;
import io.sparkgate.gateway.auth.ServerTls;
import io.sparkgate.gateway.launch.DriverEnvironment;
import io.sparkgate.gateway.session.CreationLimits;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The running gateway minus its agent server: sessions, the launcher, and the REST API on every
 * event loop. {@link GatewayMain} builds it around an agent server; tests build it around a
 * registry of their own.
 */
public final class Gateway {

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Gateway.class);

  private final Vertx vertx;
  private final SessionManager sessions;
  /** Writes the state store's records; null with recovery off. */
  private RecordWriter writer;
  private final BatchManager batches;
  private final YarnApplications yarn;
  private final List<String> deployments;
  private final int port;
  private final Security security;
  private final GatewayMetrics metrics;
  private final java.util.function.Supplier<RestApi> api;
  private final Health health;

  private Gateway(Vertx vertx, SessionManager sessions, BatchManager batches, YarnApplications yarn,
      List<String> deployments, int port, GatewayMetrics metrics, Health health,
      java.util.function.Supplier<RestApi> api, Security security) {
    this.api = api;
    this.security = security;
    this.metrics = metrics;
    this.health = health;
    this.vertx = vertx;
    this.sessions = sessions;
    this.batches = batches;
    this.yarn = yarn;
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
    return start(vertx, config, agents, agentPort, sessionsContext, new GatewayMetrics());
  }

  /**
   * As {@link #start(Vertx, GatewayConfig, AgentRegistry, int, Context)}, with the meters in
   * {@code metrics} (whose registry may also hold Vert.x's: see {@link GatewayMetrics#configure}).
   */
  public static Future<Gateway> start(Vertx vertx, GatewayConfig config, AgentRegistry agents, int agentPort,
      Context sessionsContext, GatewayMetrics metrics) {
    return start(vertx, config, agents, agentPort, sessionsContext, metrics, true, null);
  }

  /**
   * As {@link #start(Vertx, GatewayConfig, AgentRegistry, int, Context, GatewayMetrics)} with the
   * state store opened already (null: recovery off). The sessions it holds are recovered before the
   * API opens; the gateway closes the store when it stops.
   */
  public static Future<Gateway> start(Vertx vertx, GatewayConfig config, AgentRegistry agents, int agentPort,
      Context sessionsContext, GatewayMetrics metrics, StateStore store) {
    return start(vertx, config, agents, agentPort, sessionsContext, metrics, false, store);
  }

  private static Future<Gateway> start(Vertx vertx, GatewayConfig config, AgentRegistry agents, int agentPort,
      Context sessionsContext, GatewayMetrics metrics, boolean openStore, StateStore given) {
    Objects.requireNonNull(config, "config");
    // Reading the Hadoop configuration and connecting to YARN block, as do the static initializers
    // that read resources (the UI's files, the OpenAPI description) or load many classes, and the
    // rest of the start-up: on the caller's thread (GatewayMain's, a test's), or on a worker thread
    // (then the wiring continues on an event loop, with those classes initialized already).
    if (!io.vertx.core.Context.isOnEventLoopThread()) {
      HadoopSetup hadoop;
      try {
        initialize(OpsRoutes.class, LivyJson.class, GatewayMetrics.class, RestApi.class, SessionManager.class,
            BatchManager.class, SparkSubmitLauncher.class);
        hadoop = HadoopSetup.create(config);
      } catch (Exception e) {
        return Future.failedFuture(e);
      }
      StateStore store;
      try {
        store = openStore ? StateStores.open(config) : given;
      } catch (Exception e) {
        hadoop.close();
        return Future.failedFuture(e);
      }
      Secure secure;
      try {
        // The security settings read key files and log in to Kerberos.
        secure = new Secure(Security.create(vertx, config), ServerTls.keyCert(config));
      } catch (Exception e) {
        hadoop.close();
        return Future.failedFuture(e);
      }
      return start(vertx, config, agents, agentPort, sessionsContext, hadoop, metrics, secure, store);
    }
    return vertx.executeBlocking(() -> {
          initialize(OpsRoutes.class, LivyJson.class, GatewayMetrics.class, RestApi.class, SessionManager.class,
              BatchManager.class, SparkSubmitLauncher.class);
          return HadoopSetup.create(config);
        }, false)
        // The security settings read key files and log in to Kerberos: on a worker thread too.
        .compose(hadoop -> vertx.executeBlocking(() -> new Secure(Security.create(vertx, config),
                ServerTls.keyCert(config)), false)
            .recover(t -> {
              hadoop.close();
              return Future.failedFuture(t);
            })
            .compose(secure -> vertx.executeBlocking(() -> openStore ? StateStores.open(config) : given, false)
                .compose(store -> start(vertx, config, agents, agentPort, sessionsContext, hadoop, metrics, secure,
                    store))));
  }

  /** Authentication and access checks, and the REST API's certificate (null for plain HTTP). */
  private record Secure(Security security, KeyCertOptions tls) {
  }

  private static void initialize(Class<?>... classes) throws ClassNotFoundException {
    for (Class<?> c : classes) {
      Class.forName(c.getName(), true, c.getClassLoader());
    }
  }

  private static Future<Gateway> start(Vertx vertx, GatewayConfig config, AgentRegistry agents, int agentPort,
      Context sessionsContext, HadoopSetup hadoop, GatewayMetrics metrics, Secure secure, StateStore store) {
    RecordWriter writer = store == null ? null : new RecordWriter(store, 2);
    SessionJournal journal = writer == null ? SessionJournal.OFF : new SessionJournal(writer);
    Security security = secure.security();
    String master = config.get(GatewayConfig.SPARK_MASTER);
    SparkSubmitLauncher launcher = new SparkSubmitLauncher(vertx, config.sparkHome(), master,
        config.get(GatewayConfig.SPARK_DEPLOY_MODE), hadoop.yarn() == null ? null
            : new SparkSubmitLauncher.Yarn(hadoop.yarn(), hadoop.confDir(), hadoop.sparkJars()),
        new DriverEnvironment(config.get(GatewayConfig.DRIVER_ENVIRONMENT)));
    SessionManager sessions = new SessionManager(vertx, sessionsContext, SessionSettings.from(config, agentPort),
        launcher, agents, new SessionViews(LivyJson::session, LivyJson.STATEMENT), metrics, journal);
    sessions.limits(new CreationLimits(config.get(GatewayConfig.SESSION_MAX_CREATING),
        config.get(GatewayConfig.SESSION_MAX_PER_USER)));
    BatchManager batches = new BatchManager(vertx, sessionsContext, BatchSettings.from(config), launcher,
        launcher.onYarn(), io.sparkgate.gateway.api.LivyJson::batch);
    FileResolver files = hadoop.files();
    metrics.sessions(sessions::list);
    for (io.sparkgate.gateway.batch.BatchState state : io.sparkgate.gateway.batch.BatchState.values()) {
      metrics.batches(state.livyName(), () -> batches.list().stream().filter(b -> b.state() == state).count());
    }
    metrics.streamSubscribers("sse", () -> io.sparkgate.gateway.stream.Subscriber.open("sse"));
    metrics.streamSubscribers("websocket", () -> io.sparkgate.gateway.stream.Subscriber.open("websocket"));
    Health health = readiness(vertx, config, agents, store);
    OpsRoutes ops = new OpsRoutes(vertx, metrics, health);
    long maxBody = config.get(GatewayConfig.SERVER_MAX_REQUEST_BODY);
    int maxName = config.get(GatewayConfig.SESSION_MAX_NAME_LENGTH);
    int maxCode = config.get(GatewayConfig.STATEMENT_MAX_CODE_LENGTH);
    StreamSettings streams = StreamSettings.from(config);
    RestApi.Options options = new RestApi.Options(Integer.parseInt(config.get(GatewayConfig.SESSION_LIMIT_STATUS)),
        config.confBlacklist());
    java.util.function.Supplier<RestApi> api =
        () -> new RestApi(vertx, sessions, batches, files, maxBody, maxName, maxCode, streams, options, security)
            .extend(ops::mount);
    String host = config.serverHost();

    // Every instance listens on the same port and Vert.x spreads connections over them. Port 0
    // would give each instance a port of its own; a negative port makes them share one random port.
    int listenPort = config.serverPort() == 0 ? -1 : config.serverPort();
    List<ApiVerticle> instances = new java.util.concurrent.CopyOnWriteArrayList<>();
    // Class loading and JIT of the first request, off the event loops.
    return vertx.executeBlocking(() -> {
          api.get().warmUp();
          // Loads and initializes the HTTP server's classes here rather than in each verticle's start.
          vertx.createHttpServer();
          SessionRecords.warmUp();
          if (store == null) {
            return null;
          }
          LOG.info("State store: {}", store.describe());
          SessionRecords.Loaded loaded = SessionRecords.load(store);
          for (String problem : loaded.problems()) {
            LOG.warn("State store: a record could not be read and is ignored: {}", problem);
          }
          return loaded;
        }, false)
        .compose(loaded -> loaded == null ? Future.succeededFuture() : sessions.recover(loaded))
        .compose(w -> vertx.deployVerticle(() -> {
          ApiVerticle v = new ApiVerticle(api, host, listenPort, (int) maxBody, secure.tls());
          instances.add(v);
          return v;
        }, new DeploymentOptions().setInstances(config.eventLoops())))
        .map(id -> {
          int port = instances.stream().mapToInt(ApiVerticle::actualPort).max().orElseThrow();
          Gateway g = new Gateway(vertx, sessions, batches, hadoop.yarn(), List.of(id), port, metrics, health, api,
              security);
          g.writer = writer;
          return g;
        })
        .recover(t -> Future.join(sessions.shutdown(), batches.shutdown())
            .eventually(security::close)
            .transform(ar -> {
              hadoop.close();
              return Future.failedFuture(t);
            }));
  }

  /** A router like the one each event loop serves (every route of the HTTP API); for tests and tools. */
  public io.vertx.ext.web.Router newRouter() {
    return api.get().router();
  }

  /** The gateway's meters. */
  public GatewayMetrics metrics() {
    return metrics;
  }

  /** The readiness checks of GET /health/ready; parts started later (a state store) add theirs. */
  public Health health() {
    return health;
  }

  /** Readiness: agents can dial in, and spark-submit is there to launch drivers. */
  private static Health readiness(Vertx vertx, GatewayConfig config, AgentRegistry agents, StateStore store) {
    java.nio.file.Path submit = config.sparkHome().resolve("bin").resolve("spark-submit");
    Health health = new Health()
        .register("agent-server", () -> Future.succeededFuture(agents.listening() ? null
            : "the agent server is not listening"))
        .register("spark", () -> vertx.executeBlocking(() -> java.nio.file.Files.isExecutable(submit) ? null
            : submit + " is missing or not executable", false));
    if (store != null) {
      // The store answers a read (of the id counters' node), on a worker thread.
      health.register("state-store", () -> vertx.executeBlocking(() -> {
        try {
          store.children("ids");
          return null;
        } catch (java.io.IOException | RuntimeException e) {
          return store.describe() + " does not answer: " + e.getMessage();
        }
      }, false));
    }
    return health;
  }

  /** The port the REST API listens on. */
  public int port() {
    return port;
  }

  public SessionManager sessions() {
    return sessions;
  }

  public BatchManager batches() {
    return batches;
  }

  /** The YARN client, or null when the master is not yarn. */
  public YarnApplications yarn() {
    return yarn;
  }

  /**
   * Stops every session (their drivers exit or are killed) and then the REST API.
   *
   * @return completes when drivers are gone and the API is down
   */
  public Future<Void> stop() {
    return Future.join(sessions.shutdown(), batches.shutdown()).eventually(() -> {
      List<Future<Void>> undeploys = new ArrayList<>();
      for (String id : deployments) {
        undeploys.add(vertx.undeploy(id));
      }
      return Future.join(undeploys);
    }).eventually(() -> {
      if (yarn != null) {
        yarn.close();
      }
      return Future.succeededFuture();
    }).eventually(security::close).eventually(() -> writer == null ? Future.succeededFuture()
        : vertx.executeBlocking(() -> {
          writer.close(10_000);
          return null;
        }, false)).mapEmpty();
  }
}
