package io.sparkgate.gateway.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.testing.FakeAgents;
import io.sparkgate.proto.Event;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Access control and impersonation with Livy's rules, as a matrix: who (owner, another user, a view
 * user, a modify user, a superuser, a superuser acting for others with {@code doAs}, a user asking
 * to act for someone else, a user on no list) against every endpoint that reads or changes a
 * session, each with its expected status; then who may name which {@code proxyUser}, checked in the
 * spark-submit command line the launcher built.
 *
 * <p>Users authenticate with Basic (htpasswd); the drivers are {@link FakeAgents} and
 * {@code FakeSpark}'s script (a test double whose log shows its command line).
 */
class AccessControlMatrixTest extends SecureGatewayTestBase {

  private static final List<String> USERS = List.of("alice", "bob", "victor", "mona", "sam", "eve");

  /** The directory batches' local files must be in. */
  private final java.nio.file.Path jobs = tempDir("sparkgate-acl-jobs");

  /** The callers of the matrix: whether each may read and change alice's session or batch. */
  private record Caller(String user, String query, boolean reads, boolean changes, int refusal) {
  }

  private static final List<Caller> CALLERS = List.of(
      new Caller("alice", "", true, true, 0),                 // the owner
      new Caller("bob", "", false, false, 403),               // another user
      new Caller("victor", "", true, false, 403),             // a view user
      new Caller("mona", "", true, true, 0),                  // a modify user
      new Caller("sam", "", true, true, 0),                   // a superuser
      new Caller("sam", "?doAs=alice", true, true, 0),        // a superuser acting as the owner
      new Caller("sam", "?doAs=bob", false, false, 403),      // ...and as a user who may not
      new Caller("bob", "?doAs=alice", false, false, 403),    // someone asking to act as the owner
      new Caller("eve", "", false, false, 403));              // on no list at all

  @Override
  protected Map<String, String> warmUpHeaders() {
    return Map.of("Authorization", basic("sam", "sam-pw"));
  }

  @Override
  protected Map<String, String> settings() {
    Map<String, String> passwords = new LinkedHashMap<>();
    USERS.forEach(u -> passwords.put(u, u + "-pw"));
    var file = htpasswd(tempDir("sparkgate-acl"), passwords);
    Map<String, String> s = new LinkedHashMap<>();
    s.put("sparkgate.auth.type", "basic");
    s.put("sparkgate.auth.basic.htpasswd-file", file.toString());
    // Livy's key names, as in an operator's livy.conf.
    s.put("livy.server.access-control.enabled", "true");
    s.put("livy.server.access-control.allowed-users", "alice,bob");
    s.put("livy.server.access-control.view-users", "victor");
    s.put("livy.server.access-control.modify-users", "mona");
    s.put("livy.superusers", "sam");
    s.put("livy.impersonation.enabled", "true");
    s.put("sparkgate.completion.timeout", "200ms");
    s.put("sparkgate.file.local-dir-whitelist", jobs.toString());
    return s;
  }

  private Response as(String user, HttpMethod method, String path, String body) {
    return call(method, path, body, Map.of("Authorization", basic(user, user + "-pw")));
  }

  /** A session of alice, idle, with statement 0 running. */
  private int aliceSession() {
    Response created = as("alice", HttpMethod.POST, "/sessions", "{\"kind\":\"spark\"}");
    assertEquals(201, created.status(), created.body());
    int id = created.json().getInteger("id");
    FakeAgents.Link link = agents.link(id);
    link.connect();
    link.emit(new Event.Ready("local-" + id, ""));
    awaitTrue("session " + id + " idle",
        () -> "idle".equals(as("alice", HttpMethod.GET, "/sessions/" + id + "/state", null).json().getString("state")));
    assertEquals(201, as("alice", HttpMethod.POST, "/sessions/" + id + "/statements", "{\"code\":\"1\"}").status());
    link.emit(new Event.StatementStarted(0));
    return id;
  }

  /** One endpoint: method, path under /sessions/{id}, body, and the status an allowed caller gets. */
  private record Endpoint(HttpMethod method, String path, String body, int allowed, boolean changes) {
  }

