package io.sparkgate.proto;

import io.netty.channel.ChannelHandlerContext;

/**
 * The agent's side of the handshake (see {@link ServerHandshake} for the exchange), as a pipeline
 * handler placed right after {@link FrameCodec} (one per connection; not sharable). It sends Hello
 * as soon as the channel is active, answers the Challenge with a proof of the session secret, and
 * on Welcome removes itself and fires {@link HandshakeCompleted} (whose {@code peerLastSeq} is the
 * gateway's last event seq) to the next handler.
 *
 * <p>A Reject fails it with {@link UnsupportedProtocolVersionException},
 * {@link AuthenticationFailedException} or a {@link HandshakeException} carrying the
 * {@link HandshakeException#reason() reason}; so does a Challenge for a version this side did not
 * offer, any other message, a malformed frame or the timeout. The failure is fired down the
 * pipeline, reported by {@link #outcome()}, and the channel is closed.
 */
public final class ClientHandshake extends HandshakeHandler {
  private final int sessionId;
  private final byte[] secret;
  private final long lastCommandSeq;
  private final int minVersion;
  private final int maxVersion;
  private int version = -1;

  /**
   * Offers every version this build supports.
   *
   * @param lastCommandSeq the highest command seq the agent has received (0 if none); the gateway
   *     replays the commands after it
   */
  public ClientHandshake(int sessionId, byte[] secret, long lastCommandSeq, long timeoutMillis) {
    this(sessionId, secret, lastCommandSeq, timeoutMillis, ProtocolVersion.MIN_SUPPORTED, ProtocolVersion.MAX_SUPPORTED);
  }

  /** Offers the versions {@code [minVersion, maxVersion]}. */
  public ClientHandshake(
      int sessionId, byte[] secret, long lastCommandSeq, long timeoutMillis, int minVersion, int maxVersion) {
    super(timeoutMillis);
    if (secret.length == 0) {
      throw new IllegalArgumentException("empty secret");
    }
    if (lastCommandSeq < 0) {
      throw new IllegalArgumentException("lastCommandSeq must not be negative: " + lastCommandSeq);
    }
    if (minVersion > maxVersion) {
      throw new IllegalArgumentException("minVersion " + minVersion + " > maxVersion " + maxVersion);
    }
    this.sessionId = sessionId;
    this.secret = secret.clone();
    this.lastCommandSeq = lastCommandSeq;
    this.minVersion = minVersion;
    this.maxVersion = maxVersion;
  }

  @Override
  void start(ChannelHandlerContext ctx) {
    send(ctx, new Handshake.Hello(minVersion, maxVersion, sessionId));
  }

  @Override
  void onMessage(ChannelHandlerContext ctx, Handshake message) {
    if (message instanceof Handshake.Reject reject) {
      fail(ctx, rejected(reject));
    } else if (version < 0 && message instanceof Handshake.Challenge challenge) {
      onChallenge(ctx, challenge);
    } else if (version >= 0 && message instanceof Handshake.Welcome welcome) {
      succeed(ctx, new HandshakeCompleted(
          version, sessionId, welcome.lastEventSeq(), welcome.heartbeatIntervalMillis()));
    } else {
      fail(ctx, new HandshakeException(
          message.getClass().getSimpleName() + " received while waiting for "
              + (version < 0 ? "Challenge" : "Welcome")));
    }
  }

  private void onChallenge(ChannelHandlerContext ctx, Handshake.Challenge challenge) {
    if (challenge.version() < minVersion || challenge.version() > maxVersion) {
      fail(ctx, new UnsupportedProtocolVersionException(
          "gateway chose protocol version " + challenge.version() + ", agent speaks "
              + minVersion + " to " + maxVersion));
      return;
    }
    version = challenge.version();
    byte[] proof = AgentAuth.proof(secret, version, sessionId, challenge.nonce());
    send(ctx, new Handshake.Auth(proof, lastCommandSeq));
  }

  private HandshakeException rejected(Handshake.Reject reject) {
    String text = "gateway rejected the agent of session " + sessionId + " (" + reject.reasonCode() + "): "
        + reject.reason();
    return switch (reject.reasonCode()) {
      case UNSUPPORTED_VERSION -> new UnsupportedProtocolVersionException(text);
      case AUTH_FAILED -> new AuthenticationFailedException(text);
      case UNKNOWN_SESSION, SESSION_CLOSED -> new HandshakeException(reject.reasonCode(), text);
    };
  }
}
