package io.sparkgate.gateway.api;

import io.sparkgate.gateway.session.InteractiveSession;
import io.sparkgate.gateway.session.SessionEvent;
import io.sparkgate.gateway.session.SessionManager;
import io.sparkgate.gateway.session.Statement;
import io.sparkgate.gateway.stream.SseSubscriber;
import io.sparkgate.gateway.stream.Subscriber;
import io.vertx.core.Vertx;
import io.vertx.core.http.ServerWebSocket;
import io.vertx.core.http.ServerWebSocketHandshake;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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
  private final io.sparkgate.gateway.auth.Security security;
  /**
   * Sockets whose handshake was admitted, by remote address, until the server opens them: what the
   * handshake decided (why the client may not change the session, or "" when it may). Entries live
   * from accept() to the socket's opening, on the connection's event loop.
   */
  private final java.util.Map<String, String> admitted = new java.util.concurrent.ConcurrentHashMap<>();

  StreamRoutes(Vertx vertx, SessionManager sessions, StreamSettings settings, RequestBodies bodies, Cors cors,
      io.sparkgate.gateway.auth.Security security) {
    this.security = security;
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

  /** A plain GET of the WebSocket's path (a handshake goes to {@link #handshake} instead). */
  private void socket(RoutingContext ctx) {
    InteractiveSession s = RestApi.findSession(sessions, ctx);
    throw new ApiError(400, "GET /sessions/" + s.id() + "/ws is a WebSocket: send an Upgrade: websocket handshake");
  }

  /**
   * Checks a WebSocket handshake (the HTTP server hands every one here, not to the router):
   * {@code /sessions/{id}/ws} of a known session, an allowed Origin, a valid {@code from}. Refused
   * with 404, 403 or 400 otherwise.
   */
  void handshake(ServerWebSocketHandshake h) {
    Matcher m = SOCKET_PATH.matcher(h.path());
    InteractiveSession s = m.matches() ? sessions.get(Integer.parseInt(m.group(1))) : null;
    if (s == null) {
      h.reject(404);
    } else if (!cors.allowsSocket(h.headers(), h.isSsl())) {
      h.reject(403);
    } else if (socketFrom(h.headers().get("Last-Event-ID"), h.query()) == BAD_FROM) {
      h.reject(400);
    } else {
      // Authentication and access control, as the router's handler does for every other route.
      security.admitSocket(h, s.owner(), "session " + s.id()).onComplete(ar -> {
        if (ar.failed()) {
          h.reject(ar.cause() instanceof ApiError e ? e.status() : 401);
          return;
        }
        s.touch();
        String key = String.valueOf(h.remoteAddress());
        admitted.put(key, ar.result() == null ? "" : ar.result());
        h.accept().onFailure(t -> admitted.remove(key));
      });
    }
  }

  /**
   * Serves an accepted WebSocket. Called by the server as the socket opens, before any message is
   * read, so that no message of the client's is missed.
   */
  void socket(ServerWebSocket ws) {
    Matcher m = SOCKET_PATH.matcher(ws.path());
    InteractiveSession s = m.matches() ? sessions.get(Integer.parseInt(m.group(1))) : null;
    if (s == null) {
      ws.close((short) 1011, "the session is gone");
      return;
    }
    String changeRefusal = admitted.remove(String.valueOf(ws.remoteAddress()));
    if (changeRefusal == null) {
      // Not admitted by handshake(): never served.
      ws.close((short) 1008, "not admitted");
      return;
    }
    long from = socketFrom(ws.headers().get("Last-Event-ID"), ws.query());
    new SessionSocket(vertx, ws, s, sessions, bodies, settings)
        .refuseChanges(changeRefusal.isEmpty() ? null : changeRefusal)
        .start(from < 0 ? Subscriber.FROM_OLDEST : from);
  }

  private static final Pattern SOCKET_PATH = Pattern.compile("/sessions/([0-9]{1,9})/ws");
  private static final long BAD_FROM = -2;

  /** The id to start after (Last-Event-ID, else ?from=), -1 for none, {@link #BAD_FROM} when invalid. */
  private static long socketFrom(String header, String query) {
    String raw = header;
    if (raw == null && query != null) {
      for (String part : query.split("&")) {
        if (part.startsWith("from=")) {
          raw = part.substring(5);
        }
      }
    }
    if (raw == null) {
      return -1;
    }
    raw = raw.strip();
    if (raw.isEmpty() || raw.length() > 18 || !raw.chars().allMatch(c -> c >= '0' && c <= '9')) {
      return BAD_FROM;
    }
    return Long.parseLong(raw);
  }

  static boolean ended(InteractiveSession s, int statement) {
    Statement st = s.statement(statement);
    return st == null || st.state().isFinal();
  }

  /** {@code Last-Event-ID}, else {@code from}; null when neither; 400 when not a non-negative integer. */
  static Long resumeFrom(RoutingContext ctx) {
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
