package io.sparkgate.proto;

import static io.sparkgate.proto.ProtocolConstants.LENGTH_FIELD_LENGTH;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;
import io.netty.handler.codec.TooLongFrameException;
import java.util.List;

/**
 * The outbound half of {@link FrameCodec}: one {@link Message} to one frame. Allocates the exact
 * frame size up front ({@link FrameSize}) and refuses a message whose frame would exceed the cap,
 * so the peer never has to reject it.
 */
final class FrameEncoder extends MessageToByteEncoder<Message> {
  private final int maxFrameLength;

  FrameEncoder(int maxFrameLength) {
    super(Message.class);
    this.maxFrameLength = maxFrameLength;
  }

  @Override
  protected ByteBuf allocateBuffer(ChannelHandlerContext ctx, Message msg, boolean preferDirect) {
    long frameLength = FrameSize.of(msg) - LENGTH_FIELD_LENGTH;
    if (frameLength > maxFrameLength) {
      // MessageToByteEncoder wraps this in an EncoderException and fails the write's promise.
      throw new TooLongFrameException(
          ProtocolConstants.opcodeName(ProtocolConstants.opcodeOf(msg))
              + " frame of " + frameLength + " bytes exceeds the maximum of " + maxFrameLength);
    }
    int size = (int) frameLength + LENGTH_FIELD_LENGTH;
    return preferDirect ? ctx.alloc().ioBuffer(size) : ctx.alloc().heapBuffer(size);
  }

  @Override
  protected void encode(ChannelHandlerContext ctx, Message msg, ByteBuf out) {
    int start = out.writerIndex();
    out.writeInt(0); // patched below
    out.writeByte(ProtocolConstants.opcodeOf(msg));
    writeBody(msg, out);
    out.setInt(start, out.writerIndex() - start - LENGTH_FIELD_LENGTH);
  }

  static void writeBody(Message msg, ByteBuf out) {
    if (msg instanceof Sequenced s) {
      out.writeLong(s.seq());
      writePayload(s.payload(), out);
    } else if (msg instanceof Handshake.Hello h) {
      out.writeInt(h.minVersion());
      out.writeInt(h.maxVersion());
      out.writeInt(h.sessionId());
    } else if (msg instanceof Handshake.Challenge c) {
      out.writeInt(c.version());
      writeBytes(c.nonce(), out);
    } else if (msg instanceof Handshake.Auth a) {
      writeBytes(a.proof(), out);
      out.writeLong(a.lastCommandSeq());
    } else if (msg instanceof Handshake.Welcome w) {
      out.writeLong(w.lastEventSeq());
      out.writeInt(w.heartbeatIntervalMillis());
    } else if (msg instanceof Handshake.Reject r) {
      out.writeByte(ProtocolConstants.code(r.reasonCode()));
      writeString(r.reason(), out);
    } else if (msg instanceof Control.Ack a) {
      out.writeLong(a.seq());
    } else if (!(msg instanceof Control.Heartbeat)) {
      throw new IllegalArgumentException("unknown message type " + msg.getClass().getName());
    }
  }

  private static void writePayload(Sequenced.Payload payload, ByteBuf out) {
    if (payload instanceof Command.Execute e) {
      out.writeInt(e.statementId());
      writeString(e.kind(), out);
      writeString(e.code(), out);
    } else if (payload instanceof Command.Cancel c) {
      out.writeInt(c.statementId());
    } else if (payload instanceof Command.Complete c) {
      out.writeInt(c.requestId());
      writeString(c.kind(), out);
      writeString(c.code(), out);
      out.writeInt(c.cursor());
    } else if (payload instanceof Command.Shutdown s) {
      writeString(s.reason(), out);
    } else if (payload instanceof Event.Ready r) {
      writeString(r.appId(), out);
      writeString(r.sparkUiUrl(), out);
    } else if (payload instanceof Event.StartFailed f) {
      writeString(f.message(), out);
    } else if (payload instanceof Event.StatementStarted s) {
      out.writeInt(s.statementId());
    } else if (payload instanceof Event.StatementOutput o) {
      out.writeInt(o.statementId());
      out.writeByte(ProtocolConstants.code(o.stream()));
      writeString(o.text(), out);
    } else if (payload instanceof Event.StatementProgress p) {
      out.writeInt(p.statementId());
      out.writeInt(p.completedTasks());
      out.writeInt(p.totalTasks());
    } else if (payload instanceof Event.StatementResult r) {
      out.writeInt(r.statementId());
      out.writeByte(ProtocolConstants.code(r.status()));
      writeString(r.dataJson(), out);
      writeString(r.ename(), out);
      writeString(r.evalue(), out);
      writeStrings(r.traceback(), out);
      out.writeByte(r.truncated() ? ProtocolConstants.TRUE : ProtocolConstants.FALSE);
      out.writeLong(r.executionMicros());
    } else if (payload instanceof Event.Completion c) {
      out.writeInt(c.requestId());
      writeStrings(c.candidates(), out);
    } else {
      throw new IllegalArgumentException("unknown payload type " + payload.getClass().getName());
    }
  }

  private static void writeBytes(byte[] bytes, ByteBuf out) {
    out.writeInt(bytes.length);
    out.writeBytes(bytes);
  }

  private static void writeStrings(List<String> strings, ByteBuf out) {
    out.writeInt(strings.size());
    for (String s : strings) {
      writeString(s, out);
    }
  }

  private static void writeString(String s, ByteBuf out) {
    int lengthAt = out.writerIndex();
    out.writeInt(0); // patched below, so the prefix always matches the bytes written
    int written = ByteBufUtil.writeUtf8(out, s);
    out.setInt(lengthAt, written);
  }
}
