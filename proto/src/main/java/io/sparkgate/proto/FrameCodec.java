package io.sparkgate.proto;

import io.netty.channel.CombinedChannelDuplexHandler;

/**
 * Turns the bytes of a gateway-agent connection into {@link Message}s and back. Add one per
 * channel, first in the pipeline (after TLS, if any); it keeps decoding state, so it is not
 * sharable.
 *
 * <p>Every message is one frame:
 *
 * <pre>
 * +----------------+--------+---------------------------------+
 * | length (int32) | opcode |  body                           |
 * |                |  (u8)  |  (length - 1 bytes)             |
 * +----------------+--------+---------------------------------+
 *  <-- 4 bytes --> <------------- length bytes --------------->
 *
 * A sequenced command or event (the opcode names the payload type):
 * +----------------+--------+--------------+------------------+
 * | length (int32) | opcode | seq (int64)  | payload fields   |
 * +----------------+--------+--------------+------------------+
 * </pre>
 *
 * All integers are big-endian. A string is an int32 byte count followed by that many bytes of
 * UTF-8; a byte array is an int32 count and the bytes; a list is an int32 item count and the
 * items; an enum is a one-byte code from {@link ProtocolConstants} (never its ordinal); a boolean
 * is one byte, 0 or 1. {@code proto/README.md} lists every body.
 *
 * <p>Errors. A length prefix above {@code maxFrameLength} fails with Netty's
 * {@code TooLongFrameException} as soon as the prefix is read, before any of the body is buffered;
 * a malformed frame (unknown opcode, negative length, a field past the end of the frame, trailing
 * bytes, a bad enum code) fails with {@link ProtocolException}. Both reach the pipeline's
 * {@code exceptionCaught}; after either the codec discards all further input and the handler
 * that catches it should close the channel. On the way out, a message whose frame would exceed
 * {@code maxFrameLength} fails its write future (an {@code EncoderException} caused by a
 * {@code TooLongFrameException}) and nothing is sent.
 *
 * <p>Built only from long-stable Netty API ({@code ByteToMessageDecoder},
 * {@code MessageToByteEncoder}, {@code ByteBuf}) because the agent runs against whatever Netty 4.x
 * the Spark driver ships.
 */
public final class FrameCodec extends CombinedChannelDuplexHandler<FrameDecoder, FrameEncoder> {

  /** A codec with the {@link ProtocolConstants#DEFAULT_MAX_FRAME_LENGTH default} frame cap. */
  public FrameCodec() {
    this(ProtocolConstants.DEFAULT_MAX_FRAME_LENGTH);
  }

  /**
   * @param maxFrameLength the largest length prefix (opcode plus body, in bytes) accepted in either
   *     direction
   */
  public FrameCodec(int maxFrameLength) {
    super(new FrameDecoder(checkMax(maxFrameLength)), new FrameEncoder(maxFrameLength));
  }

  private static int checkMax(int maxFrameLength) {
    if (maxFrameLength < ProtocolConstants.OPCODE_LENGTH) {
      throw new IllegalArgumentException("maxFrameLength must be at least 1: " + maxFrameLength);
    }
    return maxFrameLength;
  }
}
