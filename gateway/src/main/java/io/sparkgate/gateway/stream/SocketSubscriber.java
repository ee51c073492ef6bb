package io.sparkgate.gateway.stream;

import io.sparkgate.gateway.session.SessionEvent;
import io.sparkgate.gateway.session.SessionEventLog;
import io.vertx.core.http.ServerWebSocket;
import java.util.List;

/**
 * A subscriber over a WebSocket: each event is one text message {@code {"id", "event", "data"}};
 * an answer to the client's submit also carries its {@code "ref"}; a {@code reset} or an
 * {@code overflow} has no id. After an overflow the socket is closed with status 1013 (try again
 * later). The socket itself (its other messages, its pings) belongs to whoever created this.
 */
public final class SocketSubscriber extends Subscriber {

  /** Close status after an overflow: "try again later". */
  public static final short OVERFLOW_CLOSE_STATUS = 1013;

  private final ServerWebSocket socket;

  public SocketSubscriber(ServerWebSocket socket, SessionEventLog log, Limits limits) {
    super(log, SessionEvent.NO_STATEMENT, limits);
    this.socket = socket;
  }

  @Override
  void writeEvents(List<SessionEvent> events) {
    for (SessionEvent e : events) {
      send(e.webSocketText());
    }
  }

  @Override
  void writeAnswer(SessionEvent event, String refJson) {
    String text = event.webSocketText();
    // {"id":..,"event":..,"data":..} -> {"id":..,"event":..,"data":..,"ref":..}
    send(text.substring(0, text.length() - 1) + ",\"ref\":" + refJson + "}");
  }

  @Override
  void writeReset(long oldestId) {
    send("{\"event\":\"reset\",\"data\":" + StreamJson.reset(oldestId) + "}");
  }

  @Override
  void writeOverflow(long lastSentId) {
    send("{\"event\":\"overflow\",\"data\":" + StreamJson.overflow(lastSentId) + "}");
  }

  private void send(String text) {
    if (!socket.isClosed()) {
      socket.writeTextMessage(text);
    }
  }

  @Override
  boolean transportFull() {
    // A closed socket takes nothing more, but is not full: what is left is dropped by send.
    return !socket.isClosed() && socket.writeQueueFull();
  }

  @Override
  void onTransportDrained(Runnable then) {
    if (socket.isClosed()) {
      // Never drains; the socket's close handler ends this subscriber.
      return;
    }
    socket.drainHandler(v -> {
      socket.drainHandler(null);
      then.run();
    });
  }

  @Override
  void endTransport() {
    if (!socket.isClosed()) {
      socket.close(OVERFLOW_CLOSE_STATUS, "fell behind; resume from the id in the overflow message");
    }
  }
}