  private static final List<Endpoint> ENDPOINTS = List.of(
      new Endpoint(HttpMethod.GET, "", null, 200, false),
      new Endpoint(HttpMethod.GET, "/state", null, 200, false),
      new Endpoint(HttpMethod.GET, "/log", null, 200, false),
      new Endpoint(HttpMethod.GET, "/statements", null, 200, false),
      new Endpoint(HttpMethod.GET, "/statements/0", null, 200, false),
      // The fake agent never answers a completion: an allowed caller waits for the timeout.
      new Endpoint(HttpMethod.POST, "/completion", "{\"code\":\"sc.\",\"kind\":\"spark\",\"cursor\":3}", 504, true),
      new Endpoint(HttpMethod.POST, "/statements", "{\"code\":\"2\"}", 201, true),
      new Endpoint(HttpMethod.POST, "/statements/0/cancel", null, 200, true),
      new Endpoint(HttpMethod.DELETE, "", null, 200, true));

  /**
   * The matrix: for each caller ({@code user} and its query), whether it may read and whether it may
   * change alice's session.
   */
  @Test
  void everyCallerGetsItsStatusOnEveryEndpoint() {
    List<String> mismatches = new ArrayList<>();
    for (Caller c : CALLERS) {
      int id = aliceSession();
      for (Endpoint e : ENDPOINTS) {
        boolean may = e.changes() ? c.changes() : c.reads();
        int expected = may ? e.allowed() : c.refusal();
        Response r = as(c.user(), e.method(), "/sessions/" + id + e.path() + c.query(), e.body());
        if (r.status() != expected) {
          mismatches.add(c.user() + c.query() + " " + e.method() + " /sessions/" + id + e.path() + ": expected "
              + expected + ", got " + r.status() + " " + r.body());
        } else if (!may) {
          assertTrue(r.msg().contains("not allowed"), r.body());
        }
      }
      // Whatever the caller could not delete, the owner does.
      as("alice", HttpMethod.DELETE, "/sessions/" + id, null);
    }
    assertEquals(List.of(), mismatches);
  }

  /** The status of a Server-Sent Events subscription (the stream is closed once its headers arrived). */
  private int sseStatus(io.vertx.core.http.HttpClient http, String user, String path) {
    try (io.sparkgate.gateway.testing.SseReader r = io.sparkgate.gateway.testing.SseReader.open(http, gateway.port(),
        path, Map.of("Authorization", basic(user, user + "-pw")))) {
      return r.status();
    }
  }

