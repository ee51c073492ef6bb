package io.sparkgate.gateway.api;

import io.sparkgate.gateway.metrics.GatewayMetrics;
import io.sparkgate.gateway.metrics.Health;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * The operator's and the browser's routes, served next to Livy's API:
 *
 * <pre>
 * GET /metrics          Prometheus text of every meter (see docs/metrics.md)
 * GET /health/live      200 while the process answers
 * GET /health/ready     200 when every readiness check is up, 503 otherwise (JSON says which)
 * GET /                 302 to /ui, as Livy
 * GET /ui, /ui/{file}   the web UI: static files from the jar, held in memory
 * GET /openapi.json     the OpenAPI description of the whole HTTP API
 * </pre>
 *
 * <p>Also counts every answer with an error status by reason ({@link GatewayMetrics#REFUSED}).
 */
public final class OpsRoutes {

  /** Prometheus' text exposition format. */
  static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
  /** The classpath folder of the web UI's files. */
  static final String UI_RESOURCES = "/sparkgate-ui/";
  /** The UI's files, by name under /ui/. */
  static final String[] UI_FILES = {"index.html", "app.js", "app.css"};
  /** The OpenAPI description, on the classpath. */
  static final String OPENAPI_RESOURCE = "/openapi.json";

  private static final Map<String, Asset> UI = loadUi();
  private static final Asset OPENAPI = load(OPENAPI_RESOURCE, "application/json");

  private final Vertx vertx;
  private final GatewayMetrics metrics;
  private final Health health;

  /** A static file held in memory. */
  record Asset(Buffer body, String contentType, String etag) {}

  public OpsRoutes(Vertx vertx, GatewayMetrics metrics, Health health) {
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.health = Objects.requireNonNull(health, "health");
  }

  /** Adds the routes to {@code router}. */
  public void mount(Router router) {
    router.route().order(-1_000_000).handler(this::countRefusals);
    router.get("/metrics").handler(this::metrics);
    router.get("/health/live").handler(ctx -> json(ctx, 200, Health.live()));
    router.get("/health/ready").handler(this::ready);
    router.get("/").handler(ctx -> ctx.response().setStatusCode(302).putHeader(HttpHeaders.LOCATION, "/ui").end());
    router.get("/ui").handler(ctx -> asset(ctx, UI.get("index.html")));
    router.get("/ui/:file").handler(this::ui);
    router.get("/openapi.json").handler(ctx -> asset(ctx, OPENAPI));
  }

  private void countRefusals(RoutingContext ctx) {
    ctx.addHeadersEndHandler(v -> {
      int status = ctx.response().getStatusCode();
      if (status >= 400) {
        metrics.refused(status);
      }
    });
    ctx.next();
  }

  private void metrics(RoutingContext ctx) {
    // Scraping walks every meter: CPU work that grows with them, so off the event loop.
    vertx.executeBlocking(metrics::scrape, false).onComplete(ar -> {
      if (ar.failed()) {
        ctx.fail(ar.cause());
      } else if (!ctx.response().ended()) {
        ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, PROMETHEUS_TEXT).end(ar.result());
      }
    });
  }

  private void ready(RoutingContext ctx) {
    health.ready().onComplete(ar -> {
      JsonObject o = ar.result();
      json(ctx, "UP".equals(o.getString("status")) ? 200 : 503, o);
    });
  }

  private void ui(RoutingContext ctx) {
    Asset a = UI.get(ctx.pathParam("file"));
    if (a == null) {
      throw ApiError.notFound("Not found: GET " + ctx.request().path());
    }
    asset(ctx, a);
  }

  private static void asset(RoutingContext ctx, Asset a) {
    if (ctx.response().ended()) {
      return;
    }
    ctx.response().putHeader(HttpHeaders.CACHE_CONTROL, "no-cache").putHeader(HttpHeaders.ETAG, a.etag());
    if (a.etag().equals(ctx.request().getHeader(HttpHeaders.IF_NONE_MATCH))) {
      ctx.response().setStatusCode(304).end();
      return;
    }
    ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, a.contentType()).end(a.body());
  }

  private static void json(RoutingContext ctx, int status, JsonObject body) {
    if (!ctx.response().ended()) {
      ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
          .end(body.toBuffer());
    }
  }

  private static Map<String, Asset> loadUi() {
    Map<String, Asset> out = new LinkedHashMap<>();
    for (String f : UI_FILES) {
      String type = f.endsWith(".html") ? "text/html; charset=utf-8"
          : f.endsWith(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8";
      out.put(f, load(UI_RESOURCES + f, type));
    }
    return Map.copyOf(out);
  }

  private static Asset load(String resource, String contentType) {
    try (InputStream in = OpsRoutes.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException("resource " + resource + " is missing from the gateway's jar");
      }
      byte[] bytes = in.readAllBytes();
      String etag = '"' + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes), 0, 8) + '"';
      return new Asset(Buffer.buffer(bytes), contentType, etag);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
