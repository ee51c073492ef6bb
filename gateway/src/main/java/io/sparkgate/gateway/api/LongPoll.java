package io.sparkgate.gateway.api;

import io.sparkgate.gateway.session.InteractiveSession;
import io.sparkgate.gateway.session.SessionEvent;
import io.sparkgate.gateway.session.SessionEventLog;
import io.sparkgate.gateway.session.Statement;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;

/**
 * A long-poll of one statement ({@code GET /sessions/{id}/statements/{sid}?wait=S}): waits on the
 * session's context for the statement's last event (a final state) or the end of the wait, then
 * hands the statement's value at that moment back to the request's context. No thread waits: the
 * poll is a listener on the session's event log and a timer, both dropped when it answers or the
 * client goes away.
 */
final class LongPoll implements SessionEventLog.Listener {

  private final Vertx vertx;
  private final InteractiveSession session;
  private final int statement;
  private final Context caller;
  private final Promise<Statement> answer = Promise.promise();
  // Session's context only.
  private long timer = -1;
  private boolean done;

  private LongPoll(Vertx vertx, InteractiveSession session, int statement, Context caller) {
    this.vertx = vertx;
    this.session = session;
    this.statement = statement;
    this.caller = caller;
  }

  /**
   * Answers, on the caller's context, with statement {@code statement} once it has ended or after
   * {@code waitMillis}, whichever comes first; null when it is no longer kept. Nothing is answered
   * when the client goes away first.
   */
  static Future<Statement> await(Vertx vertx, InteractiveSession session, int statement, long waitMillis,
      HttpServerRequest request) {
    LongPoll poll = new LongPoll(vertx, session, statement, Vertx.currentContext());
    session.events().context().runOnContext(v -> poll.start(waitMillis));
    request.connection().closeHandler(v -> session.events().context().runOnContext(w -> poll.finish(false)));
    return poll.answer.future();
  }

  private void start(long waitMillis) {
    if (done) {
      return;
    }
    Statement now = session.statement(statement);
    if (now == null || now.state().isFinal()) {
      finish(true);
      return;
    }
    session.events().subscribe(this);
    timer = vertx.setTimer(waitMillis, t -> {
      timer = -1;
      finish(true);
    });
  }

  @Override
  public void onEvent(SessionEvent e) {
    if (e.of(statement) && e.mark() == SessionEvent.Mark.LAST) {
      finish(true);
    }
  }

  private void finish(boolean reply) {
    if (done) {
      return;
    }
    done = true;
    session.events().unsubscribe(this);
    if (timer >= 0) {
      vertx.cancelTimer(timer);
      timer = -1;
    }
    if (reply) {
      Statement now = session.statement(statement);
      caller.runOnContext(v -> answer.complete(now));
    }
  }
}
