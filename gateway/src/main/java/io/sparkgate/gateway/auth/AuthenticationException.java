package io.sparkgate.gateway.auth;

/**
 * Credentials missing or wrong: the request is answered 401. The message goes to the client and to
 * the log, so it never holds a credential. Carries no stack trace: it is control flow.
 */
public final class AuthenticationException extends RuntimeException {
  public AuthenticationException(String message) {
    super(message, null, false, false);
  }
}
