package io.sparkgate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.sparkgate.gateway.testing.FakeAgents;
import io.sparkgate.gateway.testing.GatewayTestBase;
import io.sparkgate.proto.Command;
import io.sparkgate.proto.Event;
import io.vertx.core.http.WebSocket;
import io.vertx.core.http.WebSocketClient;
import io.vertx.core.http.WebSocketClientOptions;
import io.vertx.core.http.WebSocketConnectOptions;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A session's WebSocket with the agent played by {@link FakeAgents}: events as JSON messages,
 * submit answered with the client's ref, cancel, resume, ping, and bad messages answered with an
 * error while the socket stays open.
 */
class SessionSocketTest extends GatewayTestBase {

  private WebSocketClient sockets;

  @Override
  protected Map<String, String> settings() {
    return Map.of("sparkgate.server.max-request-body", "64k");
  }

  @BeforeAll
  void client() {
    sockets = vertx.createWebSocketClient(new WebSocketClientOptions().setMaxMessageSize(1 << 20)
        .setMaxFrameSize(1 << 20));
    assertNull(connect("/sessions/999/ws", 404));
    // A first socket loads both ends' WebSocket classes (a cold JVM's start, not a blocking call).
    Socket warm = connect(readySession().sessionId);
    warm.send("{\"op\":\"ping\"}");
    warm.until(m -> "pong".equals(m.getString("event")));
    await(warm.ws.close());
    forgetWarmUp();
  }

  @AfterAll
  void closeClient() {
    await(sockets.close());
  }

  /** A client's socket: what it received, in order. */
  private static final class Socket {
    final WebSocket ws;
    final BlockingQueue<JsonObject> messages = new LinkedBlockingQueue<>();
    volatile Short closeStatus;

    Socket(WebSocket ws) {
      this.ws = ws;
      ws.textMessageHandler(t -> messages.add(new JsonObject(t)));
      ws.closeHandler(v -> closeStatus = ws.closeStatusCode());
    }

    void send(String text) {
      await(ws.writeTextMessage(text));
    }

    /** The next message that is not a driver log line. */
    JsonObject next() {
      while (true) {
        JsonObject m;
        try {
          m = messages.poll(20, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          throw new AssertionError(e);
        }
        if (m == null) {
          fail("no message within 20 s");
        }
        if (!"log".equals(m.getString("event"))) {
          return m;
        }
      }
    }

    JsonObject until(Predicate<JsonObject> p) {
      while (true) {
        JsonObject m = next();
        if (p.test(m)) {
          return m;
        }
      }
    }
  }

  /** Connects; returns null when the handshake was refused with {@code refusedStatus}. */
  private Socket connect(String path, int refusedStatus) {
    WebSocketConnectOptions o = new WebSocketConnectOptions().setHost("127.0.0.1").setPort(gateway.port()).setURI(path);
    try {
      // The handlers are set as the socket opens, on its event loop: the gateway sends the kept
      // events at once, and a message that arrives before a handler is set is dropped.
      return sockets.connect(o).map(Socket::new).toCompletionStage().toCompletableFuture().get(20, TimeUnit.SECONDS);
    } catch (Exception e) {
      assertTrue(String.valueOf(e.getCause()).contains(Integer.toString(refusedStatus)), e.toString());
      return null;
    }
  }

  private Socket connect(int session) {
    return connect("/sessions/" + session + "/ws", 0);
  }

  private FakeAgents.Link readySession() {
    int id = createSession("{\"kind\":\"pyspark\"}");
    FakeAgents.Link link = agents.link(id);
    link.connect();
    link.emit(new Event.Ready("local-" + id, ""));
    awaitState(id, "idle");
    return link;
  }

  private static Predicate<JsonObject> sessionState(String state) {
    return m -> "session".equals(m.getString("event")) && state.equals(m.getJsonObject("data").getString("state"));
  }

  @Test
  void aClientSubmitsStreamsAndCancelsOverOneSocket() {
    FakeAgents.Link link = readySession();
    int id = link.sessionId;
    Socket s = connect(id);
    s.until(sessionState("idle"));

    s.send("{\"op\":\"submit\",\"code\":\"for i in range(3): print(i)\",\"kind\":\"pyspark\",\"ref\":\"cell-7\"}");
    JsonObject answer = s.next();
    assertEquals("statement", answer.getString("event"));
    assertEquals("cell-7", answer.getString("ref"));
    assertEquals("waiting", answer.getJsonObject("data").getString("state"));
    assertEquals(List.of("id", "event", "data", "ref"), List.copyOf(answer.fieldNames()));
    int sid = answer.getJsonObject("data").getInteger("id");
    assertTrue(link.sent.contains(new Command.Execute(sid, "pyspark", "for i in range(3): print(i)")));

    link.emit(new Event.StatementStarted(sid));
    link.emit(new Event.StatementOutput(sid, Event.Stream.STDOUT, "0\n"));
    JsonObject running = s.until(m -> "statement".equals(m.getString("event")));
    assertEquals("running", running.getJsonObject("data").getString("state"));
    assertFalse(running.containsKey("ref"), "only the answer to the submit carries the ref");
    JsonObject out = s.next();
    assertEquals("output", out.getString("event"));
    assertEquals(new JsonObject().put("statement", sid).put("stream", "stdout").put("text", "0\n"), out.getJsonObject("data"));
    assertTrue(out.getLong("id") > running.getLong("id"));

    s.send("{\"op\":\"cancel\",\"statement\":" + sid + "}");
    JsonObject cancelling = s.until(m -> "statement".equals(m.getString("event")));
    assertEquals("cancelling", cancelling.getJsonObject("data").getString("state"));
    awaitTrue("the cancel to reach the agent", () -> link.sent.contains(new Command.Cancel(sid)));
    link.emit(Event.StatementResult.cancelled(sid));
    JsonObject cancelled = s.until(m -> "statement".equals(m.getString("event")));
    assertEquals("cancelled", cancelled.getJsonObject("data").getString("state"));
    assertEquals(get("/sessions/" + id + "/statements/" + sid).json(), cancelled.getJsonObject("data"));
    s.ws.close();
  }

