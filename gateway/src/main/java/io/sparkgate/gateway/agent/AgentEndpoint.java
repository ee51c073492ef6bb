package io.sparkgate.gateway.agent;

import io.sparkgate.proto.Command;

/**
 * The gateway's end of one session's link to its driver-agent. It outlives any single TCP connection:
 * commands sent while the agent is away are kept and delivered, in order, once it dials back.
 */
public interface AgentEndpoint {

  /**
   * Queues {@code command} for the agent. Delivered in order, at least once; the agent drops
   * duplicates. Callable from any thread, never blocks.
   *
   * @return false when the endpoint is closed or its bounded queue is full (the caller answers the
   *     client with an error instead of queueing more)
   */
  boolean send(Command command);

  /** Whether an authenticated agent connection is up right now. */
  boolean connected();
}
