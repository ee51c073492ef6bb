package io.sparkgate.proto;

import java.util.Objects;

/**
 * A command or event with its sequence number. Each direction numbers its own stream from 1, without
 * gaps; the receiver applies a message once (it skips any {@code seq} it has already seen) and
 * acknowledges it with {@link Control.Ack}.
 */
public record Sequenced(long seq, Payload payload) implements Message {
  public Sequenced {
    if (seq <= 0) {
      throw new IllegalArgumentException("seq must be positive: " + seq);
    }
    Objects.requireNonNull(payload, "payload");
  }

  /** What a sequenced message carries. */
  public sealed interface Payload permits Command, Event {}
}
