package io.sparkgate.gateway.session;

import io.sparkgate.gateway.launch.SparkAppRequest;
import io.sparkgate.gateway.store.StateStore;
import io.sparkgate.proto.AgentAuth;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The records sessions keep in the state store, their keys, and their JSON. Every record carries a
 * {@code version}; a reader refuses a version it does not know rather than guess.
 *
 * <pre>
 * ids/sessions                  {"version":1,"next":12}       the next session id (ids are never reused)
 * sessions/3                    the session: request, secret, state, sequence numbers
 * sessions/3/statements/7       one statement: code, state, output
 * </pre>
 */
public final class SessionRecords {

  /** The version written; readers accept it and nothing newer. */
  public static final int VERSION = 1;

  static final String SESSIONS = "sessions";
  static final String SESSION_IDS = "ids/sessions";

  private SessionRecords() {}

  static String sessionKey(int id) {
    return SESSIONS + "/" + id;
  }

  static String statementKey(int sessionId, int statementId) {
    return SESSIONS + "/" + sessionId + "/statements/" + statementId;
  }

  /** A session as stored. */
  public record SessionRecord(int id, String owner, SessionRequest request, byte[] secret, SessionState state,
      String appId, String driverLogUrl, String sparkUiUrl, boolean everIdle, long finishedAt, long lastEventSeq,
      long lastCommandSeq, int nextStatementId, long lastPushEventId, List<StatementRecord> statements) {}

  /**
   * A statement as stored.
   *
   * @param executeSeq the sequence number of the Execute command that carried it to the agent
   */
  public record StatementRecord(Statement statement, long executeSeq) {}

  /** Everything read back at start. */
  public record Loaded(int nextSessionId, List<SessionRecord> sessions, List<String> problems) {}

  /** Encodes and decodes one record of each kind, so the JSON classes load before any event loop needs them. */
  public static void warmUp() {
    SessionRequest request = new SessionRequest("warm-up", Kind.SPARK, 0, new SparkAppRequest(null, List.of("a.jar"),
        List.of(), List.of(), List.of(), "1g", 1, "1g", 1, 1, null, Map.of("spark.a", "b")));
    byte[] session = encodeSession(new SessionRecord(0, null, request, new byte[32], SessionState.IDLE, "app", null,
        null, true, 0, 1, 1, 1, 1, List.of()));
    decodeRequest(checked(session).getJsonObject("request"));
    Statement ok = Statement.restored(0, "1", Kind.SPARK, StatementState.AVAILABLE, new StatementOutput.Ok(0,
        "{\"text/plain\":\"1\"}"), 1.0, 1, 2, 3);
    Statement error = Statement.restored(1, "1", Kind.SPARK, StatementState.AVAILABLE, new StatementOutput.Error(1,
        "E", "v", List.of("t")), 1.0, 1, 2, 3);
    decodeStatement(checked(encodeStatement(ok, 1)));
    decodeStatement(checked(encodeStatement(error, 2)));
  }

  // --- Writing --------------------------------------------------------------------------------

  static byte[] encodeNextId(int next) {
    return new JsonObject().put("version", VERSION).put("next", next).toBuffer().getBytes();
  }

  static byte[] encodeSession(SessionRecord r) {
    JsonObject o = new JsonObject()
        .put("version", VERSION)
        .put("id", r.id())
        .put("owner", r.owner())
        .put("request", encodeRequest(r.request()))
        .put("secret", AgentAuth.encodeSecret(r.secret()))
        .put("state", r.state().name())
        .put("appId", r.appId())
        .put("driverLogUrl", r.driverLogUrl())
        .put("sparkUiUrl", r.sparkUiUrl())
        .put("everIdle", r.everIdle())
        .put("finishedAt", r.finishedAt())
        .put("lastEventSeq", r.lastEventSeq())
        .put("lastCommandSeq", r.lastCommandSeq())
        .put("nextStatementId", r.nextStatementId())
        .put("lastPushEventId", r.lastPushEventId());
    return o.toBuffer().getBytes();
  }

  static byte[] encodeStatement(Statement s, long executeSeq) {
    JsonObject o = new JsonObject()
        .put("version", VERSION)
        .put("id", s.id())
        .put("code", s.code())
        .put("kind", s.kind().livyName())
        .put("state", s.state().name())
        .put("progress", s.progress())
        .put("started", s.started())
        .put("completed", s.completed())
        .put("executionMicros", s.executionMicros())
        .put("executeSeq", executeSeq);
    StatementOutput out = s.output();
    if (out instanceof StatementOutput.Ok ok) {
      o.put("output", new JsonObject().put("status", "ok").put("data", ok.dataJson()));
    } else if (out instanceof StatementOutput.Error e) {
      o.put("output", new JsonObject().put("status", "error").put("ename", e.ename()).put("evalue", e.evalue())
          .put("traceback", new JsonArray(new ArrayList<>(e.traceback()))));
    }
    return o.toBuffer().getBytes();
  }

  private static JsonObject encodeRequest(SessionRequest q) {
    SparkAppRequest a = q.app();
    return new JsonObject()
        .put("name", q.name())
        .put("kind", q.kind() == null ? null : q.kind().livyName())
        .put("heartbeatTimeoutInSecond", q.heartbeatTimeoutSeconds())
        .put("proxyUser", a.proxyUser())
        .put("jars", new JsonArray(new ArrayList<>(a.jars())))
        .put("pyFiles", new JsonArray(new ArrayList<>(a.pyFiles())))
        .put("files", new JsonArray(new ArrayList<>(a.files())))
        .put("archives", new JsonArray(new ArrayList<>(a.archives())))
        .put("driverMemory", a.driverMemory())
        .put("driverCores", a.driverCores())
        .put("executorMemory", a.executorMemory())
        .put("executorCores", a.executorCores())
        .put("numExecutors", a.numExecutors())
        .put("queue", a.queue())
        .put("conf", new JsonObject(new LinkedHashMap<>(a.conf())));
  }

