package io.sparkgate.gateway.api;

import io.sparkgate.gateway.session.InteractiveSession;
import io.sparkgate.gateway.session.SessionException;
import io.sparkgate.gateway.session.SessionManager;
import io.sparkgate.gateway.session.Statement;
import io.sparkgate.gateway.stream.SocketSubscriber;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.ServerWebSocket;

/**
 * One client's WebSocket on a session: the session's events go out as text messages (through a
 * {@link SocketSubscriber}); the client's messages submit and cancel statements, resume the events
 * from an id, or ping. A message that is not understood gets an {@code error} message naming the
 * problem (with the client's {@code ref} when it had a readable one); the socket stays open.
 * Everything here runs on the socket's context.
 */
final class SessionSocket {

  private final Vertx vertx;
  private final ServerWebSocket socket;
  private final InteractiveSession session;
  private final SessionManager sessions;
  private final RequestBodies bodies;
  private final StreamSettings settings;
  private SocketSubscriber subscriber;
  private long pingTimer = -1;
  /** Why this client may not submit or cancel (access control), or null. */
  private String changeRefusal;

  SessionSocket(Vertx vertx, ServerWebSocket socket, InteractiveSession session, SessionManager sessions,
      RequestBodies bodies, StreamSettings settings) {
    this.vertx = vertx;
    this.socket = socket;
    this.session = session;
    this.sessions = sessions;
    this.bodies = bodies;
    this.settings = settings;
  }

  /** Refuses this client's submits and cancels with {@code why} (it may only read the session). */
  SessionSocket refuseChanges(String why) {
    this.changeRefusal = why;
    return this;
  }

  void start(long from) {
    subscriber = new SocketSubscriber(socket, session.events(), settings.subscriberLimits());
    subscriber.begin(from, () -> false);
    socket.textMessageHandler(this::onMessage);
    socket.binaryMessageHandler(b -> error("Binary messages are not understood: send JSON text", null));
    socket.closeHandler(v -> stop());
    socket.exceptionHandler(t -> stop());
    // Pings keep proxies from closing an idle socket; browsers answer them by themselves.
    pingTimer = vertx.setPeriodic(settings.keepAlive().toMillis(), t -> {
      if (!socket.isClosed() && !socket.writeQueueFull()) {
        socket.writePing(Buffer.buffer());
      }
    });
  }

  private void stop() {
    subscriber.close();
    if (pingTimer >= 0) {
      vertx.cancelTimer(pingTimer);
      pingTimer = -1;
    }
  }

  private void onMessage(String text) {
    session.touch();
    RequestBodies.SocketOp op;
    try {
      op = bodies.socketMessage(text);
    } catch (ApiError e) {
      error(e.getMessage(), RequestBodies.refOf(text));
      return;
    }
    if (changeRefusal != null && (op instanceof RequestBodies.Submit || op instanceof RequestBodies.Cancel)) {
      error(changeRefusal, op instanceof RequestBodies.Submit s ? s.refJson() : ((RequestBodies.Cancel) op).refJson());
    } else if (op instanceof RequestBodies.Submit s) {
      submit(s);
    } else if (op instanceof RequestBodies.Cancel c) {
      cancel(c);
    } else if (op instanceof RequestBodies.Resume r) {
      subscriber.close();
      subscriber = new SocketSubscriber(socket, session.events(), settings.subscriberLimits());
      subscriber.begin(r.from(), () -> false);
    } else if (op instanceof RequestBodies.Ping p) {
      send("{\"event\":\"pong\"" + (p.refJson() == null ? "" : ",\"ref\":" + p.refJson()) + "}");
    }
  }

  private void submit(RequestBodies.Submit s) {
    SocketSubscriber answering = subscriber;
    // On the session's context: the statement's first event, appended inside submit, goes to this
    // client with its ref (and to every other subscriber without).
    Future<Statement> submitted = SessionManager.onSession(session, () -> {
      answering.answerNextSubmitWith(s.refJson());
      try {
        return sessions.submit(session, s.code(), s.kind());
      } finally {
        answering.answerNextSubmitWith(null);
      }
    }).compose(f -> f);
    submitted.onFailure(t -> error(message(t), s.refJson()));
  }

  private void cancel(RequestBodies.Cancel c) {
    if (session.statement(c.statement()) == null) {
      error("Statement " + c.statement() + " not found in session " + session.id() + ".", c.refJson());
      return;
    }
    sessions.cancel(session, c.statement()).onFailure(t -> error(message(t), c.refJson()));
  }

  private static String message(Throwable t) {
    return t instanceof SessionException || t instanceof ApiError ? t.getMessage()
        : "Internal error: " + t.getClass().getSimpleName();
  }

  private void error(String msg, String refJson) {
    send("{\"event\":\"error\",\"data\":" + LivyJson.message(msg).toString()
        + (refJson == null ? "" : ",\"ref\":" + refJson) + "}");
  }

  private void send(String text) {
    if (!socket.isClosed()) {
      socket.writeTextMessage(text);
    }
  }
}
