package io.sparkgate.gateway.session;

import io.sparkgate.gateway.launch.SparkAppRequest;
import java.util.Objects;

/**
 * A validated request to create an interactive session (the body of {@code POST /sessions}).
 *
 * @param name a unique name, or null
 * @param kind the default kind of its statements, or null for a shared session
 * @param heartbeatTimeoutSeconds stop the session when no client called it for this long; 0 never
 * @param ttl stop the session this long after it was created (Livy 0.9's {@code ttl}), or null
 * @param idleTimeout stop the session when it ran no statement for this long, in place of the
 *     gateway's idle timeout (Livy 0.9's {@code idleTimeout}), or null
 * @param app what the Spark application is launched with (its files resolved)
 * @param requested the application fields as the client wrote them, shown back in the session's
 *     JSON as Livy does; null when the same as {@code app}
 */
public record SessionRequest(String name, Kind kind, int heartbeatTimeoutSeconds, SessionTimeout ttl,
    SessionTimeout idleTimeout, SparkAppRequest app, SparkAppRequest requested) {
  public SessionRequest {
    if (heartbeatTimeoutSeconds < 0) {
      throw new IllegalArgumentException("heartbeatTimeoutSeconds must not be negative");
    }
    Objects.requireNonNull(app, "app");
  }

  /** A request as the client wrote it. */
  public SessionRequest(String name, Kind kind, int heartbeatTimeoutSeconds, SessionTimeout ttl,
      SessionTimeout idleTimeout, SparkAppRequest app) {
    this(name, kind, heartbeatTimeoutSeconds, ttl, idleTimeout, app, null);
  }

  /** A request without ttl or idleTimeout. */
  public SessionRequest(String name, Kind kind, int heartbeatTimeoutSeconds, SparkAppRequest app) {
    this(name, kind, heartbeatTimeoutSeconds, null, null, app);
  }

  /** This request launched with {@code resolved} (its files resolved), showing what was asked. */
  public SessionRequest withApp(SparkAppRequest resolved) {
    return new SessionRequest(name, kind, heartbeatTimeoutSeconds, ttl, idleTimeout, resolved, shown());
  }

  /** The application fields as the client wrote them. */
  public SparkAppRequest shown() {
    return requested != null ? requested : app;
  }
}
