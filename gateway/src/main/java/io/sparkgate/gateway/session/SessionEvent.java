package io.sparkgate.gateway.session;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * One change of a session, as its {@link SessionEventLog} numbers it: the id (per session, strictly
 * increasing), a type, the statement it belongs to (or {@link #NO_STATEMENT}) and its data, one JSON
 * value already rendered, so that every reader writes the same bytes. Immutable.
 *
 * <p>The renderings for the two push transports (an SSE frame, a WebSocket text message) are made
 * on first use and kept: one event is written to every subscriber, often thousands.
 */
public final class SessionEvent {

  /** The session object, as {@code GET /sessions/{id}} returns it. */
  public static final String SESSION = "session";
  /** A statement object, as {@code GET /sessions/{id}/statements/{sid}} returns it. */
  public static final String STATEMENT = "statement";
  /** A piece of a running statement's output: {@code {"statement", "stream", "text"}}. */
  public static final String OUTPUT = "output";
  /** New lines of the session log: {@code {"lines": [...]}}. */
  public static final String LOG = "log";

  /** {@link #statement()} of an event that belongs to no statement. */
  public static final int NO_STATEMENT = -1;

  /** Where an event stands among its statement's events. */
  public enum Mark {
    /** Neither the first nor the last. */
    NONE,
    /** The first event of its statement (it was submitted). */
    FIRST,
    /** The last event of its statement (it reached a final state). */
    LAST
  }

  private final long id;
  private final String type;
  private final int statement;
  private final Mark mark;
  private final Buffer data;
  /** Renderings for the transports, made on first use; racing first uses make equal values. */
  private volatile Buffer sse;
  private volatile String ws;

  /**
   * @param id the per-session id, 1 for the first event
   * @param type what changed ({@link #SESSION}, {@link #STATEMENT}, {@link #OUTPUT}, {@link #LOG},
   *     or a type of another session-like thing); a word of ASCII letters
   * @param statement the statement (or other sub-object) the event belongs to, else {@link #NO_STATEMENT}
   * @param mark whether the event opens or closes its statement's events
   * @param data the event's data: one JSON value on one line
   */
  public SessionEvent(long id, String type, int statement, Mark mark, Buffer data) {
    if (id < 1) {
      throw new IllegalArgumentException("event ids start at 1: " + id);
    }
    this.id = id;
    this.type = Objects.requireNonNull(type, "type");
    this.statement = statement;
    this.mark = Objects.requireNonNull(mark, "mark");
    this.data = Objects.requireNonNull(data, "data");
  }

  public long id() {
    return id;
  }

  public String type() {
    return type;
  }

  public int statement() {
    return statement;
  }

  public Mark mark() {
    return mark;
  }

  /** The data, one line of JSON. Do not modify. */
  public Buffer data() {
    return data;
  }

  /** Bytes this event holds, roughly: its data and the frames made of it. For the log's bounds. */
  public long size() {
    return 96L + 2L * data.length();
  }

  /** Whether the event belongs to statement {@code statementId}. */
  public boolean of(int statementId) {
    return statement == statementId && statementId != NO_STATEMENT;
  }

  /** The event as one Server-Sent Events frame: {@code id:}, {@code event:}, {@code data:}, a blank line. */
  public Buffer sseFrame() {
    Buffer b = sse;
    if (b == null) {
      b = Buffer.buffer(data.length() + type.length() + 40);
      b.appendString("id: " + id + "\nevent: " + type + "\ndata: ", "US-ASCII");
      b.appendBuffer(data);
      b.appendString("\n\n", "US-ASCII");
      sse = b;
    }
    return b;
  }

  /** The event as one WebSocket text message: {@code {"id": n, "event": type, "data": ...}}. */
  public String webSocketText() {
    String s = ws;
    if (s == null) {
      s = "{\"id\":" + id + ",\"event\":\"" + type + "\",\"data\":" + data.toString(StandardCharsets.UTF_8) + "}";
      ws = s;
    }
    return s;
  }

  @Override
  public String toString() {
    return "SessionEvent[" + id + ", " + type + (statement == NO_STATEMENT ? "" : ", statement " + statement) + "]";
  }
}
