package io.sparkgate.gateway.api;

import io.sparkgate.gateway.session.InteractiveSession;
import io.sparkgate.gateway.session.SessionEvent;
import io.sparkgate.gateway.session.SessionManager;
import io.sparkgate.gateway.session.Statement;
import io.sparkgate.gateway.stream.SseSubscriber;
import io.sparkgate.gateway.stream.Subscriber;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;

/**
 * The push side of the API: a session's events as Server-Sent Events and over a WebSocket.
 *
 * <pre>
 * GET /sessions/{id}/events                   text/event-stream: every event of the session
 * GET /sessions/{id}/statements/{sid}/events  text/event-stream: one statement's, ending after its last
 * GET /sessions/{id}/ws                       WebSocket: the events, and submit / cancel / resume / ping
 * </pre>
 *
 * <p>Where to start: {@code Last-Event-ID} (the header an EventSource sends when it reconnects) or
 * else {@code ?from=ID}: the events after that id. Without either, a session stream starts with the
 * oldest event kept and a statement stream with the statement's first. See docs/streams.md.
 */
final class StreamRoutes {

  private final Vertx vertx;
  private final SessionManager sessions;
  private final StreamSettings settings;
  private final RequestBodies bodies;
  private final Cors cors;

  StreamRoutes(Vertx vertx, SessionManager sessions, StreamSettings settings, RequestBodies bodies, Cors cors) {
    this.vertx = vertx;
    this.sessions = sessions;
    this.settings = settings;
    this.bodies = bodies;
    this.cors = cors;
  }

  void mount(Router router) {
    router.get("/sessions/:id/events").handler(ctx -> sse(ctx, false));
    router.get("/sessions/:id/statements/:sid/events").handler(ctx -> sse(ctx, true));
    router.get("/sessions/:id/ws").handler(this::socket);
  }

  private void sse(RoutingContext ctx, boolean oneStatement) {
    InteractiveSession s = RestApi.findSession(sessions, ctx);
    int statement = SessionEvent.NO_STATEMENT;
    if (oneStatement) {
      statement = RestApi.findStatement(ctx, s).id();
    }
    Long from = resumeFrom(ctx);
    int sid = statement;
    SseSubscriber subscriber = new SseSubscriber(vertx, ctx.request(), s.events(), statement,
        settings.subscriberLimits(), settings.keepAlive().toMillis());
    long after = from != null ? from : oneStatement ? 0 : Subscriber.FROM_OLDEST;
    subscriber.begin(after, () -> ended(s, sid));
  }

  private void socket(RoutingContext ctx) {
    InteractiveSession s = RestApi.findSession(sessions, ctx);
    if (!cors.allowsSocket(ctx.request())) {
      throw new ApiError(403, "WebSocket from origin " + RestApi.cut(ctx.request().getHeader(HttpHeaders.ORIGIN))
          + " refused: not in sparkgate.server.cors.allowed-origins");
    }
    String upgrade = ctx.request().getHeader(HttpHeaders.UPGRADE);
    if (upgrade == null || !upgrade.equalsIgnoreCase("websocket")) {
      throw new ApiError(400, "GET /sessions/" + s.id() + "/ws is a WebSocket: send an Upgrade: websocket handshake");
    }
    Long from = resumeFrom(ctx);
    // Reading the session was checked by findSession; changing it is checked per message.
    String changeRefusal = io.sparkgate.gateway.auth.Security.of(ctx).modifyRefusal(ctx, s.owner(), "session " + s.id());
    ctx.request().toWebSocket().onComplete(ar -> {
      if (ar.succeeded()) {
        new SessionSocket(vertx, ar.result(), s, sessions, bodies, settings)
            .refuseChanges(changeRefusal)
            .start(from != null ? from : Subscriber.FROM_OLDEST);
      }
      // A failed handshake has been answered by Vert.x.
    });
  }

  static boolean ended(InteractiveSession s, int statement) {
    Statement st = s.statement(statement);
    return st == null || st.state().isFinal();
  }

  /** {@code Last-Event-ID}, else {@code from}; null when neither; 400 when not a non-negative integer. */
  private static Long resumeFrom(RoutingContext ctx) {
    String raw = ctx.request().getHeader("Last-Event-ID");
    String name = "Last-Event-ID";
    if (raw == null || raw.isBlank()) {
      raw = ctx.request().getParam("from");
      name = "from";
    }
    if (raw == null) {
      return null;
    }
    raw = raw.strip();
    if (raw.isEmpty() || raw.length() > 18 || !raw.chars().allMatch(c -> c >= '0' && c <= '9')) {
      throw new ApiError(400, name + " must be a non-negative integer (an event id), not '" + RestApi.cut(raw) + "'");
    }
    return Long.parseLong(raw);
  }
}
