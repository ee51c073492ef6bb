package io.sparkgate.proto;

/** Protocol versions and the constants both sides agree on. */
public final class ProtocolVersion {
  /** The only version so far. Raise it for any change to a frame's layout. */
  public static final int V1 = 1;

  public static final int MIN_SUPPORTED = V1;
  public static final int MAX_SUPPORTED = V1;

  /** Length of the handshake nonce, in bytes. */
  public static final int NONCE_LENGTH = 32;

  private ProtocolVersion() {}

  /**
   * The version to speak with a peer that accepts {@code [peerMin, peerMax]}: the highest both
   * accept, or -1 when the ranges do not meet.
   */
  public static int negotiate(int peerMin, int peerMax) {
    int best = Math.min(peerMax, MAX_SUPPORTED);
    return best >= Math.max(peerMin, MIN_SUPPORTED) ? best : -1;
  }
}
