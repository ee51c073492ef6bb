package io.sparkgate.proto;

/**
 * A sequence number broke the stream's rules: the peer skipped a message (a gap), acknowledged or
 * claimed to have received a message that was never sent, or asked for a replay of messages
 * already dropped. The stream cannot be repaired on this connection; close it.
 */
public class OutOfSequenceException extends RuntimeException {
  public OutOfSequenceException(String message) {
    super(message);
  }
}
