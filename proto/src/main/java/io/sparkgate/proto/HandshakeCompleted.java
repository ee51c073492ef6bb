package io.sparkgate.proto;

/**
 * User event fired down the pipeline by {@link ServerHandshake} and {@link ClientHandshake} once
 * the connection is authenticated, after the handshake handler removed itself. The handler after
 * it starts the session's traffic: replay what the peer has not received, then send new messages.
 *
 * @param version the negotiated protocol version
 * @param sessionId the gateway session the agent serves
 * @param peerLastSeq the highest sequence number the peer has received from this side, 0 if none:
 *     on the gateway the agent's last command seq (from Auth), on the agent the gateway's last
 *     event seq (from Welcome). Replay everything after it.
 * @param heartbeatIntervalMillis the heartbeat interval both sides use (from Welcome)
 */
public record HandshakeCompleted(int version, int sessionId, long peerLastSeq, int heartbeatIntervalMillis) {}
