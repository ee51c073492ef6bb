package io.sparkgate.proto;

/** Messages that keep a connection alive and its streams acknowledged. Never sequenced. */
public sealed interface Control extends Message {

  /** Either direction, whenever a side has sent nothing for a heartbeat interval. */
  record Heartbeat() implements Control {
    public static final Heartbeat INSTANCE = new Heartbeat();
  }

  /**
   * Either direction: every sequenced message up to and including {@code seq} was received and
   * applied; the sender may forget them.
   */
  record Ack(long seq) implements Control {}
}
