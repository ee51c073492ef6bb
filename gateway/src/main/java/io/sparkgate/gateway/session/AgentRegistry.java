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

  /** Forgets the session: its agent, connected or not, is closed or refused from now on. */
  void unregister(int sessionId);

  /** Whether agents can dial in now (the gateway's readiness check). */
  default boolean listening() {
    return true;
  }
}
