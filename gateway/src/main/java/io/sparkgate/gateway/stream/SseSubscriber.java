package io.sparkgate.gateway.stream;

import io.sparkgate.gateway.session.SessionEvent;
import io.sparkgate.gateway.session.SessionEventLog;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.HttpVersion;
import java.util.List;

/**
 * A subscriber over Server-Sent Events: one chunked {@code text/event-stream} response. Each event is
 * a frame of {@code id:}, {@code event:} and {@code data:} lines; a {@code reset} or an
 * {@code overflow} has no id (so a client's Last-Event-ID stays that of the last real event). An
 * idle stream gets a comment line every keep-alive interval.
 *
 * <p>A stream that ends before anything was sent (a finished statement's stream, resumed after its
 * last event) is answered {@code 204 No Content}, which tells a browser's EventSource to stop
 * reconnecting.
 */
public final class SseSubscriber extends Subscriber {

  private static final Buffer KEEP_ALIVE = Buffer.buffer(":\n\n");
  private static final Buffer OPEN = Buffer.buffer(": sparkgate event stream\n\n");

  private final Vertx vertx;
  private final HttpServerRequest request;
  private final HttpServerResponse response;
  private final long keepAliveMillis;
  private long keepAliveTimer = -1;
  private boolean wroteSinceTick;
  private boolean cutOff;
  private boolean stopped;

  public SseSubscriber(Vertx vertx, HttpServerRequest request, SessionEventLog log, int statement, Limits limits,
      long keepAliveMillis) {
    super(log, statement, limits);
    this.vertx = vertx;
    this.request = request;
    this.response = request.response();
    this.keepAliveMillis = keepAliveMillis;
    response.setChunked(true);
    response.putHeader("Content-Type", "text/event-stream; charset=utf-8");
    response.putHeader("Cache-Control", "no-cache");
    // Tells nginx-like proxies not to buffer the stream.
    response.putHeader("X-Accel-Buffering", "no");
    response.closeHandler(v -> stop());
    response.exceptionHandler(t -> stop());
  }

  private void stop() {
    close();
    stopped = true;
    if (keepAliveTimer >= 0) {
      vertx.cancelTimer(keepAliveTimer);
      keepAliveTimer = -1;
    }
  }

  @Override
  void afterDrain() {
    if (!response.headWritten() && !response.ended()) {
      write(OPEN);
    }
    if (keepAliveTimer < 0 && !stopped && !response.ended()) {
      keepAliveTimer = vertx.setPeriodic(keepAliveMillis, t -> {
        if (!wroteSinceTick && !response.ended() && !response.writeQueueFull()) {
          response.write(KEEP_ALIVE);
        }
        wroteSinceTick = false;
      });
    }
  }

  @Override
  void writeEvents(List<SessionEvent> events) {
    if (events.size() == 1) {
      write(events.get(0).sseFrame());
      return;
    }
    int size = 0;
    for (SessionEvent e : events) {
      size += e.sseFrame().length();
    }
    Buffer all = Buffer.buffer(size);
    for (SessionEvent e : events) {
      all.appendBuffer(e.sseFrame());
    }
    write(all);
  }

  @Override
  void writeReset(long oldestId) {
    write(Buffer.buffer("event: reset\ndata: " + StreamJson.reset(oldestId) + "\n\n"));
  }

  @Override
  void writeOverflow(long lastSentId) {
    cutOff = true;
    write(Buffer.buffer("event: overflow\ndata: " + StreamJson.overflow(lastSentId) + "\n\n"));
  }

  private void write(Buffer b) {
    if (!response.ended() && !response.closed()) {
      response.write(b);
      wroteSinceTick = true;
    }
  }

  @Override
  boolean transportFull() {
    return response.writeQueueFull();
  }

  @Override
  void onTransportDrained(Runnable then) {
    response.drainHandler(v -> {
      response.drainHandler(null);
      then.run();
    });
  }

  @Override
  void endTransport() {
    if (keepAliveTimer >= 0) {
      vertx.cancelTimer(keepAliveTimer);
      keepAliveTimer = -1;
    }
    if (response.ended() || response.closed()) {
      return;
    }
    if (!response.headWritten()) {
      response.setStatusCode(204).putHeader("Content-Type", "text/plain").setChunked(false).end();
      return;
    }
    response.end();
    if (cutOff && request.version() != HttpVersion.HTTP_2) {
      // A client that stopped reading may never take the end: free its connection after a while.
      vertx.setTimer(2 * keepAliveMillis, t -> request.connection().close());
    }
  }
}
