package io.sparkgate.gateway.api;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.sparkgate.gateway.batch.BatchSession;
import io.sparkgate.gateway.batch.BatchStatus;
import io.sparkgate.gateway.launch.SparkAppRequest;
import io.sparkgate.gateway.session.InteractiveSession;
import io.sparkgate.gateway.session.Kind;
import io.sparkgate.gateway.session.SessionRequest;
import io.sparkgate.gateway.session.SessionStatus;
import io.sparkgate.gateway.session.Statement;
import io.sparkgate.gateway.session.StatementOutput;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;

/**
 * The JSON shapes of Livy's REST API, written straight to bytes with Jackson's streaming generator.
 * Field names and order follow Livy's server ({@code SessionInfo}, {@code Statement}, the servlets'
 * maps), so existing Livy clients read them unchanged.
 */
public final class LivyJson {

  /** Log lines in a session's JSON, as Livy's session view (its last 10). */
  public static final int SESSION_LOG_TAIL = 10;

  /**
   * Renders one statement. A constant, so that each immutable {@link Statement} value is rendered
   * at most once ({@link Statement#rendered}) however often it is read.
   */
  public static final Function<Statement, Buffer> STATEMENT = LivyJson::renderStatement;

  private static final JsonFactory JSON = new JsonFactory();

  private LivyJson() {}

  @FunctionalInterface
  interface Body {
    void write(JsonGenerator g) throws IOException;
  }

