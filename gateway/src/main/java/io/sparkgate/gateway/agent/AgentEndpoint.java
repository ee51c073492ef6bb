package io.sparkgate.gateway.agent;

import io.sparkgate.gateway.session.AgentRegistry;
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

  /** The sequence number of the last command queued (0 before the first). */
  default long lastCommandSeq() {
    return 0;
  }

  /**
   * The sequence number of the event being delivered: valid inside
   * {@link AgentSessionHandler#agentEvent}, on the session's context.
   */
  default long appliedEventSeq() {
    return 0;
  }

  /**
   * Acknowledges to the agent every event up to {@code seq}, for links registered with
   * {@link AgentRegistry.LinkOptions#holderAcks()}: the holder calls it once those events are
   * durable, so an agent never drops an event a restarted gateway would miss. Any thread.
   */
  default void acknowledge(long seq) {}
}
