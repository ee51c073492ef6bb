package io.sparkgate.gateway.session;

import java.util.Objects;

/**
 * The changing part of a session, published as one immutable value so that a reader sees a state
 * with the application facts that go with it.
 *
 * @param state the session state
 * @param appId the Spark application id, null until the driver reported it
 * @param driverLogUrl where the driver's log can be read (YARN), null when unknown
 * @param sparkUiUrl the Spark web UI, null when unknown or disabled
 */
public record SessionStatus(SessionState state, String appId, String driverLogUrl, String sparkUiUrl) {
  public SessionStatus {
    Objects.requireNonNull(state, "state");
  }

  SessionStatus withState(SessionState next) {
    return new SessionStatus(next, appId, driverLogUrl, sparkUiUrl);
  }
}