  /**
   * What a WebSocket client gets: the rejected upgrade's status, or for an accepted socket 101 and
   * the answer to a submit ("submitted" or the error's message).
   */
  private String socket(String user, String path) {
    io.vertx.core.http.WebSocketClient ws = vertx.createWebSocketClient();
    try {
      var options = new io.vertx.core.http.WebSocketConnectOptions().setHost("127.0.0.1").setPort(gateway.port())
          .setURI(path).addHeader("Authorization", basic(user, user + "-pw"));
      io.vertx.core.http.WebSocket socket;
      try {
        socket = ws.connect(options).toCompletionStage().toCompletableFuture().get(20, java.util.concurrent.TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException e) {
        if (e.getCause() instanceof io.vertx.core.http.UpgradeRejectedException r) {
          return Integer.toString(r.getStatus());
        }
        throw new AssertionError(e);
      }
      java.util.concurrent.BlockingQueue<String> answers = new java.util.concurrent.LinkedBlockingQueue<>();
      socket.textMessageHandler(t -> {
        JsonObject m = new JsonObject(t);
        if ("r1".equals(m.getString("ref"))) {
          answers.add("error".equals(m.getString("event")) ? m.getJsonObject("data").getString("msg") : "submitted");
        }
      });
      socket.writeTextMessage(new JsonObject().put("op", "submit").put("code", "3").put("ref", "r1").encode());
      String answer = answers.poll(20, java.util.concurrent.TimeUnit.SECONDS);
      socket.close();
      return "101 " + answer;
    } catch (InterruptedException | java.util.concurrent.TimeoutException e) {
      throw new AssertionError(e);
    } finally {
      ws.close();
    }
  }

  /** The push streams obey the same rules: SSE needs read access, WebSocket read to subscribe and change to submit. */
  @Test
  void streamsAndSocketsObeyTheSameRules() {
    io.vertx.core.http.HttpClient http = vertx.createHttpClient();
    List<String> mismatches = new ArrayList<>();
    try {
      for (Caller c : CALLERS) {
        int id = aliceSession();
        int expected = c.reads() ? 200 : c.refusal();
        for (String path : List.of("/sessions/" + id + "/events", "/sessions/" + id + "/statements/0/events")) {
          int got = sseStatus(http, c.user(), path + c.query());
          if (got != expected) {
            mismatches.add(c.user() + c.query() + " SSE " + path + ": expected " + expected + ", got " + got);
          }
        }
        String want = !c.reads() ? Integer.toString(c.refusal())
            : c.changes() ? "101 submitted" : "101 User '" + c.user() + "' is not allowed to change session " + id;
        String got = socket(c.user(), "/sessions/" + id + "/ws" + c.query());
        if (!got.equals(want)) {
          mismatches.add(c.user() + c.query() + " WebSocket: expected " + want + ", got " + got);
        }
        as("alice", HttpMethod.DELETE, "/sessions/" + id, null);
      }
    } finally {
      http.close();
    }
    assertEquals(List.of(), mismatches);
  }

  /** Batches: the same matrix on every batch endpoint, and the list. */
  @Test
  void batchesObeyTheSameRules() throws Exception {
    java.nio.file.Path job = java.nio.file.Files.writeString(jobs.resolve("job.py"), "print(1)\n");
    List<String> mismatches = new ArrayList<>();
    for (Caller c : CALLERS) {
      Response created = as("alice", HttpMethod.POST, "/batches", new JsonObject().put("file", job.toString()).encode());
      assertEquals(201, created.status(), created.body());
      assertEquals("alice", created.json().getString("owner"));
      int id = created.json().getInteger("id");
      for (String path : List.of("", "/state", "/log")) {
        int expected = c.reads() ? 200 : c.refusal();
        Response r = as(c.user(), HttpMethod.GET, "/batches/" + id + path + c.query(), null);
        if (r.status() != expected) {
          mismatches.add(c.user() + c.query() + " GET /batches/" + id + path + ": expected " + expected + ", got "
              + r.status() + " " + r.body());
        }
      }
      io.vertx.core.http.HttpClient http = vertx.createHttpClient();
      try {
        int expected = c.reads() ? 200 : c.refusal();
        int got = sseStatus(http, c.user(), "/batches/" + id + "/events" + c.query());
        if (got != expected) {
          mismatches.add(c.user() + c.query() + " SSE /batches/" + id + "/events: expected " + expected + ", got " + got);
        }
      } finally {
        http.close();
      }
      List<Integer> listed = new ArrayList<>();
      Response list = as(c.user(), HttpMethod.GET, "/batches" + c.query(), null);
      if (list.status() == 200) {
        list.json().getJsonArray("sessions").forEach(o -> listed.add(((JsonObject) o).getInteger("id")));
      }
      if (listed.contains(id) != c.reads()) {
        mismatches.add(c.user() + c.query() + " GET /batches lists " + listed + " (status " + list.status() + ")");
      }
      int expected = c.changes() ? 200 : c.refusal();
      Response r = as(c.user(), HttpMethod.DELETE, "/batches/" + id + c.query(), null);
      if (r.status() != expected) {
        mismatches.add(c.user() + c.query() + " DELETE /batches/" + id + ": expected " + expected + ", got " + r.status());
      }
      as("alice", HttpMethod.DELETE, "/batches/" + id, null);
    }
    assertEquals(List.of(), mismatches);
  }

  @Test
  void listsShowOnlyWhatTheCallerMayRead() {
    int a = aliceSession();
    Response created = as("bob", HttpMethod.POST, "/sessions", "{\"kind\":\"sql\"}");
    assertEquals(201, created.status(), created.body());
    int b = created.json().getInteger("id");
    assertEquals(List.of(b), ids(as("bob", HttpMethod.GET, "/sessions", null)));
    assertEquals(List.of(a), ids(as("alice", HttpMethod.GET, "/sessions", null)));
    assertEquals(List.of(a, b), ids(as("victor", HttpMethod.GET, "/sessions", null)));
    assertEquals(List.of(a, b), ids(as("sam", HttpMethod.GET, "/sessions", null)));
    assertEquals(List.of(a), ids(as("sam", HttpMethod.GET, "/sessions?doAs=alice", null)));
    assertEquals(1, as("bob", HttpMethod.GET, "/sessions", null).json().getInteger("total"));
    assertEquals(403, as("eve", HttpMethod.GET, "/sessions", null).status());
    as("alice", HttpMethod.DELETE, "/sessions/" + a, null);
    as("bob", HttpMethod.DELETE, "/sessions/" + b, null);
  }

  private static List<Integer> ids(Response r) {
    assertEquals(200, r.status(), r.body());
    List<Integer> ids = new ArrayList<>();
    r.json().getJsonArray("sessions").forEach(o -> ids.add(((JsonObject) o).getInteger("id")));
    return ids;
  }

  /** The spark-submit arguments session {@code id}'s fake driver printed. */
  private String args(String user, int id) {
    return awaitValue("the command line of session " + id,
        () -> as(user, HttpMethod.GET, "/sessions/" + id + "/log?size=1000", null).jsonArray("log").stream()
            .map(Object::toString).filter(l -> l.startsWith("args: ")).findFirst(),
        java.util.Optional::isPresent).orElseThrow();
  }

  @Test
  void whoMayNameWhichProxyUserAndWhatSparkSubmitIsTold() {
    // Anyone else naming another user: 403, and nothing is launched.
    Response r = as("bob", HttpMethod.POST, "/sessions", "{\"kind\":\"spark\",\"proxyUser\":\"alice\"}");
    assertEquals(403, r.status(), r.body());
    assertEquals("User 'bob' is not allowed to impersonate 'alice'", r.msg());
    r = as("bob", HttpMethod.POST, "/sessions?doAs=alice", "{\"kind\":\"spark\"}");
    assertEquals(403, r.status(), r.body());

    // No proxyUser: the application runs as its owner.
    r = as("bob", HttpMethod.POST, "/sessions", "{\"kind\":\"spark\"}");
    assertEquals(201, r.status(), r.body());
    assertEquals("bob", r.json().getString("owner"));
    assertEquals("bob", r.json().getString("proxyUser"));
    int own = r.json().getInteger("id");
    assertTrue(args("bob", own).contains(" --proxy-user bob "), args("bob", own));

    // A superuser may name anyone...
    r = as("sam", HttpMethod.POST, "/sessions", "{\"kind\":\"spark\",\"proxyUser\":\"alice\"}");
    assertEquals(201, r.status(), r.body());
    assertEquals("sam", r.json().getString("owner"));
    assertEquals("alice", r.json().getString("proxyUser"));
    int forAlice = r.json().getInteger("id");
    assertTrue(args("sam", forAlice).contains(" --proxy-user alice "), args("sam", forAlice));

    // ...and doAs wins over the body's proxyUser.
    r = as("sam", HttpMethod.POST, "/sessions?doAs=carol", "{\"kind\":\"spark\",\"proxyUser\":\"alice\"}");
    assertEquals(201, r.status(), r.body());
    assertEquals("carol", r.json().getString("proxyUser"));
    int forCarol = r.json().getInteger("id");
    assertTrue(args("sam", forCarol).contains(" --proxy-user carol "), args("sam", forCarol));
    assertTrue(!args("sam", forCarol).contains("--proxy-user alice"), args("sam", forCarol));

    for (int id : new int[] {own, forAlice, forCarol}) {
      assertEquals(200, as("sam", HttpMethod.DELETE, "/sessions/" + id, null).status());
    }
  }
}
