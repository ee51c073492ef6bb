package io.sparkgate.proto;

/** The handshake did not complete within its timeout; the connection was closed. */
public class HandshakeTimeoutException extends HandshakeException {
  public HandshakeTimeoutException(String message) {
    super(message);
  }
}
