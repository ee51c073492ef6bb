package io.sparkgate.proto;

/**
 * Where {@link ServerHandshake} finds the secret of the session an agent claims to serve. Called on
 * the connection's event loop: it must answer from memory, without blocking.
 */
@FunctionalInterface
public interface SecretLookup {
  /** The session's secret, or null if the gateway knows no such session. The array is not modified. */
  byte[] secretFor(int sessionId);
}
