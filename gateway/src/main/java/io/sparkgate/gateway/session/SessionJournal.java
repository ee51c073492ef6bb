package io.sparkgate.gateway.session;

import io.sparkgate.gateway.store.RecordWriter;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;

/**
 * The sessions' hook into the state store: what a session and the manager call on each change that
 * must survive a restart. Writes go to the {@link RecordWriter} (off the event loop, in order per
 * session); each call returns a future that completes, on a store thread, once the change is
 * durable. With recovery off ({@link #OFF}) nothing is written and every future is already complete.
 */
public final class SessionJournal {

  /** Recovery off: nothing is stored. */
  public static final SessionJournal OFF = new SessionJournal(null);

  private static final String IDS_GROUP = "ids";

  private volatile RecordWriter writer;

  /** A journal writing through {@code writer}; null writes nothing until {@link #attach}. */
  public SessionJournal(RecordWriter writer) {
    this.writer = writer;
  }

  /** Starts writing through {@code w} (the store opened after the manager was built). Once, before any session. */
  public void attach(RecordWriter w) {
    if (this == OFF || writer != null) {
      throw new IllegalStateException("this journal already has its writer");
    }
    writer = w;
  }

  /** Whether changes are stored (recovery on). */
  public boolean enabled() {
    return writer != null;
  }

  Future<Void> nextSessionId(int next) {
    RecordWriter writer = this.writer;
    return writer == null ? Future.succeededFuture()
        : writer.put(IDS_GROUP, SessionRecords.SESSION_IDS, SessionRecords.encodeNextId(next));
  }

  Future<Void> session(SessionRecords.SessionRecord r) {
    RecordWriter writer = this.writer;
    return writer == null ? Future.succeededFuture()
        : writer.put(group(r.id()), SessionRecords.sessionKey(r.id()), SessionRecords.encodeSession(r));
  }

  Future<Void> statement(int sessionId, Statement s, long executeSeq) {
    RecordWriter writer = this.writer;
    return writer == null ? Future.succeededFuture()
        : writer.put(group(sessionId), SessionRecords.statementKey(sessionId, s.id()),
            SessionRecords.encodeStatement(s, executeSeq));
  }

  Future<Void> removed(int sessionId) {
    RecordWriter writer = this.writer;
    return writer == null ? Future.succeededFuture() : writer.delete(group(sessionId), SessionRecords.sessionKey(sessionId));
  }

  /** Completes once everything queued so far for session {@code sessionId} is durable. */
  Future<Void> flushed(int sessionId) {
    RecordWriter writer = this.writer;
    return writer == null ? Future.succeededFuture() : writer.barrier(group(sessionId));
  }

  private static String group(int sessionId) {
    return "session-" + sessionId;
  }

  /** {@code f}, completing on {@code context} (store futures complete on a store thread). */
  static <T> Future<T> on(Context context, Future<T> f) {
    if (f.isComplete()) {
      return f;
    }
    Promise<T> p = Promise.promise();
    f.onComplete(ar -> context.runOnContext(v -> p.handle(ar)));
    return p.future();
  }
}
