package io.sparkgate.proto;

/** An {@link Outbox} was closed (its session ended); the message was not accepted. */
public class OutboxClosedException extends IllegalStateException {
  public OutboxClosedException(String reason) {
    super("outbox closed: " + reason);
  }
}
