package io.sparkgate.proto;

/** The two sides have no protocol version in common. Retrying with the same builds cannot help. */
public class UnsupportedProtocolVersionException extends HandshakeException {
  public UnsupportedProtocolVersionException(String message) {
    super(Handshake.RejectReason.UNSUPPORTED_VERSION, message);
  }
}
