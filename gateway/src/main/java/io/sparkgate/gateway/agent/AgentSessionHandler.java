package io.sparkgate.gateway.agent;

import io.sparkgate.proto.Event;

/**
 * What a session hears from its agent. Every call arrives on the Vert.x context the session was
 * registered with, so the session can keep its state confined to that context.
 */
public interface AgentSessionHandler {

  /** An agent proved it holds the session's secret and is connected. */
  void agentConnected();

  /** An event, delivered once, in the agent's order. */
  void agentEvent(Event event);

  /** The connection dropped; the agent may dial back (events it had not had acknowledged are replayed). */
  void agentDisconnected(Throwable cause);

  /**
   * The link failed the same way several times in a row (say, a frame it cannot decode, replayed
   * on every reconnect) and the gateway gave up on it: the agent is refused from now on. The session
   * ends with {@code reason}.
   */
  void agentFailed(String reason);
}
