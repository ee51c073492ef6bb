package io.sparkgate.proto;

import static io.sparkgate.proto.ProtocolConstants.HEADER_LENGTH;
import static io.sparkgate.proto.ProtocolConstants.SEQ_LENGTH;

import java.util.List;

/**
 * The exact number of bytes a message occupies on the wire, computed without encoding it and
 * without Netty. {@link FrameCodec} allocates its output buffer with it; {@link Outbox} bounds its
 * memory with it; a sender can use it to keep a message under the frame cap before sending.
 */
public final class FrameSize {
  private static final int INT = 4;
  private static final int LONG = 8;
  private static final int BYTE = 1;

  private FrameSize() {}

  /** Bytes of the whole frame: length field, opcode and body. */
  public static long of(Message message) {
    return HEADER_LENGTH + bodyLength(message);
  }

  /** Bytes of the whole frame that will carry {@code payload} in a {@link Sequenced} envelope. */
  public static long ofSequenced(Sequenced.Payload payload) {
    return HEADER_LENGTH + SEQ_LENGTH + payloadLength(payload);
  }

  /** Bytes of the body alone (after the opcode). */
  public static long bodyLength(Message message) {
    if (message instanceof Sequenced s) return SEQ_LENGTH + payloadLength(s.payload());
    if (message instanceof Handshake.Hello) return 3 * INT;
    if (message instanceof Handshake.Challenge c) return INT + INT + c.nonce().length;
    if (message instanceof Handshake.Auth a) return INT + a.proof().length + LONG;
    if (message instanceof Handshake.Welcome) return LONG + INT;
    if (message instanceof Handshake.Reject r) return BYTE + string(r.reason());
    if (message instanceof Control.Heartbeat) return 0;
    if (message instanceof Control.Ack) return LONG;
    throw new IllegalArgumentException("unknown message type " + message.getClass().getName());
  }

  private static long payloadLength(Sequenced.Payload payload) {
    if (payload instanceof Command.Execute e) return INT + string(e.kind()) + string(e.code());
    if (payload instanceof Command.Cancel) return INT;
    if (payload instanceof Command.Complete c) return INT + string(c.kind()) + string(c.code()) + INT;
    if (payload instanceof Command.Shutdown s) return string(s.reason());
    if (payload instanceof Event.Ready r) return string(r.appId()) + string(r.sparkUiUrl());
    if (payload instanceof Event.StartFailed f) return string(f.message());
    if (payload instanceof Event.StatementStarted) return INT;
    if (payload instanceof Event.StatementOutput o) return INT + BYTE + string(o.text());
    if (payload instanceof Event.StatementProgress) return 3 * INT;
    if (payload instanceof Event.StatementResult r) {
      return INT + BYTE + string(r.dataJson()) + string(r.ename()) + string(r.evalue())
          + strings(r.traceback()) + BYTE + LONG;
    }
    if (payload instanceof Event.Completion c) return INT + strings(c.candidates());
    throw new IllegalArgumentException("unknown payload type " + payload.getClass().getName());
  }

  private static long strings(List<String> list) {
    long n = INT;
    for (String s : list) {
      n += string(s);
    }
    return n;
  }

  private static long string(String s) {
    return INT + utf8Length(s);
  }

  /**
   * UTF-8 length of {@code s} as Java and Netty encode it: an unpaired surrogate becomes one
   * {@code '?'} byte.
   */
  static long utf8Length(CharSequence s) {
    long n = 0;
    int len = s.length();
    for (int i = 0; i < len; i++) {
      char c = s.charAt(i);
      if (c < 0x80) {
        n += 1;
      } else if (c < 0x800) {
        n += 2;
      } else if (Character.isHighSurrogate(c)
          && i + 1 < len
          && Character.isLowSurrogate(s.charAt(i + 1))) {
        n += 4;
        i++;
      } else if (Character.isSurrogate(c)) {
        n += 1;
      } else {
        n += 3;
      }
    }
    return n;
  }
}
