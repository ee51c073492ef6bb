package io.sparkgate.gateway.metrics;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sparkgate.gateway.session.InteractiveSession;
import io.sparkgate.gateway.session.Kind;
import io.sparkgate.gateway.session.SessionObserver;
import io.sparkgate.gateway.session.SessionState;
import io.sparkgate.gateway.session.Statement;
import io.sparkgate.gateway.session.StatementOutput;
import io.sparkgate.gateway.session.StatementState;
import io.vertx.micrometer.Label;
import io.vertx.micrometer.MicrometerMetricsFactory;
import io.vertx.micrometer.MicrometerMetricsOptions;
import io.vertx.core.VertxBuilder;
import io.vertx.core.VertxOptions;
import java.time.Duration;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The gateway's meters, in one Prometheus registry that {@code GET /metrics} scrapes. Every meter
 * name the gateway defines is a constant here (docs/metrics.md lists them with their tags); tags
 * have few values (kind, state, outcome, reason), never a session id or a user.
 *
 * <p>Vert.x's own meters (HTTP server requests by method, route and code; connections; event
 * loops) join the same registry when Vert.x is built with {@link #configure(VertxBuilder, VertxOptions)}.
 *
 * <p>Thread-safe: sessions report from their context, the REST API from every event loop.
 */
public final class GatewayMetrics implements SessionObserver {

  // --- Meter names (Prometheus: dots become underscores; counters get _total, timers _seconds) ---

  /** Gauge: sessions listed now, by {@code kind} (spark, pyspark, sparkr, sql, shared) and {@code state}. */
  public static final String SESSIONS = "sparkgate.sessions";
  /** Gauge: batches listed now, by {@code state}. */
  public static final String BATCHES = "sparkgate.batches";
  /** Counter: statements that ended, by {@code kind} and {@code outcome} (ok, error, cancelled, aborted). */
  public static final String STATEMENTS = "sparkgate.statements";
  /** Timer (histogram): a statement's time in the driver, as its agent measured it, by {@code kind}. */
  public static final String STATEMENT_DRIVER_TIME = "sparkgate.statement.driver.time";
  /** Timer (histogram): what the gateway, protocol and agent hand-offs added to it, by {@code kind}. */
  public static final String STATEMENT_GATEWAY_TIME = "sparkgate.statement.gateway.time";
  /** Timer (histogram): from a session's creation to its driver being ready, by {@code kind}. */
  public static final String SESSION_START_TIME = "sparkgate.session.start.time";
  /** Gauge: agents connected now. */
  public static final String AGENT_CONNECTIONS = "sparkgate.agent.connections";
  /** Counter: agent connections made, by {@code type} (first, reconnect). */
  public static final String AGENT_CONNECTS = "sparkgate.agent.connects";
  /** Gauge: push-stream subscribers now, by {@code transport} (sse, websocket). */
  public static final String STREAM_SUBSCRIBERS = "sparkgate.stream.subscribers";
  /** Counter: HTTP requests answered with an error, by {@code reason}. */
  public static final String REFUSED = "sparkgate.http.refused";

  /** The {@code kind} tag of a shared session (created without a kind). */
  public static final String SHARED = "shared";

  private static final Duration[] DRIVER_BUCKETS = seconds(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300);
  private static final Duration[] GATEWAY_BUCKETS = seconds(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
      0.025, 0.05, 0.1);
  private static final Duration[] START_BUCKETS = seconds(5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300);

  private final PrometheusMeterRegistry registry;
  private final Map<Kind, Timer> driverTime = new EnumMap<>(Kind.class);
  private final Map<Kind, Timer> gatewayTime = new EnumMap<>(Kind.class);
  private final Map<String, Timer> startTime = new ConcurrentHashMap<>();
  private final Map<String, Counter> statements = new ConcurrentHashMap<>();
  private final Map<String, Counter> refused = new ConcurrentHashMap<>();
  private final Counter firstConnects;
  private final Counter reconnects;

  /** Meters in a registry of their own (no Vert.x meters), with the JVM's and the process's. */
  public GatewayMetrics() {
    this(newRegistry());
  }

  /** Meters in {@code registry}, with the JVM's and the process's. */
  public GatewayMetrics(PrometheusMeterRegistry registry) {
    this.registry = registry;
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ClassLoaderMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    for (Kind k : Kind.values()) {
      driverTime.put(k, timer(STATEMENT_DRIVER_TIME, "A statement's time in the driver", k.livyName(), DRIVER_BUCKETS));
      gatewayTime.put(k, timer(STATEMENT_GATEWAY_TIME,
          "What the gateway, protocol and agent added to a statement's time in the driver", k.livyName(),
          GATEWAY_BUCKETS));
    }
    firstConnects = Counter.builder(AGENT_CONNECTS).description("Agent connections made").tag("type", "first")
        .register(registry);
    reconnects = Counter.builder(AGENT_CONNECTS).description("Agent connections made").tag("type", "reconnect")
        .register(registry);
  }

  /** A fresh Prometheus registry. */
  public static PrometheusMeterRegistry newRegistry() {
    return new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
  }

  /**
   * Makes Vert.x record its own meters (HTTP server requests by method, route and status code, and
   * more) into {@code registry}, with low-cardinality labels only (no remote address, no raw path).
   */
  public static VertxBuilder configure(VertxBuilder builder, VertxOptions options, PrometheusMeterRegistry registry) {
    options.setMetricsOptions(new MicrometerMetricsOptions()
        .setEnabled(true)
        .setJvmMetricsEnabled(false) // bound here, once
        .setLabels(EnumSet.of(Label.HTTP_METHOD, Label.HTTP_CODE, Label.HTTP_ROUTE, Label.POOL_TYPE,
            Label.POOL_NAME, Label.NAMESPACE)));
    return builder.with(options).withMetrics(new MicrometerMetricsFactory(registry));
  }

  /** The registry, to scrape. */
  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** The Prometheus text of every meter. CPU work in proportion to the meters: call off the event loop. */
  public String scrape() {
    return registry.scrape();
  }

  // --- Sources read at scrape time --------------------------------------------------------------

  /** Counts sessions by kind and state from {@code sessions} whenever the registry is scraped. */
  public void sessions(Supplier<List<InteractiveSession>> sessions) {
    for (String kind : kindTags()) {
      for (SessionState state : SessionState.values()) {
        ToDoubleFunction<Supplier<List<InteractiveSession>>> count = s -> s.get().stream()
            .filter(x -> kindTag(x.kind()).equals(kind) && x.state() == state).count();
        Gauge.builder(SESSIONS, sessions, count).description("Sessions listed now").strongReference(true).tag("kind", kind)
            .tag("state", state.livyName()).register(registry);
      }
    }
    Gauge.builder(AGENT_CONNECTIONS, sessions, s -> s.get().stream().filter(InteractiveSession::agentConnected).count())
        .description("Agents connected now").strongReference(true).register(registry);
  }

  /**
   * Registers a gauge of push-stream subscribers.
   *
   * @param transport sse or websocket
   */
  public void streamSubscribers(String transport, Supplier<? extends Number> count) {
    Gauge.builder(STREAM_SUBSCRIBERS, count, c -> c.get().doubleValue()).description("Push-stream subscribers now").strongReference(true)
        .tag("transport", transport).register(registry);
  }

  /**
   * Registers a gauge of batches in {@code state}.
   *
   * @param state a batch state as the REST API names it
   */
  public void batches(String state, Supplier<? extends Number> count) {
    Gauge.builder(BATCHES, count, c -> c.get().doubleValue()).description("Batches listed now").strongReference(true)
        .tag("state", state).register(registry);
  }

  // --- Events -----------------------------------------------------------------------------------

  /**
   * An HTTP request was answered with error {@code status}.
   */
  public void refused(int status) {
    String reason = reason(status);
    refused.computeIfAbsent(reason, r -> Counter.builder(REFUSED).description("HTTP requests answered with an error")
        .tag("reason", r).register(registry)).increment();
  }

  @Override
  public void statementEnded(Statement s) {
    String outcome = outcome(s);
    String kind = s.kind().livyName();
    statements.computeIfAbsent(kind + '/' + outcome, k -> Counter.builder(STATEMENTS)
        .description("Statements that ended").tag("kind", kind).tag("outcome", outcome).register(registry)).increment();
    if (s.executionMicros() > 0) {
      driverTime.get(s.kind()).record(s.executionMicros(), TimeUnit.MICROSECONDS);
      long gateway = s.gatewayMicros();
      if (gateway >= 0) {
        gatewayTime.get(s.kind()).record(gateway, TimeUnit.MICROSECONDS);
      }
    }
  }

  @Override
  public void sessionReady(Kind kind, long startMillis) {
    String tag = kindTag(kind);
    startTime.computeIfAbsent(tag, k -> timer(SESSION_START_TIME,
        "From a session's creation to its driver being ready", k, START_BUCKETS))
        .record(startMillis, TimeUnit.MILLISECONDS);
  }

  @Override
  public void agentConnected(boolean reconnect) {
    (reconnect ? reconnects : firstConnects).increment();
  }

  // --- Helpers ----------------------------------------------------------------------------------

  /** The {@code outcome} tag of an ended statement. */
  static String outcome(Statement s) {
    if (s.state() == StatementState.CANCELLED) {
      return "cancelled";
    }
    if (s.state() == StatementState.AVAILABLE) {
      return s.output() instanceof StatementOutput.Error ? "error" : "ok";
    }
    return "aborted"; // The session ended under it.
  }

  /** The {@code reason} tag of an error status. */
  static String reason(int status) {
    return switch (status) {
      case 400 -> "bad_request";
      case 401 -> "unauthenticated";
      case 403 -> "forbidden";
      case 404 -> "not_found";
      case 405 -> "method_not_allowed";
      case 409 -> "conflict";
      case 413 -> "too_large";
      case 429 -> "too_many";
      case 503 -> "unavailable";
      case 504 -> "timeout";
      default -> status >= 500 ? "internal" : "other";
    };
  }

  private static List<String> kindTags() {
    List<String> tags = new java.util.ArrayList<>();
    for (Kind k : Kind.values()) {
      tags.add(k.livyName());
    }
    tags.add(SHARED);
    return tags;
  }

  private static String kindTag(Kind kind) {
    return kind == null ? SHARED : kind.livyName();
  }

  private Timer timer(String name, String description, String kind, Duration[] buckets) {
    return Timer.builder(name).description(description).tag("kind", kind).serviceLevelObjectives(buckets)
        .minimumExpectedValue(buckets[0]).maximumExpectedValue(buckets[buckets.length - 1]).register(registry);
  }

  private static Duration[] seconds(double... values) {
    Duration[] out = new Duration[values.length];
    for (int i = 0; i < values.length; i++) {
      out[i] = Duration.ofNanos((long) (values[i] * 1e9));
    }
    return out;
  }
}
