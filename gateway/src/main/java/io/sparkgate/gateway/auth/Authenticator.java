package io.sparkgate.gateway.auth;

import io.vertx.core.Future;
import io.vertx.core.http.HttpServerRequest;

/**
 * Checks the credentials of one HTTP request: one implementation per {@code sparkgate.auth.type}.
 *
 * <p>{@link #authenticate} is called on an event loop and must not block it: a check that does IO
 * (an LDAP bind, a keytab read) runs on {@link AuthWorkers}. The {@link AuthHandler} in front of
 * every route calls it and answers 401 with {@link #challenge()} when it fails.
 */
public interface Authenticator {

  /** The value of {@code WWW-Authenticate} in a 401, e.g. {@code Basic realm="sparkgate"}. */
  String challenge();

  /**
   * The user the request's credentials prove, or a failed future with an
   * {@link AuthenticationException} whose message may be shown to the client (it never repeats a
   * credential).
   *
   * @param authorization the request's {@code Authorization} header, never null
   */
  Future<Authenticated> authenticate(HttpServerRequest request, String authorization);

  /**
   * Runs a check that fails once, at start-up and off the event loops, so that the first real
   * request does not pay for loading and linking the check's classes on an event loop. Only for
   * checks that need no network.
   */
  default void warmUp() {
  }

  /**
   * A proven identity.
   *
   * @param user the user name (owner of what it creates, subject of access control)
   * @param responseChallenge a {@code WWW-Authenticate} value to send with the answer (SPNEGO's
   *     mutual authentication token), or null
   */
  record Authenticated(String user, String responseChallenge) {
    public Authenticated {
      java.util.Objects.requireNonNull(user, "user");
    }
  }
}
