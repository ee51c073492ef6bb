package io.sparkgate.gateway.session;

/**
 * What sessions tell the outside about themselves as it happens (today: the gateway's metrics).
 * Called on the session's context; an implementation must be quick and must not throw.
 */
public interface SessionObserver {

  /** Observes nothing. */
  SessionObserver NONE = new SessionObserver() {};

  /** A statement reached a final state (available, error or cancelled). */
  default void statementEnded(Statement statement) {}

  /**
   * A session became idle for the first time.
   *
   * @param kind its kind, or null for a shared session
   * @param startMillis from its creation to its driver's agent reporting ready
   */
  default void sessionReady(Kind kind, long startMillis) {}

  /**
   * A session's agent connected.
   *
   * @param reconnect whether it had been connected before (the driver dialed back)
   */
  default void agentConnected(boolean reconnect) {}
}
