package io.sparkgate.gateway.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.sparkgate.gateway.Gateway;
import io.sparkgate.gateway.GatewayConfig;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.core.metrics.MetricsOptions;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.junit5.VertxExtension;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.extension.ExtendWith;
import org.slf4j.LoggerFactory;

/**
 * Starts one gateway per test class (real HTTP server, real sessions and launcher, spark-submit
 * from {@link FakeSpark}, agents from {@link FakeAgents}) and offers one-line request helpers.
 *
 * <p>Vert.x runs with its blocked-thread checker at 100 ms (interval and event-loop limit): any
 * warning it logs during a test fails that test, so a blocking call on an event loop cannot slip
 * in unnoticed. The guard is armed once the gateway has started and served its first requests
 * (class loading of a cold JVM is not a blocking call). Likewise any ERROR logged during a test
 * (an unhandled exception on a context, an internal error answered 500) fails it.
 */
@ExtendWith(VertxExtension.class)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class GatewayTestBase {

  /** The logger Vert.x's blocked-thread checker warns on. */
  public static final String BLOCKED_THREAD_LOGGER = "io.vertx.core.impl.BlockedThreadChecker";

  protected Vertx vertx;
  protected Gateway gateway;
  protected FakeAgents agents;
  protected FakeSpark spark;
  protected WebClient client;
  private ListAppender<ILoggingEvent> blockedThreadWarnings;
  private ListAppender<ILoggingEvent> errors;

  /** Settings of this class's gateway, over the base ones; override to change timeouts. */
  protected Map<String, String> settings() {
    return Map.of();
  }

  /** This class's gateway config from {@code settings}; override to load it from files instead. */
  protected GatewayConfig config(Map<String, String> settings) throws Exception {
    return GatewayConfig.of(settings, Map.of());
  }

  /**
   * How long one event-loop task may run before the test fails: 100 ms. A class whose tests move a
   * volume that makes single syscalls slow on a shared 2-core machine may allow more, saying why.
   */
  protected long maxEventLoopMillis() {
    return 100;
  }

  /** Vert.x options with the blocked-thread checker at 100 ms. */
  public static VertxOptions strictOptions() {
    return new VertxOptions()
        .setEventLoopPoolSize(2)
        .setBlockedThreadCheckInterval(100)
        .setBlockedThreadCheckIntervalUnit(TimeUnit.MILLISECONDS)
        .setMaxEventLoopExecuteTime(100)
        .setMaxEventLoopExecuteTimeUnit(TimeUnit.MILLISECONDS)
        // With the stack of the blocked thread in the warning.
        .setWarningExceptionTime(100)
        .setWarningExceptionTimeUnit(TimeUnit.MILLISECONDS)
        .setMetricsOptions(new MetricsOptions().setEnabled(false));
  }

  /**
   * Takes the checker's warnings out of {@code captured}, keeping those that show a blocked loop.
   * A warning whose stack shows the thread waiting in its selector is dropped: the loop had finished
   * its task and was idle, and only the machine's scheduling (a busy 2-core host starving the thread
   * before it could note the task's end) made the checker see a long task. Any other stack counts.
   */
  public static List<ILoggingEvent> blockingWarnings(ListAppender<ILoggingEvent> captured) {
    List<ILoggingEvent> warnings = List.copyOf(captured.list);
    captured.list.clear();
    return warnings.stream().filter(w -> !idleInSelector(w)).toList();
  }

  private static boolean idleInSelector(ILoggingEvent warning) {
    ch.qos.logback.classic.spi.IThrowableProxy t = warning.getThrowableProxy();
    if (t == null || t.getStackTraceElementProxyArray().length == 0) {
      return false;
    }
    StackTraceElement top = t.getStackTraceElementProxyArray()[0].getStackTraceElement();
    String where = top.getClassName() + "." + top.getMethodName();
    return where.equals("sun.nio.ch.EPoll.wait") || where.equals("sun.nio.ch.KQueue.poll")
        || where.startsWith("io.netty.channel.epoll.Native.epollWait");
  }

  /** Captures the blocked-thread checker's warnings from now on. */
  public static ListAppender<ILoggingEvent> captureBlockedThreadWarnings() {
    Logger logger = (Logger) LoggerFactory.getLogger(BLOCKED_THREAD_LOGGER);
    ListAppender<ILoggingEvent> appender = new ListAppender<>();
    appender.start();
    logger.addAppender(appender);
    return appender;
  }

  /** This class's Vert.x; {@link #strictOptions()} unless overridden. */
  protected Vertx createVertx() {
    return Vertx.vertx(strictOptions().setMaxEventLoopExecuteTime(maxEventLoopMillis()));
  }

  /** Starts this class's gateway on {@link #vertx} with {@link #agents}; override to wire it otherwise. */
  protected Future<Gateway> startGateway(GatewayConfig config) {
    return Gateway.start(vertx, config, agents, 45_999);
  }

  /** Requests this class's tests make, run once before the blocked-thread guard is armed (first calls load classes). */
  protected void warmUp() {}

  @BeforeAll
  void startGateway() throws Exception {
    spark = FakeSpark.create();
    Map<String, String> s = new HashMap<>();
    s.put("sparkgate.server.host", "127.0.0.1");
    s.put("sparkgate.server.port", "0");
    s.put("sparkgate.server.event-loops", "2");
    s.put("sparkgate.spark.home", spark.home.toString());
    s.put("sparkgate.agent.jar", spark.agentJar.toString());
    s.put("sparkgate.session.sweep-interval", "100ms");
    s.put("sparkgate.session.stop-grace", "500ms");
    s.put("sparkgate.server.max-request-body", "64k");
    s.put("sparkgate.statement.max-code-length", "20000");
    s.putAll(settings());
    GatewayConfig config = config(s);
    vertx = createVertx();
    agents = new FakeAgents();
    gateway = await(startGateway(config));
    client = WebClient.create(vertx);
    // A cold JVM loads Netty's and vertx-web's classes while the servers bind and the first
    // requests are routed, which can take longer than 100 ms on a busy machine. That is start-up,
    // not a blocking call, so the guard starts once those paths have run once.
    get("/version");
    get("/sessions");
    post("/sessions", "{\"kind\": 1}");
    get("/sessions/0/statements/0");
    // And one session's launch and deletion: the first launch loads the launcher's classes on an
    // event loop, which a cold JVM on a busy machine can make take longer than the guard allows.
    int warm = createSession("{\"kind\": \"sql\", \"name\": \"warm-up\"}");
    delete("/sessions/" + warm);
    awaitTrue("the warm-up session to be gone", () -> get("/sessions/" + warm).status() == 404);
    warmUp();
    blockedThreadWarnings = captureBlockedThreadWarnings();
    errors = new ListAppender<>();
    errors.start();
    ((Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).addAppender(errors);
  }

  /**
   * Forgets the blocked-thread warnings and errors logged so far: for a class's own warm-up (say, a
   * first use of a client whose classes load on an event loop), which is not the gateway blocking.
   */
  protected void forgetWarmUp() {
    blockedThreadWarnings.list.clear();
    errors.list.clear();
  }

  @AfterEach
  void noBlockedEventLoop() {
    if (blockedThreadWarnings == null) {
      return; // The gateway did not start; that failure is reported already.
    }
    List<ILoggingEvent> warnings = blockingWarnings(blockedThreadWarnings);
    if (!warnings.isEmpty()) {
      fail("An event loop was blocked: " + warnings.get(0).getFormattedMessage());
    }
    // An exception nobody handled (Vert.x logs it as "Unhandled exception"), a 500: all bugs.
    List<ILoggingEvent> logged = errors.list.stream()
        .filter(e -> e.getLevel().isGreaterOrEqual(ch.qos.logback.classic.Level.ERROR)).toList();
    errors.list.clear();
    if (!logged.isEmpty()) {
      ILoggingEvent e = logged.get(0);
      fail("An error was logged: " + e.getLoggerName() + " - " + e.getFormattedMessage()
          + (e.getThrowableProxy() == null ? "" : ": " + e.getThrowableProxy().getClassName() + ": "
              + e.getThrowableProxy().getMessage()));
    }
  }

  @AfterAll
  void stopGateway() throws Exception {
    try {
      if (gateway != null) {
        await(gateway.stop());
      }
    } finally {
      if (vertx != null) {
        await(vertx.close());
      }
      if (spark != null) {
        spark.delete();
      }
      if (blockedThreadWarnings != null) {
        ((Logger) LoggerFactory.getLogger(BLOCKED_THREAD_LOGGER)).detachAppender(blockedThreadWarnings);
        ((Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME)).detachAppender(errors);
      }
    }
  }

  // --- Requests ---------------------------------------------------------------------------------

  /** An answer: status, headers and body. */
  public record Response(int status, MultiMap headers, String body) {
    public JsonObject json() {
      try {
        return new JsonObject(body);
      } catch (RuntimeException e) {
        throw new AssertionError("not a JSON object (status " + status + "): " + body, e);
      }
    }

    /** The {@code msg} of an error answer, checking the answer is {@code {"msg": "..."}} and JSON. */
    public String msg() {
      assertTrue(headers.get("content-type") != null && headers.get("content-type").startsWith("application/json"),
          "content type of " + body);
      JsonObject o = json();
      assertEquals(List.of("msg"), List.copyOf(o.fieldNames()), "error body " + body);
      return o.getString("msg");
    }

    public JsonArray jsonArray(String field) {
      return json().getJsonArray(field);
    }
  }

  public Response get(String path) {
    return request(HttpMethod.GET, path, null, null);
  }

  public Response post(String path, String body) {
    return request(HttpMethod.POST, path, body == null ? null : Buffer.buffer(body), "application/json");
  }

  public Response delete(String path) {
    return request(HttpMethod.DELETE, path, null, null);
  }

  public Response request(HttpMethod method, String path, Buffer body, String contentType) {
    var req = client.request(method, gateway.port(), "127.0.0.1", path).timeout(10_000);
    if (contentType != null) {
      req.putHeader("Content-Type", contentType);
    }
    Future<HttpResponse<Buffer>> f = body == null ? req.send() : req.sendBuffer(body);
    HttpResponse<Buffer> r = await(f);
    return new Response(r.statusCode(), r.headers(), r.bodyAsString() == null ? "" : r.bodyAsString());
  }

  /** Creates a session from {@code body}, checks the 201, and returns its id. */
  public int createSession(String body) {
    Response r = post("/sessions", body);
    assertEquals(201, r.status(), r.body());
    return r.json().getInteger("id");
  }

  /** Polls GET /sessions/{id}/state until it is {@code state}. */
  public void awaitState(int id, String state) {
    awaitTrue("session " + id + " to be " + state, () -> {
      Response r = get("/sessions/" + id + "/state");
      return r.status() == 200 && state.equals(r.json().getString("state"));
    });
  }

  /** The pid of session {@code id}'s driver, from the {@code pid} line {@link FakeSpark}'s script prints. */
  public long driverPid(int id) {
    return awaitValue("the driver's pid of session " + id, () -> get("/sessions/" + id + "/log?size=1000")
        .jsonArray("log").stream().map(Object::toString).filter(l -> l.startsWith("pid ")).findFirst(),
        java.util.Optional::isPresent).map(l -> Long.parseLong(l.substring(4).trim())).orElseThrow();
  }

  /** Whether process {@code pid} has ended. */
  public static boolean gone(long pid) {
    return ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true);
  }

  /** Polls until {@code condition} holds, for up to 15 s. */
  public static void awaitTrue(String what, Supplier<Boolean> condition) {
    long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
    while (System.nanoTime() < deadline) {
      if (condition.get()) {
        return;
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
    fail("timed out waiting for " + what);
  }

  /** Polls {@code supplier} until {@code predicate} holds and returns that value. */
  public static <T> T awaitValue(String what, Supplier<T> supplier, Predicate<T> predicate) {
    Object[] last = new Object[1];
    awaitTrue(what, () -> {
      T v = supplier.get();
      last[0] = v;
      return predicate.test(v);
    });
    @SuppressWarnings("unchecked")
    T v = (T) last[0];
    return v;
  }

  /** Waits up to 20 s for {@code f} from the test thread. */
  public static <T> T await(Future<T> f) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("future failed or timed out", e);
    }
  }
}
