package io.sparkgate.gateway.api;

import io.vertx.core.Handler;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Cross-origin access for web pages served elsewhere (sparkgate.server.cors.allowed-origins).
 *
 * <p>A request whose {@code Origin} is in the list gets {@code Access-Control-Allow-Origin} (that
 * origin, never {@code *}) with {@code Access-Control-Allow-Credentials: true}, so cookies and
 * {@code Authorization} work; a preflight ({@code OPTIONS} with {@code Access-Control-Request-Method})
 * from it is answered 204 with the methods and headers allowed. A request from any other origin is
 * served as it would be without CORS, with no CORS header: the browser then keeps the answer from
 * the page. A preflight from another origin is answered 403. Requests without {@code Origin}
 * (curl, Livy's clients) are untouched.
 *
 * <p>A WebSocket handshake is not protected by CORS in browsers; {@link #allowsSocket} is the
 * check the WebSocket route makes instead.
 */
public final class Cors implements Handler<RoutingContext> {

  private static final String METHODS = "GET, POST, DELETE, OPTIONS";
  private static final String HEADERS = "Content-Type, Authorization, Last-Event-ID, X-Requested-By, Cache-Control";
  private static final String EXPOSED = "Location, " + RestApi.EXECUTION_MICROS_HEADER + ", " + RestApi.GATEWAY_MICROS_HEADER;

  private final Set<String> origins;

  /** @param origins allowed origins, as {@code scheme://host[:port]}, lower case */
  public Cors(List<String> origins) {
    this.origins = Set.copyOf(origins);
  }

  /** Whether any origin is allowed (else the handler is not installed). */
  public boolean enabled() {
    return !origins.isEmpty();
  }

  /** Whether {@code origin} (the header's value, or null) is one of the allowed origins. */
  public boolean allows(String origin) {
    return origin != null && origins.contains(origin.toLowerCase(Locale.ROOT));
  }

  /**
   * Whether a WebSocket handshake may proceed: no {@code Origin} (not a browser), the gateway's own
   * origin (a page it serves), or an allowed one.
   */
  public boolean allowsSocket(io.vertx.core.MultiMap headers, boolean ssl) {
    String origin = headers.get(HttpHeaders.ORIGIN);
    if (origin == null || allows(origin)) {
      return true;
    }
    String host = headers.get(HttpHeaders.HOST);
    String scheme = ssl ? "https://" : "http://";
    return host != null && origin.equalsIgnoreCase(scheme + host);
  }

  @Override
  public void handle(RoutingContext ctx) {
    HttpServerRequest request = ctx.request();
    String origin = request.getHeader(HttpHeaders.ORIGIN);
    boolean preflight = request.method() == HttpMethod.OPTIONS
        && request.getHeader(HttpHeaders.ACCESS_CONTROL_REQUEST_METHOD) != null;
    if (origin == null) {
      ctx.next();
      return;
    }
    HttpServerResponse response = ctx.response();
    if (!allows(origin)) {
      if (preflight) {
        throw new ApiError(403, "Origin " + cut(origin) + " is not allowed (sparkgate.server.cors.allowed-origins)");
      }
      ctx.next();
      return;
    }
    response.putHeader(HttpHeaders.ACCESS_CONTROL_ALLOW_ORIGIN, origin);
    response.putHeader(HttpHeaders.ACCESS_CONTROL_ALLOW_CREDENTIALS, "true");
    response.headers().add(HttpHeaders.VARY, "Origin");
    if (preflight) {
      response.putHeader(HttpHeaders.ACCESS_CONTROL_ALLOW_METHODS, METHODS);
      response.putHeader(HttpHeaders.ACCESS_CONTROL_ALLOW_HEADERS, HEADERS);
      response.putHeader(HttpHeaders.ACCESS_CONTROL_MAX_AGE, "600");
      response.setStatusCode(204).end();
      return;
    }
    response.putHeader(HttpHeaders.ACCESS_CONTROL_EXPOSE_HEADERS, EXPOSED);
    ctx.next();
  }

  private static String cut(String s) {
    return s.length() <= 100 ? s : s.substring(0, 100) + "...";
  }
}
