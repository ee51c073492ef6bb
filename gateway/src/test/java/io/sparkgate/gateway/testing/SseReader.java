package io.sparkgate.gateway.testing;

import static org.junit.jupiter.api.Assertions.fail;

import io.vertx.core.MultiMap;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A Server-Sent Events client for tests, on a Vert.x {@link HttpClient}: it parses the stream into
 * {@link Frame}s as they arrive (comments are counted, not returned) and hands them to the test
 * thread. It can stop reading ({@link #pause()}) to play a stalled client.
 */
public final class SseReader implements AutoCloseable {

  /** One event: its id (null when the frame had none), type and data. */
  public record Frame(Long id, String event, String data) {
    public JsonObject json() {
      return new JsonObject(data);
    }
  }

  /** Put in the queue when the stream ends. */
  private static final Frame END = new Frame(null, "<end>", "");

  private final BlockingQueue<Frame> frames = new LinkedBlockingQueue<>();
  private final StringBuilder pending = new StringBuilder();
  private volatile HttpClientResponse response;
  private volatile int comments;
  private volatile boolean ended;
  private volatile java.util.Set<String> ignored = java.util.Set.of();

  private SseReader() {}

  /** Leaves events of {@code types} out of what the test reads (say, the driver's log lines). */
  public SseReader ignoring(String... types) {
    ignored = java.util.Set.of(types);
    return this;
  }

  private Frame take(long nanos) throws InterruptedException {
    long deadline = System.nanoTime() + nanos;
    while (true) {
      Frame f = frames.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      if (f == null || !ignored.contains(f.event())) {
        return f;
      }
    }
  }

  /**
   * Opens {@code path} with {@code headers} and waits for the answer's head.
   *
   * @return the reader; its {@link #status()} says whether the server took the stream
   */
  public static SseReader open(HttpClient client, int port, String path, Map<String, String> headers) {
    SseReader r = new SseReader();
    CompletableFuture<Void> head = new CompletableFuture<>();
    RequestOptions options = new RequestOptions().setMethod(HttpMethod.GET).setHost("127.0.0.1").setPort(port)
        .setURI(path).putHeader("Accept", "text/event-stream");
    headers.forEach(options::putHeader);
    client.request(options)
        .compose(req -> req.send())
        .onSuccess(resp -> {
          r.response = resp;
          resp.handler(r::onData);
          resp.endHandler(v -> r.onEnd());
          resp.exceptionHandler(t -> r.onEnd());
          head.complete(null);
        })
        .onFailure(head::completeExceptionally);
    try {
      head.get(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError("could not open " + path, e);
    }
    return r;
  }

  public static SseReader open(HttpClient client, int port, String path) {
    return open(client, port, path, Map.of());
  }

  public int status() {
    return response.statusCode();
  }

  public MultiMap headers() {
    return response.headers();
  }

  /** Keep-alive comments seen so far. */
  public int comments() {
    return comments;
  }

  public boolean ended() {
    return ended;
  }

  private synchronized void onData(Buffer b) {
    pending.append(b.toString(StandardCharsets.UTF_8));
    int end;
    while ((end = pending.indexOf("\n\n")) >= 0) {
      String block = pending.substring(0, end);
      pending.delete(0, end + 2);
      Long id = null;
      String event = "message";
      StringBuilder data = null;
      boolean comment = true;
      for (String line : block.split("\n", -1)) {
        if (line.startsWith(":")) {
          continue;
        }
        comment = false;
        if (line.startsWith("id: ")) {
          id = Long.parseLong(line.substring(4));
        } else if (line.startsWith("event: ")) {
          event = line.substring(7);
        } else if (line.startsWith("data: ")) {
          data = data == null ? new StringBuilder(line.substring(6)) : data.append('\n').append(line.substring(6));
        } else {
          frames.add(new Frame(null, "<bad line>", line));
        }
      }
      if (comment) {
        comments++;
      } else {
        frames.add(new Frame(id, event, data == null ? "" : data.toString()));
      }
    }
  }

  private void onEnd() {
    if (!ended) {
      ended = true;
      frames.add(END);
    }
  }

  /** The next event, waiting up to {@code timeout}; fails the test on timeout or the end of the stream. */
  public Frame next(Duration timeout) {
    Frame f;
    try {
      f = take(timeout.toNanos());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
    if (f == null) {
      fail("no event within " + timeout);
    }
    if (f == END) {
      frames.add(END);
      fail("the stream ended");
    }
    return f;
  }

  public Frame next() {
    return next(Duration.ofSeconds(20));
  }

  /** The events up to and including the first that {@code last} accepts. */
  public List<Frame> until(Predicate<Frame> last, Duration timeout) {
    List<Frame> out = new ArrayList<>();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Frame f = next(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
      out.add(f);
      if (last.test(f)) {
        return out;
      }
    }
  }

  /** The events left until the stream ends (the server ends it), waiting up to {@code timeout}. */
  public List<Frame> rest(Duration timeout) {
    List<Frame> out = new ArrayList<>();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Frame f;
      try {
        f = take(Math.max(1, deadline - System.nanoTime()));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
      if (f == null) {
        fail("the stream did not end within " + timeout + "; got " + out);
      }
      if (f == END) {
        frames.add(END);
        return out;
      }
      out.add(f);
    }
  }

  /** Stops reading: the server's writes pile up in the socket, as with a stalled client. */
  public void pause() {
    response.pause();
  }

  public void resume() {
    response.resume();
  }

  /** Drops the connection. */
  @Override
  public void close() {
    HttpClientResponse r = response;
    if (r != null && !ended) {
      r.request().connection().close();
    }
  }
}
