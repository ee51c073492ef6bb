package io.sparkgate.proto;

/**
 * A connection's handshake failed: the peer refused it, sent something out of order, went silent
 * or closed. {@link #reason()} is the {@link Handshake.RejectReason} involved, when there is one:
 * the reason the gateway sent (server side) or received (agent side).
 *
 * <p>The agent uses the reason to decide whether dialing again can help; see
 * {@link Handshake.RejectReason}.
 */
public class HandshakeException extends RuntimeException {
  private final Handshake.RejectReason reason;

  public HandshakeException(Handshake.RejectReason reason, String message) {
    super(message);
    this.reason = reason;
  }

  /** A failure without a reject reason (timeout, closed connection, unexpected message). */
  public HandshakeException(String message) {
    this(null, message);
  }

  /** The reject reason sent or received, or null if the handshake failed without one. */
  public Handshake.RejectReason reason() {
    return reason;
  }
}