  // --- Reading (blocking: a worker thread at start) -------------------------------------------

  /** Reads every session record; a record that cannot be read is reported and skipped. */
  public static Loaded load(StateStore store) throws IOException {
    List<String> problems = new ArrayList<>();
    int next = 0;
    byte[] ids = store.get(SESSION_IDS);
    if (ids != null) {
      try {
        next = checked(ids).getInteger("next");
      } catch (RuntimeException e) {
        problems.add(SESSION_IDS + ": " + e.getMessage());
      }
    }
    List<SessionRecord> sessions = new ArrayList<>();
    for (String child : store.children(SESSIONS)) {
      int id;
      try {
        id = Integer.parseInt(child);
      } catch (NumberFormatException e) {
        problems.add(SESSIONS + "/" + child + ": not a session id");
        continue;
      }
      byte[] bytes = store.get(sessionKey(id));
      if (bytes == null) {
        // Children without their record: the leftovers of a removal cut short. Finish it.
        store.delete(sessionKey(id));
        continue;
      }
      try {
        sessions.add(decodeSession(store, id, checked(bytes)));
      } catch (RuntimeException e) {
        problems.add(sessionKey(id) + ": " + e);
      }
      next = Math.max(next, id + 1);
    }
    sessions.sort(Comparator.comparingInt(SessionRecord::id));
    return new Loaded(next, sessions, problems);
  }

  private static JsonObject checked(byte[] bytes) {
    JsonObject o = new JsonObject(new String(bytes, StandardCharsets.UTF_8));
    Integer version = o.getInteger("version");
    if (version == null || version < 1 || version > VERSION) {
      throw new IllegalArgumentException("record version " + version + " is not one this gateway reads (1.." + VERSION + ")");
    }
    return o;
  }

  private static SessionRecord decodeSession(StateStore store, int id, JsonObject o) {
    List<StatementRecord> statements = new ArrayList<>();
    try {
      for (String child : store.children(sessionKey(id) + "/statements")) {
        byte[] bytes = store.get(sessionKey(id) + "/statements/" + child);
        if (bytes != null) {
          statements.add(decodeStatement(checked(bytes)));
        }
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot read its statements: " + e, e);
    }
    statements.sort(Comparator.comparingInt(s -> s.statement().id()));
    int nextStatementId = o.getInteger("nextStatementId");
    if (!statements.isEmpty()) {
      nextStatementId = Math.max(nextStatementId, statements.get(statements.size() - 1).statement().id() + 1);
    }
    return new SessionRecord(o.getInteger("id"), o.getString("owner"), decodeRequest(o.getJsonObject("request")),
        AgentAuth.decodeSecret(o.getString("secret")), SessionState.valueOf(o.getString("state")),
        o.getString("appId"), o.getString("driverLogUrl"), o.getString("sparkUiUrl"),
        o.getBoolean("everIdle", false), o.getLong("finishedAt", 0L), o.getLong("lastEventSeq", 0L),
        o.getLong("lastCommandSeq", 0L), nextStatementId, o.getLong("lastPushEventId", 0L), statements);
  }

  private static StatementRecord decodeStatement(JsonObject o) {
    StatementOutput output = null;
    JsonObject out = o.getJsonObject("output");
    int id = o.getInteger("id");
    if (out != null) {
      if ("ok".equals(out.getString("status"))) {
        output = new StatementOutput.Ok(id, out.getString("data"));
      } else {
        List<String> tb = new ArrayList<>();
        out.getJsonArray("traceback", new JsonArray()).forEach(t -> tb.add(String.valueOf(t)));
        output = new StatementOutput.Error(id, out.getString("ename"), out.getString("evalue"), tb);
      }
    }
    Statement s = Statement.restored(id, o.getString("code"), Kind.parse(o.getString("kind")),
        StatementState.valueOf(o.getString("state")), output, o.getDouble("progress", 0.0),
        o.getLong("started", 0L), o.getLong("completed", 0L), o.getLong("executionMicros", 0L));
    return new StatementRecord(s, o.getLong("executeSeq", 0L));
  }

  private static SessionRequest decodeRequest(JsonObject r) {
    Map<String, String> conf = new LinkedHashMap<>();
    r.getJsonObject("conf", new JsonObject()).forEach(e -> conf.put(e.getKey(), String.valueOf(e.getValue())));
    SparkAppRequest app = new SparkAppRequest(r.getString("proxyUser"), strings(r, "jars"), strings(r, "pyFiles"),
        strings(r, "files"), strings(r, "archives"), r.getString("driverMemory"), r.getInteger("driverCores"),
        r.getString("executorMemory"), r.getInteger("executorCores"), r.getInteger("numExecutors"),
        r.getString("queue"), conf);
    String kind = r.getString("kind");
    return new SessionRequest(r.getString("name"), kind == null ? null : Kind.parse(kind),
        r.getInteger("heartbeatTimeoutInSecond", 0), app);
  }

  private static List<String> strings(JsonObject o, String field) {
    List<String> out = new ArrayList<>();
    o.getJsonArray(field, new JsonArray()).forEach(v -> out.add(String.valueOf(v)));
    return out;
  }
}
