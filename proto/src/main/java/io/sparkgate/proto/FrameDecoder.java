package io.sparkgate.proto;

import static io.sparkgate.proto.ProtocolConstants.*;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.TooLongFrameException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The inbound half of {@link FrameCodec}: bytes to {@link Message}s. Reads the length prefix first
 * and rejects an oversized frame before buffering its body. After any error the stream is out of
 * step, so the decoder discards every byte it receives from then on; the channel should be closed.
 */
final class FrameDecoder extends ByteToMessageDecoder {
  private final int maxFrameLength;
  private boolean failed;

  FrameDecoder(int maxFrameLength) {
    this.maxFrameLength = maxFrameLength;
  }

  @Override
  protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
    if (failed) {
      in.skipBytes(in.readableBytes());
      return;
    }
    if (in.readableBytes() < LENGTH_FIELD_LENGTH) {
      return;
    }
    int start = in.readerIndex();
    int length = in.getInt(start);
    if (length < OPCODE_LENGTH) {
      fail(in);
      throw new ProtocolException("frame length " + length + " is less than " + OPCODE_LENGTH);
    }
    if (length > maxFrameLength) {
      fail(in);
      throw new TooLongFrameException(
          "frame length " + length + " exceeds the maximum of " + maxFrameLength);
    }
    if (in.readableBytes() < LENGTH_FIELD_LENGTH + length) {
      return;
    }
    // Decoded messages copy what they keep, so a plain (unretained) slice is enough.
    ByteBuf frame = in.slice(start + LENGTH_FIELD_LENGTH, length);
    in.skipBytes(LENGTH_FIELD_LENGTH + length);
    try {
      out.add(decodeFrame(frame));
    } catch (ProtocolException e) {
      fail(in);
      throw e;
    }
  }

  private void fail(ByteBuf in) {
    failed = true;
    in.skipBytes(in.readableBytes());
  }

  /** One frame, from its opcode to its end. */
  static Message decodeFrame(ByteBuf frame) {
    byte opcode = frame.readByte();
    Message message = decodeBody(opcode, frame);
    if (frame.isReadable()) {
      throw new ProtocolException(
          opcodeName(opcode) + " frame has " + frame.readableBytes() + " unexpected trailing bytes");
    }
    return message;
  }

  private static Message decodeBody(byte opcode, ByteBuf in) {
    switch (opcode) {
      case OP_HELLO:
        return new Handshake.Hello(
            readInt(in, "Hello.minVersion"), readInt(in, "Hello.maxVersion"), readInt(in, "Hello.sessionId"));
      case OP_CHALLENGE: {
        int version = readInt(in, "Challenge.version");
        byte[] nonce = readBytes(in, "Challenge.nonce");
        if (nonce.length != ProtocolVersion.NONCE_LENGTH) {
          throw new ProtocolException(
              "Challenge.nonce has " + nonce.length + " bytes, expected " + ProtocolVersion.NONCE_LENGTH);
        }
        return new Handshake.Challenge(version, nonce);
      }
      case OP_AUTH: {
        byte[] proof = readBytes(in, "Auth.proof");
        if (proof.length != AgentAuth.PROOF_LENGTH) {
          throw new ProtocolException(
              "Auth.proof has " + proof.length + " bytes, expected " + AgentAuth.PROOF_LENGTH);
        }
        return new Handshake.Auth(proof, readSeqOrZero(in, "Auth.lastCommandSeq"));
      }
      case OP_WELCOME: {
        long lastEventSeq = readSeqOrZero(in, "Welcome.lastEventSeq");
        int heartbeat = readInt(in, "Welcome.heartbeatIntervalMillis");
        if (heartbeat <= 0) {
          throw new ProtocolException("Welcome.heartbeatIntervalMillis must be positive: " + heartbeat);
        }
        return new Handshake.Welcome(lastEventSeq, heartbeat);
      }
      case OP_REJECT: {
        byte code = readByte(in, "Reject.reasonCode");
        Handshake.RejectReason reason = rejectReason(code);
        if (reason == null) {
          throw new ProtocolException("Reject.reasonCode " + code + " is unknown");
        }
        return new Handshake.Reject(reason, readString(in, "Reject.reason"));
      }
      case OP_HEARTBEAT:
        return Control.Heartbeat.INSTANCE;
      case OP_ACK:
        return new Control.Ack(readSeqOrZero(in, "Ack.seq"));
      default:
        return decodeSequenced(opcode, in);
    }
  }

  private static Sequenced decodeSequenced(byte opcode, ByteBuf in) {
    if (!isSequenced(opcode)) {
      throw new ProtocolException("unknown opcode " + opcodeName(opcode));
    }
    long seq = readLong(in, opcodeName(opcode) + " seq");
    if (seq <= 0) {
      throw new ProtocolException(opcodeName(opcode) + " seq must be positive: " + seq);
    }
    return new Sequenced(seq, decodePayload(opcode, in));
  }

  private static boolean isSequenced(byte opcode) {
    return (opcode >= OP_EXECUTE && opcode <= OP_SHUTDOWN) || (opcode >= OP_READY && opcode <= OP_COMPLETION);
  }

  private static Sequenced.Payload decodePayload(byte opcode, ByteBuf in) {
    switch (opcode) {
      case OP_EXECUTE:
        return new Command.Execute(
            readInt(in, "Execute.statementId"), readString(in, "Execute.kind"), readString(in, "Execute.code"));
      case OP_CANCEL:
        return new Command.Cancel(readInt(in, "Cancel.statementId"));
      case OP_COMPLETE:
        return new Command.Complete(
            readInt(in, "Complete.requestId"),
            readString(in, "Complete.kind"),
            readString(in, "Complete.code"),
            readInt(in, "Complete.cursor"));
      case OP_SHUTDOWN:
        return new Command.Shutdown(readString(in, "Shutdown.reason"));
      case OP_READY:
        return new Event.Ready(readString(in, "Ready.appId"), readString(in, "Ready.sparkUiUrl"));
      case OP_START_FAILED:
        return new Event.StartFailed(readString(in, "StartFailed.message"));
      case OP_STATEMENT_STARTED:
        return new Event.StatementStarted(readInt(in, "StatementStarted.statementId"));
      case OP_STATEMENT_OUTPUT: {
        int statementId = readInt(in, "StatementOutput.statementId");
        byte code = readByte(in, "StatementOutput.stream");
        Event.Stream stream = stream(code);
        if (stream == null) {
          throw new ProtocolException("StatementOutput.stream code " + code + " is unknown");
        }
        return new Event.StatementOutput(statementId, stream, readString(in, "StatementOutput.text"));
      }
      case OP_STATEMENT_PROGRESS:
        return new Event.StatementProgress(
            readInt(in, "StatementProgress.statementId"),
            readInt(in, "StatementProgress.completedTasks"),
            readInt(in, "StatementProgress.totalTasks"));
      case OP_STATEMENT_RESULT: {
        int statementId = readInt(in, "StatementResult.statementId");
        byte code = readByte(in, "StatementResult.status");
        Event.Status status = status(code);
        if (status == null) {
          throw new ProtocolException("StatementResult.status code " + code + " is unknown");
        }
        String dataJson = readString(in, "StatementResult.dataJson");
        String ename = readString(in, "StatementResult.ename");
        String evalue = readString(in, "StatementResult.evalue");
        List<String> traceback = readStrings(in, "StatementResult.traceback");
        boolean truncated = readBoolean(in, "StatementResult.truncated");
        long executionMicros = readLong(in, "StatementResult.executionMicros");
        return new Event.StatementResult(
            statementId, status, dataJson, ename, evalue, traceback, truncated, executionMicros);
      }
      case OP_COMPLETION:
        return new Event.Completion(readInt(in, "Completion.requestId"), readStrings(in, "Completion.candidates"));
      default:
        throw new ProtocolException("unknown opcode " + opcodeName(opcode));
    }
  }

  private static void need(ByteBuf in, int bytes, String field) {
    if (in.readableBytes() < bytes) {
      throw new ProtocolException(
          field + " needs " + bytes + " bytes but only " + in.readableBytes() + " remain in the frame");
    }
  }

  private static byte readByte(ByteBuf in, String field) {
    need(in, 1, field);
    return in.readByte();
  }

  private static boolean readBoolean(ByteBuf in, String field) {
    byte b = readByte(in, field);
    if (b != TRUE && b != FALSE) {
      throw new ProtocolException(field + " must be 0 or 1: " + b);
    }
    return b == TRUE;
  }

  private static int readInt(ByteBuf in, String field) {
    need(in, 4, field);
    return in.readInt();
  }

  private static long readLong(ByteBuf in, String field) {
    need(in, 8, field);
    return in.readLong();
  }

  private static long readSeqOrZero(ByteBuf in, String field) {
    long seq = readLong(in, field);
    if (seq < 0) {
      throw new ProtocolException(field + " must not be negative: " + seq);
    }
    return seq;
  }

  private static int readLength(ByteBuf in, String field) {
    if (in.readableBytes() < 4) {
      throw new ProtocolException(field + " length is cut off by the end of the frame");
    }
    int length = in.readInt();
    if (length < 0) {
      throw new ProtocolException(field + " has a negative length: " + length);
    }
    need(in, length, field);
    return length;
  }

  private static byte[] readBytes(ByteBuf in, String field) {
    byte[] bytes = new byte[readLength(in, field)];
    in.readBytes(bytes);
    return bytes;
  }

  private static String readString(ByteBuf in, String field) {
    int length = readLength(in, field);
    String s = in.toString(in.readerIndex(), length, StandardCharsets.UTF_8);
    in.skipBytes(length);
    return s;
  }

  private static List<String> readStrings(ByteBuf in, String field) {
    if (in.readableBytes() < 4) {
      throw new ProtocolException(field + " count is cut off by the end of the frame");
    }
    int count = in.readInt();
    if (count < 0) {
      throw new ProtocolException(field + " has a negative count: " + count);
    }
    // Every string takes at least its 4-byte length: reject a count the frame cannot hold before
    // allocating anything for it.
    if (count > in.readableBytes() / 4) {
      throw new ProtocolException(
          field + " count " + count + " cannot fit in the " + in.readableBytes() + " bytes left in the frame");
    }
    List<String> list = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      list.add(readString(in, field));
    }
    return list;
  }
}
