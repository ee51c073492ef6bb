package io.sparkgate.gateway.session;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.sparkgate.proto.Event;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.io.StringWriter;
import java.util.List;
import java.util.Objects;
import java.util.function.Function;

/**
 * The statements of one session and how they change: the kept records ({@link StatementStore}),
 * the agent's statement events applied to them, and every change published once on the session's
 * {@link SessionEventLog} (a {@code statement} event with the statement as REST shows it, an
 * {@code output} event per piece of live output). Split out of {@link InteractiveSession}, which
 * keeps the driver's lifecycle.
 *
 * <p>Context only (the session's), except the reads {@link #get} and {@link #list}, which any thread
 * may make.
 */
final class SessionStatements {

  private static final JsonFactory JSON = new JsonFactory();

  private final StatementStore store;
  private final SessionEventLog events;
  private final Function<Statement, Buffer> view;

  SessionStatements(int capacity, SessionEventLog events, Function<Statement, Buffer> view) {
    this(capacity, events, view, s -> {});
  }

  /** @param onEnded called with each statement as it reaches a final state (metrics) */
  SessionStatements(int capacity, SessionEventLog events, Function<Statement, Buffer> view,
      java.util.function.Consumer<Statement> onEnded) {
    this.store = new StatementStore(capacity, onEnded);
    this.events = Objects.requireNonNull(events, "events");
    this.view = Objects.requireNonNull(view, "view");
  }

  // --- Reads, any thread ------------------------------------------------------------------------

  Statement get(int id) {
    return store.get(id);
  }

  List<Statement> list() {
    return store.list();
  }

  // --- Changes, context only --------------------------------------------------------------------

  int nextId() {
    return store.nextId();
  }

  boolean hasRoom() {
    return store.hasRoom();
  }

  boolean anyPending() {
    return store.anyPending();
  }

  /** Records a statement just submitted (waiting). */
  Statement add(int id, String code, Kind kind) {
    Statement s = Statement.waiting(id, code, kind);
    store.add(s);
    publish(s, SessionEvent.Mark.FIRST);
    return s;
  }

  /** Replaces a kept statement's value and publishes it. */
  void put(Statement s) {
    store.replace(s);
    publish(s, s.state().isFinal() ? SessionEvent.Mark.LAST : SessionEvent.Mark.NONE);
  }

  private void publish(Statement s, SessionEvent.Mark mark) {
    events.append(SessionEvent.STATEMENT, s.id(), mark, s.rendered(view));
  }

  /**
   * Applies an agent event about a statement.
   *
   * @return true when it was one (started, progress, output, result), whether or not it changed
   *     anything; false for any other event
   */
  boolean apply(Event event, long now) {
    if (event instanceof Event.StatementStarted s) {
      started(s, now);
    } else if (event instanceof Event.StatementProgress p) {
      progress(p);
    } else if (event instanceof Event.StatementOutput o) {
      output(o);
    } else if (event instanceof Event.StatementResult r) {
      result(r, now);
    } else {
      return false;
    }
    return true;
  }

  private void started(Event.StatementStarted started, long now) {
    Statement s = store.get(started.statementId());
    if (s == null || s.state() != StatementState.WAITING) {
      return; // Cancelled while queued, or not ours.
    }
    put(s.running(now));
  }

  private void progress(Event.StatementProgress p) {
    Statement s = store.get(p.statementId());
    if (s == null || (s.state() != StatementState.RUNNING && s.state() != StatementState.CANCELLING)) {
      return;
    }
    double progress = p.totalTasks() <= 0 ? 0.0
        : Math.min(1.0, Math.max(0.0, (double) p.completedTasks() / p.totalTasks()));
    if (progress != s.progress()) {
      put(s.withProgress(progress));
    }
  }

  private void output(Event.StatementOutput o) {
    Statement s = store.get(o.statementId());
    if (s == null || s.state().isFinal() || o.text().isEmpty()) {
      return; // Late pieces of an ended statement: its final output has all of them.
    }
    String stream = o.stream() == Event.Stream.STDERR ? "stderr" : "stdout";
    events.append(SessionEvent.OUTPUT, s.id(), SessionEvent.Mark.NONE, EventData.output(s.id(), stream, o.text()));
  }

  private void result(Event.StatementResult r, long now) {
    Statement s = store.get(r.statementId());
    if (s == null || s.state().isFinal()) {
      return;
    }
    if (s.state() == StatementState.WAITING && r.status() != Event.Status.CANCELLED) {
      s = s.running(now); // The start event was lost to a cut connection; the result says it ran.
    }
    Statement ended;
    if (r.status() == Event.Status.CANCELLED) {
      ended = s.ended(StatementState.CANCELLED, null, now);
    } else if (s.state() == StatementState.CANCELLING) {
      // As Livy: once cancelling, the statement ends cancelled; but its code finished before the
      // cancel took hold, so its output is kept, as Livy's REPL keeps it.
      ended = s.ended(StatementState.CANCELLED, r.status() == Event.Status.OK
          ? new StatementOutput.Ok(s.id(), checkedData(r.dataJson()))
          : new StatementOutput.Error(s.id(), r.ename(), r.evalue(), r.traceback()), now, r.executionMicros());
    } else if (r.status() == Event.Status.OK) {
      ended = s.ended(StatementState.AVAILABLE, new StatementOutput.Ok(s.id(), checkedData(r.dataJson())), now,
          r.executionMicros());
    } else {
      // As Livy: code that raised still makes an available statement, its output says error.
      ended = s.ended(StatementState.AVAILABLE,
          new StatementOutput.Error(s.id(), r.ename(), r.evalue(), r.traceback()), now, r.executionMicros());
    }
    put(ended);
  }

  /** Ends every statement that has not ended, in error: the session ended ({@code why}). */
  void endAll(String why, long now) {
    for (Statement s : store.list()) {
      if (!s.state().isFinal()) {
        put(s.ended(StatementState.ERROR, new StatementOutput.Error(s.id(), "SessionEnded",
            "The session ended before the statement completed: " + why + ".", List.of()), now));
      }
    }
  }

  // --- JSON -------------------------------------------------------------------------------------

  /**
   * {@code dataJson} when it is one JSON object; otherwise the text itself under {@code text/plain},
   * so a misbehaving driver cannot break the statement's JSON.
   */
  static String checkedData(String dataJson) {
    if (isJsonObject(dataJson)) {
      return dataJson;
    }
    StringWriter out = new StringWriter();
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("text/plain", dataJson);
      g.writeEndObject();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return out.toString();
  }

  static boolean isJsonObject(String text) {
    try (JsonParser p = JSON.createParser(text)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return false;
      }
      p.skipChildren();
      return p.nextToken() == null;
    } catch (IOException e) {
      return false;
    }
  }
}
