package io.sparkgate.proto;

import java.util.Arrays;
import java.util.Objects;

/** Messages that open a connection, in this order: Hello, Challenge, Auth, then Welcome or Reject. */
public sealed interface Handshake extends Message {

  /**
   * Agent to gateway, first frame: the protocol versions the agent speaks and the session it serves.
   *
   * @param minVersion lowest protocol version the agent accepts
   * @param maxVersion highest protocol version the agent accepts
   * @param sessionId the gateway session this agent was launched for
   */
  record Hello(int minVersion, int maxVersion, int sessionId) implements Handshake {}

  /**
   * Gateway to agent: the version chosen and a fresh random nonce to prove the secret with.
   *
   * @param version the protocol version both sides speak from now on
   * @param nonce {@link ProtocolVersion#NONCE_LENGTH} random bytes, never reused
   */
  record Challenge(int version, byte[] nonce) implements Handshake {
    public Challenge {
      Objects.requireNonNull(nonce, "nonce");
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Challenge c && c.version == version && Arrays.equals(c.nonce, nonce);
    }

    @Override
    public int hashCode() {
      return 31 * version + Arrays.hashCode(nonce);
    }

    @Override
    public String toString() {
      return "Challenge[version=" + version + "]";
    }
  }

  /**
   * Agent to gateway: proof that the agent holds the session secret, and where its command stream
   * stopped so that the gateway replays what follows.
   *
   * @param proof HMAC-SHA256 of the challenge under the session secret (see {@link AgentAuth})
   * @param lastCommandSeq the highest command sequence number the agent has received, 0 if none
   */
  record Auth(byte[] proof, long lastCommandSeq) implements Handshake {
    public Auth {
      Objects.requireNonNull(proof, "proof");
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof Auth a && a.lastCommandSeq == lastCommandSeq && Arrays.equals(a.proof, proof);
    }

    @Override
    public int hashCode() {
      return 31 * Long.hashCode(lastCommandSeq) + Arrays.hashCode(proof);
    }

    @Override
    public String toString() {
      return "Auth[lastCommandSeq=" + lastCommandSeq + "]";
    }
  }

  /**
   * Gateway to agent: the agent is accepted.
   *
   * @param lastEventSeq the highest event sequence number the gateway has received, 0 if none;
   *     the agent replays every event after it
   * @param heartbeatIntervalMillis how often each side sends a heartbeat when otherwise idle
   */
  record Welcome(long lastEventSeq, int heartbeatIntervalMillis) implements Handshake {}

  /**
   * Gateway to agent, then the gateway closes the connection.
   *
   * @param reasonCode what went wrong, so the agent knows whether to retry
   * @param reason why, in words, for the agent's log
   */
  record Reject(RejectReason reasonCode, String reason) implements Handshake {
    public Reject {
      Objects.requireNonNull(reasonCode, "reasonCode");
      Objects.requireNonNull(reason, "reason");
    }
  }

  /** Why a handshake was refused. The agent gives up on AUTH and UNKNOWN_SESSION, retries on others. */
  enum RejectReason {
    UNSUPPORTED_VERSION,
    UNKNOWN_SESSION,
    AUTH_FAILED,
    SESSION_CLOSED
  }
}
