package io.sparkgate.gateway.auth;

import io.sparkgate.gateway.GatewayConfig;
import io.sparkgate.gateway.api.ApiError;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.web.RoutingContext;
import java.nio.file.Path;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's security policy in one place: who a request comes from (authentication), whom it
 * acts as ({@code doAs}, impersonation), whether it may use the gateway and a given session (access
 * control), and CSRF protection. The REST API puts {@link #handler()} in front of every route and
 * asks {@link #requireView}, {@link #requireModify} and {@link #runAs} where a session is read,
 * changed or created; the push streams go through the same handler and checks.
 *
 * <p>Nothing here blocks an event loop: credential checks that do IO run on {@link AuthWorkers}.
 * Nothing here logs a credential: failures are logged with the remote address and the reason.
 */
public final class Security {

  private static final Logger LOG = LoggerFactory.getLogger(Security.class);

  /** The header CSRF protection requires on requests that change something (Livy's name). */
  public static final String CSRF_HEADER = "X-Requested-By";
  /** The query parameter naming the user a request acts as (Livy's and Hadoop's name). */
  public static final String DO_AS = "doAs";
  private static final String KEY = "sparkgate.security";
  /** Paths anyone may GET: the health probes, which tell nothing but up or down. */
  public static final java.util.Set<String> OPEN_PATHS = java.util.Set.of("/health/live", "/health/ready");
  private static final Security OPEN = open();
  private static final CharSequence WWW_AUTHENTICATE = HttpHeaders.createOptimized("WWW-Authenticate");

  private final Authenticator authenticator;
  private final AccessControl access;
  private final boolean impersonation;
  private final boolean csrf;
  private final AuthWorkers workers;

  /**
   * @param authenticator null when nobody is authenticated ({@code none})
   */
  public Security(Authenticator authenticator, AccessControl access, boolean impersonation, boolean csrf,
      AuthWorkers workers) {
    this.authenticator = authenticator;
    this.access = Objects.requireNonNull(access, "access");
    this.impersonation = impersonation;
    this.csrf = csrf;
    this.workers = workers;
  }

  /** No authentication, no access control, no impersonation, no CSRF check. */
  public static Security open() {
    return new Security(null, AccessControl.open(), false, false, null);
  }

  /**
   * The policy {@code config} describes. Reads key files and logs in to Kerberos: call it off the
   * event loops, at start-up.
   *
   * @throws IllegalArgumentException when a setting the chosen type needs is missing or unusable
   */
  public static Security create(Vertx vertx, GatewayConfig config) {
    String type = config.get(GatewayConfig.AUTH_TYPE);
    String realm = config.get(GatewayConfig.AUTH_BASIC_REALM);
    AuthWorkers workers = type.equals("none") ? null : new AuthWorkers(vertx);
    Authenticator authenticator;
    try {
      authenticator = authenticator(vertx, config, type, realm, workers);
    } catch (RuntimeException e) {
      if (workers != null) {
        workers.close();
      }
      throw e;
    }
    AccessControl access = new AccessControl(config.get(GatewayConfig.ACCESS_CONTROL_ENABLED),
        config.get(GatewayConfig.SUPERUSERS), config.get(GatewayConfig.ACCESS_CONTROL_MODIFY_USERS),
        config.get(GatewayConfig.ACCESS_CONTROL_VIEW_USERS), config.get(GatewayConfig.ACCESS_CONTROL_ALLOWED_USERS));
    boolean impersonation = config.get(GatewayConfig.IMPERSONATION_ENABLED);
    boolean csrf = config.get(GatewayConfig.CSRF_PROTECTION);
    LOG.info("Security: authentication {}, access control {}, impersonation {}, CSRF protection {}", type,
        access.enabled() ? "on" : "off", impersonation ? "on" : "off", csrf ? "on" : "off");
    return new Security(authenticator, access, impersonation, csrf, workers);
  }

  private static Authenticator authenticator(Vertx vertx, GatewayConfig config, String type, String realm,
      AuthWorkers workers) {
    Authenticator authenticator = switch (type) {
      case "none" -> null;
      case "basic" -> new HtpasswdAuthenticator(vertx, required(config, GatewayConfig.AUTH_HTPASSWD_FILE), realm);
      case "jwt" -> new JwtAuthenticator(vertx, config.get(GatewayConfig.AUTH_JWT_ALGORITHM),
          required(config, GatewayConfig.AUTH_JWT_KEY_FILE), config.get(GatewayConfig.AUTH_JWT_ISSUER),
          config.get(GatewayConfig.AUTH_JWT_AUDIENCE), config.get(GatewayConfig.AUTH_JWT_USER_CLAIM), realm);
      case "ldap" -> new LdapAuthenticator(config.get(GatewayConfig.AUTH_LDAP_URL),
          config.get(GatewayConfig.AUTH_LDAP_USER_DN_PATTERN), config.get(GatewayConfig.AUTH_LDAP_BASE_DN),
          config.get(GatewayConfig.AUTH_LDAP_USERNAME_DOMAIN), config.get(GatewayConfig.AUTH_LDAP_TIMEOUT), workers,
          realm);
      case "kerberos" -> new KerberosAuthenticator(config.get(GatewayConfig.AUTH_KERBEROS_PRINCIPAL),
          required(config, GatewayConfig.AUTH_KERBEROS_KEYTAB), config.get(GatewayConfig.AUTH_KERBEROS_NAME_RULES),
          workers);
      default -> throw new IllegalArgumentException("unknown authentication type " + type);
    };
    if (authenticator != null) {
      authenticator.warmUp();
    }
    return authenticator;
  }

  private static Path required(GatewayConfig config, io.sparkgate.gateway.ConfigEntry<String> entry) {
    String v = config.get(entry);
    if (v.isEmpty()) {
      throw new IllegalArgumentException(config.get(GatewayConfig.AUTH_TYPE) + " authentication needs " + entry.key());
    }
    return Path.of(v);
  }

  public AccessControl access() {
    return access;
  }

  /** Releases the credential-check workers. */
  public Future<Void> close() {
    return workers == null ? Future.succeededFuture() : workers.close();
  }

  // --- In front of every route -----------------------------------------------------------------

  /**
   * The handler in front of every route (REST, SSE, WebSocket upgrade): authenticates the request
   * (401 with {@code WWW-Authenticate} without valid credentials), refuses users not allowed to use
   * the gateway (403), settles {@code doAs} (403 when not allowed to impersonate, 400 when
   * impersonation is off), and when CSRF protection is on refuses a changing method without
   * {@value #CSRF_HEADER} (400). On success the request's {@link Identity} is set.
   */
  public Handler<RoutingContext> handler() {
    return this::handle;
  }

  /**
   * The policy that admitted {@code ctx} (set by {@link #handler()}), for route classes that check
   * sessions without holding the policy; the open one on a router without the handler.
   */
  public static Security of(RoutingContext ctx) {
    Security s = ctx.get(KEY);
    return s == null ? OPEN : s;
  }

  private void handle(RoutingContext ctx) {
    ctx.put(KEY, this);
    HttpServerRequest request = ctx.request();
    if (OPEN_PATHS.contains(request.path())) {
      // Liveness and readiness probes cannot authenticate; they answer a status and nothing else.
      ctx.next();
      return;
    }
    if (authenticator == null) {
      admit(ctx, null);
      return;
    }
    String authorization = request.getHeader(HttpHeaders.AUTHORIZATION);
    if (authorization == null || authorization.isBlank()) {
      unauthorized(ctx, "Authentication required", null);
      return;
    }
    Future<Authenticator.Authenticated> result;
    try {
      result = authenticator.authenticate(request, authorization);
    } catch (AuthenticationException e) {
      result = Future.failedFuture(e);
    }
    if (result.isComplete()) {
      finish(ctx, result);
      return;
    }
    // The body must wait for the check: the routes' body handler reads it after us.
    if (!request.isEnded()) {
      request.pause();
    }
    Future<Authenticator.Authenticated> pending = result;
    pending.onComplete(ar -> {
      if (!request.isEnded()) {
        request.resume();
      }
      finish(ctx, pending);
    });
  }

  private void finish(RoutingContext ctx, Future<Authenticator.Authenticated> result) {
    if (result.failed()) {
      Throwable t = result.cause();
      String why = t instanceof AuthenticationException ? t.getMessage() : "Authentication failed";
      if (!(t instanceof AuthenticationException)) {
        LOG.warn("Checking credentials from {} failed", ctx.request().remoteAddress(), t);
      }
      unauthorized(ctx, why, t);
      return;
    }
    Authenticator.Authenticated who = result.result();
    if (who.responseChallenge() != null) {
      ctx.response().putHeader(WWW_AUTHENTICATE, who.responseChallenge());
    }
    admit(ctx, who.user());
  }

  private void unauthorized(RoutingContext ctx, String why, Throwable cause) {
    if (cause != null) {
      LOG.info("Authentication of {} {} from {} refused: {}", ctx.request().method(), cut(ctx.request().path()),
          ctx.request().remoteAddress(), why);
    }
    ctx.response().putHeader(WWW_AUTHENTICATE, authenticator.challenge());
    ctx.fail(new ApiError(401, why));
  }

  private void admit(RoutingContext ctx, String user) {
    Identity id;
    try {
      id = decide(user, ctx.request().getParam(DO_AS), ctx.request().method() + " " + cut(ctx.request().path()));
    } catch (ApiError e) {
      ctx.fail(e);
      return;
    }
    if (csrf && changes(ctx.request().method()) && ctx.request().getHeader(CSRF_HEADER) == null) {
      ctx.fail(new ApiError(400, "Missing the " + CSRF_HEADER + " header, which CSRF protection requires on "
          + ctx.request().method() + " requests"));
      return;
    }
    id.store(ctx);
    ctx.next();
  }

  /**
   * Who a request of {@code user} acts as, given its {@code doAs} (or null): 403 for a user on no
   * list or one who may not impersonate, 400 for a bad doAs or doAs while impersonation is off.
   */
  private Identity decide(String user, String doAs, String what) {
    if (!access.isAllowed(user)) {
      LOG.info("User {} is not on the gateway's access lists; refused {}", user, what);
      throw new ApiError(403, "User '" + user + "' is not allowed to use this gateway");
    }
    String effective = user;
    if (doAs != null) {
      doAs = doAs.strip();
      if (doAs.isEmpty() || doAs.length() > 256) {
        throw new ApiError(400, "doAs must name a user");
      }
      if (!doAs.equals(user)) {
        if (!impersonation) {
          throw new ApiError(400, "doAs needs impersonation, which is disabled on this gateway"
              + " (sparkgate.impersonation.enabled)");
        }
        if (!access.canImpersonate(doAs, user)) {
          LOG.info("User {} may not impersonate {}; refused {}", user, cut(doAs), what);
          throw new ApiError(403, "User '" + user + "' is not allowed to impersonate '" + cut(doAs) + "'");
        }
      }
      effective = doAs;
    }
    return new Identity(user, effective);
  }

  /**
   * Checks a WebSocket handshake, which the HTTP server hands to the API outside the router:
   * authentication (401), the access lists and {@code doAs} (403, 400), and read access to what
   * {@code owner} owns (403). Browsers cannot set headers on a WebSocket: they authenticate with
   * what the browser sends by itself (Basic, Negotiate).
   *
   * @return why the socket may not change it (submit, cancel), or null when it may
   */
  public Future<String> admitSocket(io.vertx.core.http.ServerWebSocketHandshake h, String owner, String what) {
    String doAs = queryParam(h.query(), DO_AS);
    String where = "WebSocket " + cut(h.path());
    Future<String> user;
    if (authenticator == null) {
      user = Future.succeededFuture(null);
    } else {
      String authorization = h.headers().get(HttpHeaders.AUTHORIZATION);
      if (authorization == null || authorization.isBlank()) {
        return Future.failedFuture(new ApiError(401, "Authentication required"));
      }
      try {
        user = authenticator.authenticate(null, authorization).map(Authenticator.Authenticated::user);
      } catch (AuthenticationException e) {
        user = Future.failedFuture(e);
      }
    }
    return user.transform(ar -> {
      if (ar.failed()) {
        String why = ar.cause() instanceof AuthenticationException ? ar.cause().getMessage() : "Authentication failed";
        LOG.info("Authentication of {} from {} refused: {}", where, h.remoteAddress(), why);
        return Future.failedFuture(new ApiError(401, why));
      }
      try {
        Identity id = decide(ar.result(), doAs, where);
        if (!access.canView(owner, id.effectiveUser())) {
          throw new ApiError(403, "User '" + id.effectiveUser() + "' is not allowed to read " + what);
        }
        return Future.succeededFuture(access.canModify(owner, id.effectiveUser()) ? null
            : "User '" + id.effectiveUser() + "' is not allowed to change " + what);
      } catch (ApiError e) {
        return Future.failedFuture(e);
      }
    });
  }

  private static String queryParam(String query, String name) {
    if (query == null) {
      return null;
    }
    String found = null;
    for (String part : query.split("&")) {
      if (part.startsWith(name + "=")) {
        try {
          found = java.net.URLDecoder.decode(part.substring(name.length() + 1), java.nio.charset.StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
          found = ""; // Malformed: refused as naming no user.
        }
      }
    }
    return found;
  }

  private static boolean changes(HttpMethod m) {
    return m == HttpMethod.POST || m == HttpMethod.PUT || m == HttpMethod.PATCH || m == HttpMethod.DELETE;
  }

  // --- Per session -----------------------------------------------------------------------------

  /** Whether the request may read what {@code owner} owns (for filtering lists). */
  public boolean canView(RoutingContext ctx, String owner) {
    return access.canView(owner, Identity.of(ctx).effectiveUser());
  }

  /**
   * Why the request may not change what {@code owner} owns, or null when it may (for a WebSocket,
   * whose later messages submit and cancel without a request of their own).
   */
  public String modifyRefusal(RoutingContext ctx, String owner, String what) {
    String user = Identity.of(ctx).effectiveUser();
    return access.canModify(owner, user) ? null : "User '" + user + "' is not allowed to change " + what;
  }

  /** 403 unless the request may read what {@code owner} owns; {@code what} names it ("session 7"). */
  public void requireView(RoutingContext ctx, String owner, String what) {
    String user = Identity.of(ctx).effectiveUser();
    if (!access.canView(owner, user)) {
      throw new ApiError(403, "User '" + user + "' is not allowed to read " + what);
    }
  }

  /** 403 unless the request may change what {@code owner} owns. */
  public void requireModify(RoutingContext ctx, String owner, String what) {
    String user = Identity.of(ctx).effectiveUser();
    if (!access.canModify(owner, user)) {
      throw new ApiError(403, "User '" + user + "' is not allowed to change " + what);
    }
  }

  /**
   * The user a new Spark application runs as ({@code --proxy-user}), with Livy's rules: with
   * impersonation on, {@code doAs}, else the request's {@code proxyUser}, else the caller; only
   * superusers may name someone else (403). With impersonation off nobody is impersonated, and a
   * {@code proxyUser} naming someone other than the caller is refused (400) rather than ignored, so
   * that nobody believes their application runs as a user it does not run as.
   *
   * @param proxyUser the {@code proxyUser} of the request body, or null
   * @return the user to run as, or null for the gateway's own user
   */
  public String runAs(RoutingContext ctx, String proxyUser) {
    Identity id = Identity.of(ctx);
    String doAs = id.effectiveUser() != null && !id.effectiveUser().equals(id.user()) ? id.effectiveUser() : null;
    String target = doAs != null ? doAs : proxyUser;
    if (!impersonation) {
      if (target != null && !target.equals(id.user())) {
        throw new ApiError(400, "proxyUser needs impersonation, which is disabled on this gateway"
            + " (sparkgate.impersonation.enabled)");
      }
      return null;
    }
    if (target != null && !access.canImpersonate(target, id.user())) {
      LOG.info("User {} may not impersonate {}; session refused", id.user(), cut(target));
      throw new ApiError(403, "User '" + id.user() + "' is not allowed to impersonate '" + cut(target) + "'");
    }
    return target != null ? target : id.user();
  }

  private static String cut(String s) {
    return s == null ? "" : s.length() <= 64 ? s : s.substring(0, 64) + "...";
  }
}
