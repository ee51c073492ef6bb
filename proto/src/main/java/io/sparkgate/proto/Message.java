package io.sparkgate.proto;

/**
 * A message of the gateway-agent protocol. The records in this package are the whole vocabulary;
 * {@link FrameCodec} is the only place that turns them into bytes and back.
 *
 * <p>Three families:
 * <ul>
 *   <li>{@link Handshake} messages open a connection (version and authentication);</li>
 *   <li>{@link Control} messages (heartbeat, acknowledgement) are never sequenced;</li>
 *   <li>{@link Command}s (gateway to agent) and {@link Event}s (agent to gateway) are carried in a
 *       {@link Sequenced} envelope, acknowledged by the receiver and replayed after a reconnect
 *       until acknowledged.</li>
 * </ul>
 */
public sealed interface Message permits Handshake, Control, Sequenced {}