  @Test
  void badMessagesGetAnErrorAndTheSocketStaysOpen() {
    FakeAgents.Link link = readySession();
    Socket s = connect(link.sessionId);
    s.until(sessionState("idle"));
    List<String> bad = List.of(
        "not json",
        "[1, 2]",
        "{\"code\":\"1\"}",
        "{\"op\":\"fly\",\"ref\":3}",
        "{\"op\":\"submit\",\"ref\":\"r1\"}",
        "{\"op\":\"submit\",\"code\":\"1\",\"kind\":\"cobol\",\"ref\":\"r2\"}",
        "{\"op\":\"submit\",\"code\":\"1\",\"extra\":true}",
        "{\"op\":\"cancel\",\"statement\":\"zero\"}",
        "{\"op\":\"cancel\",\"statement\":424242,\"ref\":\"r3\"}",
        "{\"op\":\"resume\",\"from\":-1}",
        "{\"op\":\"ping\",\"ref\":{\"an\":\"object\"}}");
    for (String message : bad) {
      s.send(message);
      JsonObject error = s.next();
      assertEquals("error", error.getString("event"), message + " -> " + error);
      assertFalse(error.getJsonObject("data").getString("msg").isBlank(), message);
      assertNull(error.getValue("id"), "errors are not session events");
    }
    s.send("{\"op\":\"fly\",\"ref\":3}");
    assertEquals(3, s.next().getInteger("ref"));
    s.send("{\"op\":\"submit\",\"code\":\"1\",\"kind\":\"cobol\",\"ref\":\"r2\"}");
    JsonObject e = s.next();
    assertEquals("r2", e.getString("ref"));
    assertTrue(e.getJsonObject("data").getString("msg").contains("cobol"), e.encode());
    s.ws.writeBinaryMessage(io.vertx.core.buffer.Buffer.buffer("binary"));
    assertEquals("error", s.next().getString("event"));
    // Still open and answering.
    s.send("{\"op\":\"ping\",\"ref\":\"p\"}");
    assertEquals(new JsonObject().put("event", "pong").put("ref", "p"), s.next());
    assertNull(s.closeStatus);
    s.ws.close();
  }

  @Test
  void aMessageOverTheSizeLimitClosesTheSocket() {
    FakeAgents.Link link = readySession();
    Socket s = connect(link.sessionId);
    s.until(sessionState("idle"));
    s.ws.writeTextMessage("{\"op\":\"submit\",\"code\":\"" + "x".repeat(100_000) + "\"}");
    awaitTrue("the socket to close", () -> s.closeStatus != null);
    // Vert.x drops the connection (1006) rather than read on; the gateway serves the next one.
    assertTrue(s.closeStatus == 1009 || s.closeStatus == 1006, "close status " + s.closeStatus);
    Socket next = connect(link.sessionId);
    next.send("{\"op\":\"ping\"}");
    assertEquals("pong", next.until(m -> "pong".equals(m.getString("event"))).getString("event"));
    next.ws.close();
  }

  @Test
  void resumeReplaysFromAnIdAndAStatementsCodeTooLongIsRefused() {
    FakeAgents.Link link = readySession();
    int id = link.sessionId;
    Socket s = connect(id);
    JsonObject idle = s.until(sessionState("idle"));
    Response posted = post("/sessions/" + id + "/statements", "{\"code\":\"1\"}");
    assertEquals(201, posted.status(), posted.body());
    JsonObject submitted = s.until(m -> "statement".equals(m.getString("event")));
    s.send("{\"op\":\"resume\",\"from\":" + idle.getLong("id") + "}");
    // Everything after the idle event again, in order: the statement, then busy.
    JsonObject again = s.until(m -> "statement".equals(m.getString("event")));
    assertEquals(submitted, again);
    s.send("{\"op\":\"submit\",\"code\":\"" + "y".repeat(20_001) + "\",\"ref\":1}");
    JsonObject tooLong = s.until(m -> "error".equals(m.getString("event")));
    assertEquals(1, tooLong.getInteger("ref"));
    assertTrue(tooLong.getJsonObject("data").getString("msg").contains("20001"), tooLong.encode());
    // Connecting with ?from works like resume.
    Socket late = connect("/sessions/" + id + "/ws?from=" + idle.getLong("id"), 0);
    assertEquals(submitted, late.until(m -> "statement".equals(m.getString("event"))));
    late.ws.close();
    s.ws.close();
  }
}
