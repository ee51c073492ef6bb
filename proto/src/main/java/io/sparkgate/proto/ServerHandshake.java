package io.sparkgate.proto;

import io.netty.channel.ChannelHandlerContext;

/**
 * The gateway's side of the handshake, as a pipeline handler placed right after {@link FrameCodec}
 * (one per connection; not sharable).
 *
 * <pre>
 * agent                                   gateway (this handler)
 *   | Hello(minVersion, maxVersion, sessionId) |
 *   |----------------------------------------->|  negotiate version, look up the secret
 *   |            Challenge(version, nonce)     |
 *   |<-----------------------------------------|
 *   | Auth(proof, lastCommandSeq)              |
 *   |----------------------------------------->|  verify proof, admit the session
 *   |   Welcome(lastEventSeq, heartbeat) or    |
 *   |   Reject(reason, text), then close       |
 *   |<-----------------------------------------|
 * </pre>
 *
 * <p>On success it sends Welcome, removes itself and fires {@link HandshakeCompleted} (whose
 * {@code peerLastSeq} is the agent's last command seq) to the next handler, which then owns the
 * connection. On failure it sends Reject where the protocol has a reason for it
 * ({@link UnsupportedProtocolVersionException}, {@link AuthenticationFailedException},
 * UNKNOWN_SESSION, SESSION_CLOSED), fires the {@link HandshakeException} down the pipeline and
 * closes the channel. Any other message before completion, a malformed frame, or no completion
 * within the timeout also fails and closes. {@link #outcome()} reports the same result.
 */
public final class ServerHandshake extends HandshakeHandler {

  /**
   * Decides, after the agent proved the secret, whether the session takes the connection. Called
   * on the event loop; must not block.
   */
  @FunctionalInterface
  public interface Admission {
    /** Returned by {@link #admit} to refuse the connection with SESSION_CLOSED. */
    long CLOSED = -1;

    /**
     * @param agentLastCommandSeq the highest command seq the agent has received
     * @return the highest event seq the gateway has received from this session's agent (0 if
     *     none), sent in Welcome so the agent replays what follows; or {@link #CLOSED}
     */
    long admit(int sessionId, long agentLastCommandSeq);
  }

  private enum State { AWAIT_HELLO, AWAIT_AUTH, DONE }

  private final SecretLookup secrets;
  private final Admission admission;
  private final int heartbeatIntervalMillis;
  private State state = State.AWAIT_HELLO;
  private int version;
  private int sessionId;
  private byte[] secret;
  private byte[] nonce;

  /**
   * @param heartbeatIntervalMillis announced in Welcome; both sides use it for {@link HeartbeatHandler}
   * @param timeoutMillis how long the agent has, from connection to Auth
   */
  public ServerHandshake(
      SecretLookup secrets, Admission admission, int heartbeatIntervalMillis, long timeoutMillis) {
    super(timeoutMillis);
    if (heartbeatIntervalMillis <= 0) {
      throw new IllegalArgumentException("heartbeatIntervalMillis must be positive: " + heartbeatIntervalMillis);
    }
    this.secrets = secrets;
    this.admission = admission;
    this.heartbeatIntervalMillis = heartbeatIntervalMillis;
  }

  @Override
  void start(ChannelHandlerContext ctx) {
    // The agent speaks first.
  }

  @Override
  void onMessage(ChannelHandlerContext ctx, Handshake message) {
    if (state == State.AWAIT_HELLO && message instanceof Handshake.Hello hello) {
      onHello(ctx, hello);
    } else if (state == State.AWAIT_AUTH && message instanceof Handshake.Auth auth) {
      onAuth(ctx, auth);
    } else {
      fail(ctx, new HandshakeException(
          message.getClass().getSimpleName() + " received while waiting for "
              + (state == State.AWAIT_HELLO ? "Hello" : "Auth")));
    }
  }

  private void onHello(ChannelHandlerContext ctx, Handshake.Hello hello) {
    sessionId = hello.sessionId();
    version = ProtocolVersion.negotiate(hello.minVersion(), hello.maxVersion());
    if (version < 0) {
      String text = "agent speaks protocol versions " + hello.minVersion() + " to " + hello.maxVersion()
          + ", gateway speaks " + ProtocolVersion.MIN_SUPPORTED + " to " + ProtocolVersion.MAX_SUPPORTED;
      reject(ctx, Handshake.RejectReason.UNSUPPORTED_VERSION, text,
          new UnsupportedProtocolVersionException(text));
      return;
    }
    secret = secrets.secretFor(sessionId);
    if (secret == null) {
      String text = "unknown session " + sessionId;
      reject(ctx, Handshake.RejectReason.UNKNOWN_SESSION, text,
          new HandshakeException(Handshake.RejectReason.UNKNOWN_SESSION, text));
      return;
    }
    nonce = AgentAuth.newNonce();
    state = State.AWAIT_AUTH;
    send(ctx, new Handshake.Challenge(version, nonce));
  }

  private void onAuth(ChannelHandlerContext ctx, Handshake.Auth auth) {
    boolean valid = AgentAuth.verify(secret, version, sessionId, nonce, auth.proof());
    secret = null;
    nonce = null;
    if (!valid) {
      reject(ctx, Handshake.RejectReason.AUTH_FAILED, "authentication failed",
          new AuthenticationFailedException("agent for session " + sessionId + " sent a wrong proof"));
      return;
    }
    long lastEventSeq = admission.admit(sessionId, auth.lastCommandSeq());
    if (lastEventSeq < 0) {
      String text = "session " + sessionId + " is closed";
      reject(ctx, Handshake.RejectReason.SESSION_CLOSED, text,
          new HandshakeException(Handshake.RejectReason.SESSION_CLOSED, text));
      return;
    }
    state = State.DONE;
    send(ctx, new Handshake.Welcome(lastEventSeq, heartbeatIntervalMillis));
    succeed(ctx, new HandshakeCompleted(version, sessionId, auth.lastCommandSeq(), heartbeatIntervalMillis));
  }

  private void reject(
      ChannelHandlerContext ctx, Handshake.RejectReason reason, String text, HandshakeException cause) {
    state = State.DONE;
    failWith(ctx, cause, new Handshake.Reject(reason, text));
  }
}