  static Buffer render(Body body) {
    ByteArrayBuilder bytes = new ByteArrayBuilder(256);
    try (JsonGenerator g = JSON.createGenerator(bytes)) {
      body.write(g);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Buffer.buffer(bytes.toByteArray());
  }

  /** {@code {"msg": message}}, Livy's shape for every error and acknowledgement. */
  public static Buffer message(String message) {
    return render(g -> {
      g.writeStartObject();
      g.writeStringField("msg", message);
      g.writeEndObject();
    });
  }

  /**
   * A session as Livy 0.9's {@code SessionInfo}: id, name, appId, owner, proxyUser, state, kind,
   * appInfo, log (its last lines), ttl, idleTimeout, driverMemory, driverCores, executorMemory,
   * executorCores, conf, archives, files, heartbeatTimeoutInSecond, jars, numExecutors, pyFiles, queue.
   * What the client did not ask for is Livy's value for it: null for strings, 0 for numbers, empty
   * lists and conf.
   */
  public static Buffer session(InteractiveSession s) {
    return render(g -> writeSession(g, s));
  }

  /** {@code GET /sessions}: {@code {"from", "total", "sessions": [...]}}. */
  public static Buffer sessions(int from, int total, List<InteractiveSession> page) {
    return render(g -> {
      g.writeStartObject();
      g.writeNumberField("from", from);
      g.writeNumberField("total", total);
      g.writeArrayFieldStart("sessions");
      for (InteractiveSession s : page) {
        writeSession(g, s);
      }
      g.writeEndArray();
      g.writeEndObject();
    });
  }

  /** {@code GET /sessions/{id}/state}: {@code {"id", "state"}}. */
  public static Buffer state(InteractiveSession s) {
    return render(g -> {
      g.writeStartObject();
      g.writeNumberField("id", s.id());
      g.writeStringField("state", s.state().livyName());
      g.writeEndObject();
    });
  }

  /** {@code GET /sessions/{id}/log}: {@code {"id", "from", "total", "log": [...]}}. */
  public static Buffer log(int id, int from, int total, List<String> lines) {
    return render(g -> {
      g.writeStartObject();
      g.writeNumberField("id", id);
      g.writeNumberField("from", from);
      g.writeNumberField("total", total);
      writeStrings(g, "log", lines);
      g.writeEndObject();
    });
  }

  /** {@code GET /sessions/{id}/statements}: {@code {"total_statements", "statements": [...]}}. */
  public static Buffer statements(int total, List<Statement> page) {
    ByteArrayBuilder bytes = new ByteArrayBuilder(256 + 256 * page.size());
    // Reuse each statement's rendering: write its bytes as a raw array element.
    bytes.write(("{\"total_statements\":" + total + ",\"statements\":[").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
    for (int i = 0; i < page.size(); i++) {
      if (i > 0) {
        bytes.write(',');
      }
      bytes.write(page.get(i).rendered(STATEMENT).getBytes());
    }
    bytes.write(']');
    bytes.write('}');
    return Buffer.buffer(bytes.toByteArray());
  }

  /** {@code POST /sessions/{id}/completion}: {@code {"candidates": [...]}}. */
  public static Buffer candidates(Collection<String> candidates) {
    return render(g -> {
      g.writeStartObject();
      writeStrings(g, "candidates", candidates);
      g.writeEndObject();
    });
  }

  private static void writeSession(JsonGenerator g, InteractiveSession s) throws IOException {
    SessionStatus status = s.status();
    g.writeStartObject();
    g.writeNumberField("id", s.id());
    writeNullableString(g, "name", s.name());
    writeNullableString(g, "appId", status.appId());
    writeNullableString(g, "owner", s.owner());
    writeNullableString(g, "proxyUser", s.proxyUser());
    g.writeStringField("state", status.state().livyName());
    g.writeStringField("kind", s.kind() == null ? Kind.SHARED : s.kind().livyName());
    g.writeObjectFieldStart("appInfo");
    writeNullableString(g, "driverLogUrl", status.driverLogUrl());
    writeNullableString(g, "sparkUiUrl", status.sparkUiUrl());
    g.writeEndObject();
    writeStrings(g, "log", s.log().tail(SESSION_LOG_TAIL));
    SessionRequest request = s.request();
    SparkAppRequest app = request.shown();
    writeNullableString(g, "ttl", request.ttl() == null ? null : request.ttl().text());
    writeNullableString(g, "idleTimeout", request.idleTimeout() == null ? null : request.idleTimeout().text());
    writeNullableString(g, "driverMemory", app.driverMemory());
    g.writeNumberField("driverCores", orZero(app.driverCores()));
    writeNullableString(g, "executorMemory", app.executorMemory());
    g.writeNumberField("executorCores", orZero(app.executorCores()));
    g.writeObjectFieldStart("conf");
    for (Map.Entry<String, String> e : app.conf().entrySet()) {
      g.writeStringField(e.getKey(), e.getValue());
    }
    g.writeEndObject();
    writeStrings(g, "archives", app.archives());
    writeStrings(g, "files", app.files());
    g.writeNumberField("heartbeatTimeoutInSecond", request.heartbeatTimeoutSeconds());
    writeStrings(g, "jars", app.jars());
    g.writeNumberField("numExecutors", orZero(app.numExecutors()));
    writeStrings(g, "pyFiles", app.pyFiles());
    writeNullableString(g, "queue", app.queue());
    g.writeEndObject();
  }

  private static int orZero(Integer v) {
    return v == null ? 0 : v;
  }

  /**
   * {@code GET /version}: Livy's fields (version, user, revision, branch, date, url), with the Livy
   * release whose API is spoken as the version and this build's facts for the rest, then Sparkgate's
   * own version under {@code sparkgateVersion}.
   */
  static Buffer version(String livyVersion, Properties build) {
    return render(g -> {
      g.writeStartObject();
      g.writeStringField("version", livyVersion);
      for (String key : List.of("user", "revision", "branch", "date", "url")) {
        g.writeStringField(key, build.getProperty(key, "unknown"));
      }
      g.writeStringField("sparkgateVersion", build.getProperty("version", "unknown"));
      g.writeEndObject();
    });
  }

  /** A batch: id, name, owner, proxyUser, state, appId, appInfo, log (its last lines), as Livy's BatchSessionView. */
  public static Buffer batch(BatchSession b) {
    return render(g -> writeBatch(g, b));
  }

  /** {@code GET /batches}: {@code {"from", "total", "sessions": [...]}}, as Livy names it. */
  public static Buffer batches(int from, int total, List<BatchSession> page) {
    return render(g -> {
      g.writeStartObject();
      g.writeNumberField("from", from);
      g.writeNumberField("total", total);
      g.writeArrayFieldStart("sessions");
      for (BatchSession b : page) {
        writeBatch(g, b);
      }
      g.writeEndArray();
      g.writeEndObject();
    });
  }

  /** {@code GET /batches/{id}/state}: {@code {"id", "state"}}. */
  public static Buffer batchState(BatchSession b) {
    return render(g -> {
      g.writeStartObject();
      g.writeNumberField("id", b.id());
      g.writeStringField("state", b.state().livyName());
      g.writeEndObject();
    });
  }

  private static void writeBatch(JsonGenerator g, BatchSession b) throws IOException {
    BatchStatus status = b.status();
    g.writeStartObject();
    g.writeNumberField("id", b.id());
    writeNullableString(g, "name", b.name());
    writeNullableString(g, "owner", b.owner());
    writeNullableString(g, "proxyUser", b.proxyUser());
    g.writeStringField("state", status.state().livyName());
    writeNullableString(g, "appId", status.appId());
    g.writeObjectFieldStart("appInfo");
    writeNullableString(g, "driverLogUrl", status.driverLogUrl());
    writeNullableString(g, "sparkUiUrl", status.sparkUiUrl());
    g.writeEndObject();
    writeStrings(g, "log", b.log().tail(SESSION_LOG_TAIL));
    g.writeEndObject();
  }

  /** A statement: id, code, state, output (null until it ended with one), progress, started, completed. */
  static Buffer renderStatement(Statement s) {
    return render(g -> {
      g.writeStartObject();
      g.writeNumberField("id", s.id());
      g.writeStringField("code", s.code());
      g.writeStringField("state", s.state().livyName());
      g.writeFieldName("output");
      StatementOutput out = s.output();
      if (out == null) {
        g.writeNull();
      } else if (out instanceof StatementOutput.Ok ok) {
        g.writeStartObject();
        g.writeStringField("status", "ok");
        g.writeNumberField("execution_count", ok.executionCount());
        g.writeFieldName("data");
        g.writeRawValue(ok.dataJson());
        g.writeEndObject();
      } else if (out instanceof StatementOutput.Error err) {
        g.writeStartObject();
        g.writeStringField("status", "error");
        g.writeNumberField("execution_count", err.executionCount());
        g.writeStringField("ename", err.ename());
        g.writeStringField("evalue", err.evalue());
        writeStrings(g, "traceback", err.traceback());
        g.writeEndObject();
      }
      g.writeNumberField("progress", s.progress());
      g.writeNumberField("started", s.started());
      g.writeNumberField("completed", s.completed());
      g.writeEndObject();
    });
  }

  private static void writeNullableString(JsonGenerator g, String field, String value) throws IOException {
    if (value == null) {
      g.writeNullField(field);
    } else {
      g.writeStringField(field, value);
    }
  }

  private static void writeStrings(JsonGenerator g, String field, Collection<String> values) throws IOException {
    g.writeArrayFieldStart(field);
    for (String v : values) {
      g.writeString(v);
    }
    g.writeEndArray();
  }
}
