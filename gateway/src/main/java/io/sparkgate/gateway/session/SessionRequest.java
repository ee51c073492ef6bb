package io.sparkgate.gateway.session;

import io.sparkgate.gateway.launch.SparkAppRequest;
import java.util.Objects;

/**
 * A validated request to create an interactive session (the body of {@code POST /sessions}).
 *
 * @param name a unique name, or null
 * @param kind the default kind of its statements, or null for a shared session
 * @param heartbeatTimeoutSeconds stop the session when no client called it for this long; 0 never
 * @param app what the Spark application is asked for
 */
public record SessionRequest(String name, Kind kind, int heartbeatTimeoutSeconds, SparkAppRequest app) {
  public SessionRequest {
    if (heartbeatTimeoutSeconds < 0) {
      throw new IllegalArgumentException("heartbeatTimeoutSeconds must not be negative");
    }
    Objects.requireNonNull(app, "app");
  }

  /** This request with {@code app} instead (e.g. the proxy user access control settled). */
  public SessionRequest withApp(SparkAppRequest app) {
    return new SessionRequest(name, kind, heartbeatTimeoutSeconds, app);
  }
}
