package io.sparkgate.proto;

/** The agent's proof did not match the session secret. Retrying with the same secret cannot help. */
public class AuthenticationFailedException extends HandshakeException {
  public AuthenticationFailedException(String message) {
    super(Handshake.RejectReason.AUTH_FAILED, message);
  }
}
