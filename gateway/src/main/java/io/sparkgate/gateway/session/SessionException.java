package io.sparkgate.gateway.session;

import java.util.Objects;

/**
 * A request on a session that cannot be honoured, with the reason a client is told. Carries no stack
 * trace: it is control flow, not a bug.
 */
public final class SessionException extends RuntimeException {

  /** Why; the REST layer maps each to an HTTP status. */
  public enum Reason {
    /** The request itself is wrong (400). */
    BAD_REQUEST,
    /** No such session or statement (404). */
    NOT_FOUND,
    /** A limit was reached; retry later (429). */
    TOO_MANY,
    /** The gateway or the session cannot take it now (503). */
    UNAVAILABLE,
    /**
     * The most sessions the gateway runs at once are alive; the status is configured
     * ({@code sparkgate.session.limit-status}: Livy's 400 by default).
     */
    SESSION_LIMIT,
    /** The driver did not answer in time (504). */
    TIMEOUT
  }

  private final Reason reason;

  public SessionException(Reason reason, String message) {
    super(message, null, false, false);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  public Reason reason() {
    return reason;
  }

  static SessionException badRequest(String message) {
    return new SessionException(Reason.BAD_REQUEST, message);
  }

  static SessionException notFound(String message) {
    return new SessionException(Reason.NOT_FOUND, message);
  }
}
