package io.sparkgate.proto;

import io.netty.handler.codec.CorruptedFrameException;

/**
 * The peer sent bytes that are not a valid frame of this protocol: an unknown opcode, a negative
 * length, a count or string that runs past the end of its frame, a bad enum code, trailing bytes.
 *
 * <p>The byte stream cannot be trusted after this, so {@link FrameCodec} drops everything it
 * receives afterwards and the connection should be closed. It is a {@link CorruptedFrameException}
 * (a Netty {@code DecoderException}) so that generic Netty error handling treats it as such.
 */
public class ProtocolException extends CorruptedFrameException {

  public ProtocolException(String message) {
    super(message);
  }
}
