package io.sparkgate.gateway.session;

import io.sparkgate.gateway.agent.AgentEndpoint;
import io.sparkgate.gateway.agent.AgentSessionHandler;
import io.vertx.core.Context;

/**
 * Where sessions meet their agents: the agent server, as sessions see it. A session registers
 * before its driver is launched, so the agent is expected when it dials in, and unregisters once its
 * driver is gone, so a late agent is turned away.
 */
public interface AgentRegistry {

  /**
   * Expects the agent of session {@code sessionId}, which proves it holds {@code secret}.
   *
   * @param context the context every {@code handler} call arrives on (the session's)
   * @return the session's end of the link; commands sent before the agent connects are queued
   */
  AgentEndpoint register(int sessionId, byte[] secret, Context context, AgentSessionHandler handler);

  /**
   * How a link starts: fresh (a new session) or resumed (a session read back from the state store
   * after a gateway restart, whose agent dials back).
   *
   * @param lastEventSeq the last event stored; the agent replays the rest
   * @param resumed whether the command stream continues after whatever the agent says it holds
   *     (the restarted gateway lost its unacknowledged commands)
   * @param lostCommands commands stored with their original sequence numbers, sent again in order
   *     when the agent turns out not to have them (its last command is below their seq)
   * @param holderAcks events are acknowledged only through {@link AgentEndpoint#acknowledge}, once
   *     the holder made them durable; otherwise after each batch of reads
   */
  record LinkOptions(long lastEventSeq, boolean resumed, java.util.List<io.sparkgate.proto.Sequenced> lostCommands,
      boolean holderAcks) {
    public static final LinkOptions NEW = new LinkOptions(0, false, java.util.List.of(), false);

    public LinkOptions {
      lostCommands = java.util.List.copyOf(lostCommands);
    }
  }

  /** As {@link #register(int, byte[], Context, AgentSessionHandler)}, resumed or with holder acks. */
  default AgentEndpoint register(int sessionId, byte[] secret, Context context, AgentSessionHandler handler,
      LinkOptions options) {
    if (options.resumed()) {
      throw new UnsupportedOperationException("this registry cannot resume links");
    }
    return register(sessionId, secret, context, handler);
  }

  /** Forgets the session: its agent, connected or not, is closed or refused from now on. */
  void unregister(int sessionId);

  /** Whether agents can dial in now (the gateway's readiness check). */
  default boolean listening() {
    return true;
  }
}
