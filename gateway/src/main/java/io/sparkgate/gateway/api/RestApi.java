package io.sparkgate.gateway.api;

import io.sparkgate.gateway.auth.Identity;
import io.sparkgate.gateway.auth.Security;
import io.sparkgate.gateway.batch.BatchManager;
import io.sparkgate.gateway.batch.BatchRequest;
import io.sparkgate.gateway.batch.BatchSession;
import io.sparkgate.gateway.launch.FileResolver;
import io.sparkgate.gateway.session.InteractiveSession;
import io.sparkgate.gateway.session.SessionException;
import io.sparkgate.gateway.session.SessionManager;
import io.sparkgate.gateway.session.SessionRequest;
import io.sparkgate.gateway.session.Statement;
import io.vertx.core.Future;
import io.vertx.core.MultiMap;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Properties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Livy's REST API for interactive sessions, on a vertx-web {@link Router}.
 *
 * <pre>
 * GET    /version
 * GET    /sessions                              ?from&amp;size
 * POST   /sessions                              201, Location: /sessions/{id}
 * GET    /sessions/{id}
 * GET    /sessions/{id}/state
 * DELETE /sessions/{id}
 * POST   /sessions/{id}/stop                    204 once the driver is gone
 * GET    /sessions/{id}/log                     ?from&amp;size
 * GET    /sessions/{id}/statements              ?from&amp;size&amp;order=desc
 * POST   /sessions/{id}/statements              201, Location: /sessions/{id}/statements/{sid}
 * GET    /sessions/{id}/statements/{sid}          ?wait=S: long-poll until it ends, at most S seconds
 * POST   /sessions/{id}/statements/{sid}/cancel
 * POST   /sessions/{id}/completion
 * GET    /batches                               ?from&amp;size
 * POST   /batches                               201, Location: /batches/{id}
 * GET    /batches/{id}
 * GET    /batches/{id}/state
 * GET    /batches/{id}/log                      ?from&amp;size
 * GET    /batches/{id}/events                   Server-Sent Events (batch, log)
 * DELETE /batches/{id}                          kills the application
 * </pre>
 *
 * <p>and the push streams of {@link StreamRoutes} (SSE and WebSocket). With allowed origins
 * configured, {@link Cors} answers preflights and marks answers to pages of those origins.
 *
 * <p>Every {@code {id}} is a session's id or its name, as in Livy. A request whose {@code Accept}
 * header asks for a Livy API version other than {@value #LIVY_API_REVISION}
 * ({@code application/vnd.livy.v0.2+json}) is answered 406, as Livy's ApiVersioningSupport does.
 *
 * <p>Reads are served from the sessions' published values on the event loop that took the request:
 * no lock, no hop, no wait (a statement's JSON is rendered once per change and then only written).
 * Changes hop to the sessions' context through {@link SessionManager}. One failure handler answers
 * every error with Livy's {@code {"msg": ...}} and a status: 400 for bad input, 404 for unknown ids,
 * 413 for an oversized body, 503 at the session limit, 504 when a driver is slow to answer.
 */
public final class RestApi {
  /** Header of a finished statement's GET: microseconds it spent in the driver, as the agent measured. */
  public static final String EXECUTION_MICROS_HEADER = "Sparkgate-Execution-Micros";
  /** Header of a finished statement's GET: microseconds the gateway, protocol and agent added to it. */
  public static final String GATEWAY_MICROS_HEADER = "Sparkgate-Gateway-Micros";


  private static final Logger LOG = LoggerFactory.getLogger(RestApi.class);

  /** The Livy release whose REST API this gateway speaks. */
  public static final String LIVY_API_VERSION = "0.8.0-incubating";
  /** The only version of Livy's REST API there is (Livy's ApiVersions: v0.1). */
  public static final String LIVY_API_REVISION = "0.1";
  /** The build: version, user, revision, branch, date, url (from the filtered resource). */
  private static final Properties BUILD = loadBuild();
  /** This gateway's version (from the build). */
  public static final String SPARKGATE_VERSION = BUILD.getProperty("version");

  /** What Livy's Accept header names: everything after {@code application/vnd.livy.v} up to a {@code +}. */
  private static final java.util.regex.Pattern LIVY_ACCEPT =
      java.util.regex.Pattern.compile("application/vnd\\.livy\\.v([^+]*).*", java.util.regex.Pattern.DOTALL);

  /** What a session limit is answered with, and the Spark properties a request may not set. */
  public record Options(int sessionLimitStatus, java.util.Set<String> confBlacklist) {
    /** Livy's 400 at the limit, nothing blacklisted. */
    public static final Options DEFAULTS = new Options(400, java.util.Set.of());

    public Options {
      confBlacklist = java.util.Set.copyOf(confBlacklist);
    }
  }

  /** Default page size of GET /sessions and GET /sessions/{id}/log, as Livy. */
  static final int DEFAULT_PAGE = 100;
  /** Largest page any listing answers; a bigger size is capped. */
  static final int MAX_PAGE = 1000;

  private static final CharSequence APPLICATION_JSON = HttpHeaders.createOptimized("application/json");

  private final Vertx vertx;
  private final SessionManager sessions;
  private final BatchManager batches;
  private final FileResolver files;
  private final RequestBodies bodies;
  private final long maxBodyBytes;
  private final int sessionLimitStatus;
  private final Buffer versionJson;
  private final StreamSettings streamSettings;
  private final Cors cors;
  private final StreamRoutes streams;
  private final Security security;
  private final List<java.util.function.Consumer<Router>> extensions = new java.util.ArrayList<>();

  /**
   * @param maxBodyBytes larger request bodies are answered 413
   * @param maxNameLength longest session name accepted
   * @param maxCodeLength longest statement code accepted, in characters
   */
  public RestApi(Vertx vertx, SessionManager sessions, long maxBodyBytes, int maxNameLength, int maxCodeLength) {
    this(vertx, sessions, null, null, maxBodyBytes, maxNameLength, maxCodeLength, StreamSettings.defaults());
  }

  /**
   * @param batches the batches, or null to serve sessions only
   * @param files resolves and checks the files requests name, or null to take them as given
   * @param streamSettings the push streams' and long-poll's settings, and the CORS origins
   */
  public RestApi(Vertx vertx, SessionManager sessions, BatchManager batches, FileResolver files, long maxBodyBytes,
      int maxNameLength, int maxCodeLength, StreamSettings streamSettings) {
    this(vertx, sessions, batches, files, maxBodyBytes, maxNameLength, maxCodeLength, streamSettings,
        Options.DEFAULTS);
  }

  /** As above, with a Livy operator's settings in {@code options}. */
  public RestApi(Vertx vertx, SessionManager sessions, BatchManager batches, FileResolver files, long maxBodyBytes,
      int maxNameLength, int maxCodeLength, StreamSettings streamSettings, Options options) {
    this(vertx, sessions, batches, files, maxBodyBytes, maxNameLength, maxCodeLength, streamSettings, options,
        Security.open());
  }

  /**
   * @param security authentication in front of every route (REST, SSE, WebSocket), and the access
   *     checks of each session and batch
   */
  public RestApi(Vertx vertx, SessionManager sessions, BatchManager batches, FileResolver files, long maxBodyBytes,
      int maxNameLength, int maxCodeLength, StreamSettings streamSettings, Options options, Security security) {
    this.security = java.util.Objects.requireNonNull(security, "security");
    this.vertx = vertx;
    this.sessions = sessions;
    this.batches = batches;
    this.files = files;
    this.bodies = new RequestBodies(maxNameLength, maxCodeLength, options.confBlacklist());
    this.maxBodyBytes = maxBodyBytes;
    this.sessionLimitStatus = options.sessionLimitStatus();
    this.streamSettings = streamSettings;
    this.cors = new Cors(streamSettings.allowedOrigins());
    this.streams = new StreamRoutes(vertx, sessions, streamSettings, bodies, cors, security);
    this.versionJson = LivyJson.version(LIVY_API_VERSION, BUILD);
  }

  /** Adds routes served beside the API (metrics, health, the UI); call before {@link #router()}. */
  public RestApi extend(java.util.function.Consumer<Router> routes) {
    extensions.add(routes);
    return this;
  }

  /** A router serving the API; create one per event loop. */
  public Router router() {
    Router router = Router.router(vertx);
    // Every POST body is read whole, up to the limit, whatever its content type (Livy clients
    // often send JSON without one, or as form data).
    BodyHandler body = BodyHandler.create(false).setBodyLimit(maxBodyBytes).setMergeFormAttributes(false);
    if (cors.enabled()) {
      router.route().handler(cors);
    }

    // Authentication, impersonation and CSRF before any route (the streams' too), also for unknown
    // paths; after CORS, whose preflights carry no credentials.
    router.route().handler(security.handler());
    router.route().handler(this::checkApiVersion);
    router.get("/version").handler(ctx -> ok(ctx, versionJson));
    router.get("/sessions").handler(this::listSessions);
    router.post("/sessions").handler(body).handler(this::createSession);
    router.get("/sessions/:id").handler(ctx -> ok(ctx, LivyJson.session(session(ctx, false))));
    router.get("/sessions/:id/state").handler(ctx -> ok(ctx, LivyJson.state(session(ctx, false))));
    router.delete("/sessions/:id").handler(body).handler(this::deleteSession);
    router.post("/sessions/:id/stop").handler(body).handler(this::stopSession);
    router.get("/sessions/:id/log").handler(this::log);
    router.get("/sessions/:id/statements").handler(this::listStatements);
    router.post("/sessions/:id/statements").handler(body).handler(this::submitStatement);
    router.get("/sessions/:id/statements/:sid").handler(this::getStatement);
    router.post("/sessions/:id/statements/:sid/cancel").handler(body).handler(this::cancelStatement);
    router.post("/sessions/:id/completion").handler(body).handler(this::complete);
    streams.mount(router);
    extensions.forEach(e -> e.accept(router));
    if (batches != null) {
      router.get("/batches").handler(this::listBatches);
      router.post("/batches").handler(body).handler(this::createBatch);
      router.get("/batches/:id").handler(ctx -> ok(ctx, LivyJson.batch(batch(ctx, false))));
      router.get("/batches/:id/state").handler(ctx -> ok(ctx, LivyJson.batchState(batch(ctx, false))));
      router.get("/batches/:id/log").handler(this::batchLog);
      router.delete("/batches/:id").handler(body).handler(this::deleteBatch);
      router.get("/batches/:id/events").handler(this::batchEvents);
    }

    router.route().failureHandler(this::failure);
    router.errorHandler(404, ctx -> error(ctx, 404, "Not found: " + ctx.request().method() + " " + path(ctx)));
    router.errorHandler(405, ctx -> error(ctx, 405, "Method " + ctx.request().method() + " is not allowed on " + path(ctx)));
    router.errorHandler(500, this::failure);
    return router;
  }

  /** Checks a WebSocket handshake; see {@link StreamRoutes#handshake}. For the HTTP server. */
  public void webSocketHandshake(io.vertx.core.http.ServerWebSocketHandshake handshake) {
    streams.handshake(handshake);
  }

  /** Serves an accepted WebSocket; see {@link StreamRoutes#socket}. For the HTTP server. */
  public void webSocket(io.vertx.core.http.ServerWebSocket socket) {
    streams.socket(socket);
  }

  /**
   * Loads and initializes the JSON and routing machinery on the calling thread, so that the first
   * request does not pay for class loading on an event loop. Call off the event loops.
   */
  public void warmUp() {
    // Netty 4.2's allocators register JFR events on their first chunk, which initializes JFR's
    // metadata (100+ ms): do it here rather than on the first request's event loop.
    io.netty.buffer.ByteBufAllocator.DEFAULT.directBuffer(1).release();
    io.netty.buffer.PooledByteBufAllocator.DEFAULT.directBuffer(1).release();
    router();
    RequestBodies.object(Buffer.buffer("{\"code\":\"1 + 1\",\"kind\":\"spark\"}"));
    bodies.statement(Buffer.buffer("{\"code\":\"1 + 1\",\"kind\":\"spark\"}"));
    LivyJson.message("warm");
    io.sparkgate.gateway.session.SessionEventLog.warmUp();
    try {
      for (String op : List.of("{\"op\":\"submit\",\"code\":\"1\",\"ref\":\"r\"}",
          "{\"op\":\"cancel\",\"statement\":1,\"ref\":1}", "{\"op\":\"resume\",\"from\":1}", "{\"op\":\"ping\"}")) {
        bodies.socketMessage(op);
      }
      try {
        bodies.socketMessage("{\"op\":\"bad\"}");
      } catch (ApiError expected) {
        RequestBodies.refOf("{\"ref\":1}");
      }
      Class.forName(io.sparkgate.gateway.stream.SseSubscriber.class.getName());
      Class.forName(io.sparkgate.gateway.stream.SocketSubscriber.class.getName());
      Class.forName(SessionSocket.class.getName());
      Class.forName(LongPoll.class.getName());
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException(e);
    }
  }

  // --- Handlers ---------------------------------------------------------------------------------

  /** 406 for a Livy API version this gateway does not speak, as Livy's ApiVersioningSupport. */
  private void checkApiVersion(RoutingContext ctx) {
    String accept = ctx.request().getHeader(HttpHeaders.ACCEPT);
    if (accept != null) {
      java.util.regex.Matcher m = LIVY_ACCEPT.matcher(accept.strip());
      if (m.matches() && !m.group(1).equals(LIVY_API_REVISION)) {
        throw new ApiError(406, "Unsupported Livy API version '" + cut(m.group(1)) + "' in the Accept header;"
            + " this gateway speaks application/vnd.livy.v" + LIVY_API_REVISION + "+json");
      }
    }
    ctx.next();
  }

  private void listSessions(RoutingContext ctx) {
    int from = queryInt(ctx, "from", 0);
    int size = Math.min(queryInt(ctx, "size", DEFAULT_PAGE), MAX_PAGE);
    List<InteractiveSession> all = visible(ctx, sessions.list(), InteractiveSession::owner);
    ok(ctx, LivyJson.sessions(from, all.size(), page(all, from, size)));
  }

  private void createSession(RoutingContext ctx) {
    SessionRequest asked = bodies.session(ctx.body().buffer());
    // The user the application runs as, by the impersonation rules (403 or 400 when refused).
    SessionRequest parsed = asked.withApp(asked.app().withProxyUser(security.runAs(ctx, asked.app().proxyUser())));
    SessionRequest request = files == null ? parsed : parsed.withApp(resolved(() -> files.resolve(parsed.app())));
    respond(ctx, sessions.create(request, Identity.of(ctx).user()), s -> {
      ctx.response().putHeader(HttpHeaders.LOCATION, "/sessions/" + s.id());
      send(ctx, 201, LivyJson.session(s));
    });
  }

  private void deleteSession(RoutingContext ctx) {
    InteractiveSession s = session(ctx, true);
    respond(ctx, sessions.delete(s.id(), "deleted by a client"), v -> ok(ctx, LivyJson.message("deleted")));
  }

  /** Livy's stop: the driver is stopped, the session stays listed, 204 once the driver is gone. */
  private void stopSession(RoutingContext ctx) {
    InteractiveSession s = session(ctx, true);
    respond(ctx, sessions.stop(s.id(), "stopped by a client"), v -> {
      if (!ctx.response().ended()) {
        ctx.response().setStatusCode(204).end();
      }
    });
  }

  private void log(RoutingContext ctx) {
    InteractiveSession s = session(ctx, false);
    log(ctx, s.id(), s.log().lines());
  }

  private void log(RoutingContext ctx, int id, List<String> lines) {
    int size = Math.min(queryInt(ctx, "size", DEFAULT_PAGE), MAX_PAGE);
    // Without from, the last `size` lines, as Livy.
    int from = ctx.request().getParam("from") == null ? Math.max(0, lines.size() - size) : queryInt(ctx, "from", 0);
    ok(ctx, LivyJson.log(id, from, lines.size(), page(lines, from, size)));
  }

  private void listBatches(RoutingContext ctx) {
    int from = queryInt(ctx, "from", 0);
    int size = Math.min(queryInt(ctx, "size", DEFAULT_PAGE), MAX_PAGE);
    List<BatchSession> all = visible(ctx, batches.list(), BatchSession::owner);
    ok(ctx, LivyJson.batches(from, all.size(), page(all, from, size)));
  }

  private void createBatch(RoutingContext ctx) {
    BatchRequest asked = bodies.batch(ctx.body().buffer());
    BatchRequest parsed = asked.withFiles(asked.file(),
        asked.app().withProxyUser(security.runAs(ctx, asked.app().proxyUser())));
    BatchRequest request = files == null ? parsed
        : resolved(() -> parsed.withFiles(files.resolve("file", parsed.file()), files.resolve(parsed.app())));
    respond(ctx, batches.create(request, Identity.of(ctx).user()), b -> {
      ctx.response().putHeader(HttpHeaders.LOCATION, "/batches/" + b.id());
      send(ctx, 201, LivyJson.batch(b));
    });
  }

  private void batchLog(RoutingContext ctx) {
    BatchSession b = batch(ctx, false);
    log(ctx, b.id(), b.log().lines());
  }

  /** Server-Sent Events of a batch: {@code batch} (its view on every change) and {@code log} events. */
  private void batchEvents(RoutingContext ctx) {
    BatchSession b = batch(ctx, false);
    Long from = StreamRoutes.resumeFrom(ctx);
    new io.sparkgate.gateway.stream.SseSubscriber(vertx, ctx.request(), b.events(),
        io.sparkgate.gateway.session.SessionEvent.NO_STATEMENT, streamSettings.subscriberLimits(),
        streamSettings.keepAlive().toMillis())
        .begin(from != null ? from : io.sparkgate.gateway.stream.Subscriber.FROM_OLDEST, () -> false);
  }

  private void deleteBatch(RoutingContext ctx) {
    BatchSession b = batch(ctx, true);
    respond(ctx, batches.delete(b.id(), "deleted by a client"), v -> ok(ctx, LivyJson.message("deleted")));
  }

  /**
   * The batch named by the path; 404 when unknown or not a number, 403 when the caller may not read
   * it (or change it, for {@code modify}).
   */
  private BatchSession batch(RoutingContext ctx, boolean modify) {
    String raw = ctx.pathParam("id");
    Integer id = parseId(raw);
    BatchSession b = id == null ? null : batches.get(id);
    if (b == null) {
      throw ApiError.notFound("Batch '" + cut(raw) + "' not found.");
    }
    if (modify) {
      security.requireModify(ctx, b.owner(), "batch " + b.id());
    } else {
      security.requireView(ctx, b.owner(), "batch " + b.id());
    }
    return b;
  }

  /** Runs a file resolution; its refusal is the client's 400. */
  private static <T> T resolved(java.util.function.Supplier<T> resolution) {
    try {
      return resolution.get();
    } catch (IllegalArgumentException e) {
      throw ApiError.badRequest(e.getMessage());
    }
  }

  private void listStatements(RoutingContext ctx) {
    InteractiveSession s = session(ctx, false);
    List<Statement> all = s.statements();
    String order = ctx.request().getParam("order");
    if (order != null) {
      // As Livy: desc lists the newest first, and from counts from the newest.
      switch (order.strip().toLowerCase(java.util.Locale.ROOT)) {
        case "desc" -> {
          List<Statement> reversed = new java.util.ArrayList<>(all);
          java.util.Collections.reverse(reversed);
          all = reversed;
        }
        case "asc" -> { }
        default -> throw ApiError.badRequest("order must be asc or desc, not '" + cut(order) + "'");
      }
    }
    int from = queryInt(ctx, "from", 0);
    // Livy's default page is every statement kept.
    int size = Math.min(queryInt(ctx, "size", all.size()), MAX_PAGE);
    ok(ctx, LivyJson.statements(all.size(), page(all, from, size)));
  }

  private void submitStatement(RoutingContext ctx) {
    InteractiveSession s = session(ctx, true);
    RequestBodies.StatementBody b = bodies.statement(ctx.body().buffer());
    respond(ctx, sessions.submit(s, b.code(), b.kind()), st -> {
      ctx.response().putHeader(HttpHeaders.LOCATION, "/sessions/" + s.id() + "/statements/" + st.id());
      send(ctx, 201, st.rendered(LivyJson.STATEMENT));
    });
  }

  private void getStatement(RoutingContext ctx) {
    InteractiveSession s = session(ctx, false);
    Statement st = statement(ctx, s);
    long waitMillis = waitMillis(ctx);
    if (waitMillis > 0 && !st.state().isFinal()) {
      LongPoll.await(vertx, s, st.id(), waitMillis, ctx.request()).onSuccess(now -> {
        if (now == null) {
          error(ctx, 404, "Statement " + st.id() + " is no longer kept in session " + s.id() + ".");
        } else {
          sendStatement(ctx, now);
        }
      });
      return;
    }
    sendStatement(ctx, st);
  }

  /** {@code ?wait=S} in milliseconds, capped by sparkgate.statement.max-wait; 0 without it. */
  private long waitMillis(RoutingContext ctx) {
    String raw = ctx.request().getParam("wait");
    if (raw == null) {
      return 0;
    }
    double seconds;
    try {
      seconds = Double.parseDouble(raw.strip());
    } catch (NumberFormatException e) {
      seconds = -1;
    }
    if (!(seconds >= 0) || Double.isInfinite(seconds) || raw.strip().length() > 20) {
      throw ApiError.badRequest("wait must be a non-negative number of seconds, not '" + cut(raw) + "'");
    }
    return (long) Math.min(seconds * 1000, streamSettings.maxWait().toMillis());
  }

  private static void sendStatement(RoutingContext ctx, Statement st) {
    if (st.executionMicros() > 0) {
      // Outside Livy's JSON, which clients parse strictly: the driver's own time, for benchmarks.
      ctx.response().putHeader(EXECUTION_MICROS_HEADER, Long.toString(st.executionMicros()));
      ctx.response().putHeader(GATEWAY_MICROS_HEADER, Long.toString(st.gatewayMicros()));
    }
    ok(ctx, st.rendered(LivyJson.STATEMENT));
  }

  private void cancelStatement(RoutingContext ctx) {
    InteractiveSession s = session(ctx, true);
    Statement st = statement(ctx, s);
    respond(ctx, sessions.cancel(s, st.id()), v -> ok(ctx, LivyJson.message("canceled")));
  }

  private void complete(RoutingContext ctx) {
    InteractiveSession s = session(ctx, true);
    RequestBodies.CompletionBody b = bodies.completion(ctx.body().buffer());
    respond(ctx, sessions.complete(s, b.code(), b.kind(), b.cursor()), c -> ok(ctx, LivyJson.candidates(c)));
  }

  // --- Helpers ----------------------------------------------------------------------------------

  /** The entries of {@code all} the caller may read (all of them without access control). */
  private <T> List<T> visible(RoutingContext ctx, List<T> all, java.util.function.Function<T, String> owner) {
    if (!security.access().enabled()) {
      return all;
    }
    return all.stream().filter(x -> security.canView(ctx, owner.apply(x))).toList();
  }

  /** The session the path names by id or by name (as Livy), which the caller may read; see below. */
  private InteractiveSession session(RoutingContext ctx) {
    return session(ctx, false);
  }

  /**
   * The session named by the path, touched (a client called it); 404 when unknown or not a number,
   * 403 when the caller may not read it (or change it, for {@code modify}).
   */
  private InteractiveSession session(RoutingContext ctx, boolean modify) {
    InteractiveSession s = findSession(sessions, ctx);
    if (modify) {
      security.requireModify(ctx, s.owner(), "session " + s.id());
    }
    return s;
  }

  /**
   * The session named by the path, for the route classes (streams too): 404 when unknown or not a
   * number, 403 when the caller may not read it ({@link Security#of}).
   */
  static InteractiveSession findSession(SessionManager sessions, RoutingContext ctx) {
    String raw = ctx.pathParam("id");
    InteractiveSession s = null;
    if (raw != null && !raw.isEmpty() && raw.chars().allMatch(c -> c >= '0' && c <= '9')) {
      Integer id = parseId(raw);
      s = id == null ? null : sessions.get(id);
    } else if (raw != null && !raw.isEmpty()) {
      s = sessions.get(raw);
    }
    if (s == null) {
      throw ApiError.notFound("Session '" + cut(raw) + "' not found.");
    }
    Security.of(ctx).requireView(ctx, s.owner(), "session " + s.id());
    s.touch();
    return s;
  }

  private static Statement statement(RoutingContext ctx, InteractiveSession s) {
    return findStatement(ctx, s);
  }

  /** The statement named by the path; 404 when unknown, no longer kept, or not a number. */
  static Statement findStatement(RoutingContext ctx, InteractiveSession s) {
    String raw = ctx.pathParam("sid");
    Integer id = parseId(raw);
    Statement st = id == null ? null : s.statement(id);
    if (st == null) {
      throw ApiError.notFound("Statement '" + cut(raw) + "' not found in session " + s.id() + ".");
    }
    return st;
  }

  private static Integer parseId(String raw) {
    if (raw == null || raw.isEmpty() || raw.length() > 10) {
      return null;
    }
    for (int i = 0; i < raw.length(); i++) {
      if (raw.charAt(i) < '0' || raw.charAt(i) > '9') {
        return null;
      }
    }
    long v = Long.parseLong(raw);
    return v > Integer.MAX_VALUE ? null : (int) v;
  }

  /** A non-negative integer query parameter, or {@code dflt} when absent; 400 otherwise. */
  private static int queryInt(RoutingContext ctx, String name, int dflt) {
    String raw = ctx.request().getParam(name);
    if (raw == null) {
      return dflt;
    }
    Integer v = parseId(raw.strip());
    if (v == null) {
      throw ApiError.badRequest(name + " must be a non-negative integer, not '" + cut(raw) + "'");
    }
    return v;
  }

  private static <T> List<T> page(List<T> all, int from, int size) {
    if (from >= all.size() || size == 0) {
      return List.of();
    }
    return all.subList(from, (int) Math.min(all.size(), (long) from + size));
  }

  private <T> void respond(RoutingContext ctx, Future<T> result, java.util.function.Consumer<T> onSuccess) {
    result.onComplete(ar -> {
      if (ar.succeeded()) {
        onSuccess.accept(ar.result());
      } else {
        ctx.fail(ar.cause());
      }
    });
  }

  private static void ok(RoutingContext ctx, Buffer json) {
    send(ctx, 200, json);
  }

  private static void send(RoutingContext ctx, int status, Buffer json) {
    HttpServerResponse response = ctx.response();
    if (response.ended()) {
      return;
    }
    response.setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, APPLICATION_JSON).end(json);
  }

  private static void error(RoutingContext ctx, int status, String message) {
    HttpServerResponse response = ctx.response();
    if (response.ended()) {
      return;
    }
    if (response.headWritten()) {
      response.reset();
      return;
    }
    MultiMap headers = response.headers();
    headers.remove(HttpHeaders.LOCATION);
    send(ctx, status, LivyJson.message(message));
  }

  private void failure(RoutingContext ctx) {
    Throwable f = ctx.failure();
    if (f instanceof ApiError e) {
      error(ctx, e.status(), e.getMessage());
    } else if (f instanceof SessionException e) {
      error(ctx, status(e.reason()), e.getMessage());
    } else if (ctx.statusCode() == 413) {
      error(ctx, 413, "The request body is larger than the " + maxBodyBytes + " bytes allowed");
    } else if (ctx.statusCode() >= 400 && ctx.statusCode() < 500) {
      error(ctx, ctx.statusCode(), f != null && f.getMessage() != null ? f.getMessage()
          : "Bad request: " + ctx.request().method() + " " + path(ctx));
    } else {
      LOG.error("Internal error on {} {}", ctx.request().method(), path(ctx), f);
      error(ctx, 500, "Internal error: " + (f == null ? "unknown" : f.getClass().getSimpleName()));
    }
  }

  private int status(SessionException.Reason reason) {
    return switch (reason) {
      case BAD_REQUEST -> 400;
      case NOT_FOUND -> 404;
      case TOO_MANY -> 429;
      case UNAVAILABLE -> 503;
      case SESSION_LIMIT -> sessionLimitStatus;
      case TIMEOUT -> 504;
    };
  }

  private static String path(RoutingContext ctx) {
    return cut(ctx.request().path());
  }

  static String cut(String s) {
    if (s == null) {
      return "";
    }
    return s.length() <= 64 ? s : s.substring(0, 64) + "...";
  }

  /**
   * The build facts in {@code sparkgate-version.properties} (filtered by Maven): version, user,
   * revision, branch, date, url; "unknown" for any the build did not fill in.
   */
  private static Properties loadBuild() {
    Properties p = new Properties();
    try (InputStream in = RestApi.class.getResourceAsStream("/sparkgate-version.properties")) {
      if (in != null) {
        p.load(in);
      }
    } catch (IOException e) {
      LOG.debug("cannot read the version resource", e);
    }
    Properties out = new Properties();
    for (String key : List.of("version", "user", "revision", "branch", "date", "url")) {
      String v = p.getProperty(key);
      out.setProperty(key, v == null || v.isBlank() || v.contains("${") ? "unknown" : v.strip());
    }
    // A remote's URL may carry credentials (https://user:token@host/...): never answer them.
    out.setProperty("url", withoutCredentials(out.getProperty("url")));
    return out;
  }

  /** {@code url} without the user information of its authority ({@code https://user:token@host/x}). */
  static String withoutCredentials(String url) {
    return url.replaceFirst("^([a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@", "$1");
  }
}
