package io.sparkgate.proto;

import static io.sparkgate.proto.ProtocolConstants.*;
import static org.junit.jupiter.api.Assertions.*;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.EncoderException;
import io.netty.handler.codec.TooLongFrameException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FrameCodecTest extends LeakCheckedTest {
  private final List<EmbeddedChannel> channels = new ArrayList<>();

  @AfterEach
  void closeChannels() {
    for (EmbeddedChannel ch : channels) {
      ch.finishAndReleaseAll();
    }
  }

  private EmbeddedChannel channel(int maxFrameLength) {
    EmbeddedChannel ch = new EmbeddedChannel(new FrameCodec(maxFrameLength));
    channels.add(ch);
    return ch;
  }

  private EmbeddedChannel channel() {
    return channel(DEFAULT_MAX_FRAME_LENGTH);
  }

  /** The bytes of one frame, as an array (the buffer is released). */
  private byte[] encode(Message message) {
    EmbeddedChannel ch = channel();
    assertTrue(ch.writeOutbound(message));
    ByteBuf buf = ch.readOutbound();
    try {
      assertNull(ch.readOutbound(), "one message, one buffer");
      return ByteBufUtil.getBytes(buf);
    } finally {
      buf.release();
    }
  }

  private static byte[] concat(List<byte[]> parts) {
    ByteBuf all = Unpooled.buffer();
    parts.forEach(all::writeBytes);
    byte[] bytes = ByteBufUtil.getBytes(all);
    all.release();
    return bytes;
  }

  private static List<Message> readAll(EmbeddedChannel ch) {
    List<Message> out = new ArrayList<>();
    for (Object m; (m = ch.readInbound()) != null; ) {
      out.add((Message) m);
    }
    return out;
  }

  private static byte[] frame(int opcode, ByteBuf body) {
    ByteBuf buf = Unpooled.buffer();
    buf.writeInt(1 + body.readableBytes()).writeByte(opcode).writeBytes(body);
    body.release();
    byte[] bytes = ByteBufUtil.getBytes(buf);
    buf.release();
    return bytes;
  }

  @Test
  void everyMessageTypeSurvivesARoundTrip() {
    for (Message message : Messages.all()) {
      EmbeddedChannel ch = channel();
      byte[] bytes = encode(message);
      assertEquals(FrameSize.of(message), bytes.length, "FrameSize of " + message);
      assertEquals(bytes.length - LENGTH_FIELD_LENGTH, Unpooled.wrappedBuffer(bytes).getInt(0), "length prefix");
      assertEquals(opcodeOf(message), bytes[LENGTH_FIELD_LENGTH], "opcode of " + message);
      assertTrue(ch.writeInbound(Unpooled.wrappedBuffer(bytes)));
      assertEquals(message, ch.readInbound());
      assertNull(ch.readInbound());
    }
  }

  @Test
  void theFixtureCoversEveryOpcode() throws IllegalAccessException {
    Set<Integer> declared = new TreeSet<>();
    for (Field f : ProtocolConstants.class.getFields()) {
      if (f.getName().startsWith("OP_") && Modifier.isStatic(f.getModifiers())) {
        declared.add((int) f.getByte(null));
      }
    }
    Set<Integer> covered = new TreeSet<>();
    Messages.all().forEach(m -> covered.add((int) opcodeOf(m)));
    assertEquals(declared, covered);
  }

  @Test
  void sealedFamiliesHaveOnlyTypesTheCodecKnows() {
    // A record added to a sealed interface without an opcode would fail here first.
    Set<Class<?>> known = new java.util.HashSet<>();
    for (Message m : Messages.all()) {
      known.add(m instanceof Sequenced s ? s.payload().getClass() : m.getClass());
    }
    for (Class<?> family : List.of(Handshake.class, Control.class, Command.class, Event.class)) {
      for (Class<?> sub : family.getPermittedSubclasses()) {
        assertTrue(known.contains(sub), sub + " has no test message");
      }
    }
  }

  @Test
  void enumsAndBooleansUseExplicitCodesOnTheWire() {
    // Seq 7, StatementOutput(3, STDERR, "hé"): the stream is code 2, whatever its ordinal.
    byte[] bytes = encode(new Sequenced(7, new Event.StatementOutput(3, Event.Stream.STDERR, "hé")));
    assertEquals(
        "00000015" + "43" + "0000000000000007" + "00000003" + "02" + "00000003" + "68c3a9",
        ByteBufUtil.hexDump(bytes));

    byte[] reject = encode(new Handshake.Reject(Handshake.RejectReason.AUTH_FAILED, ""));
    assertEquals("00000006" + "05" + "03" + "00000000", ByteBufUtil.hexDump(reject));

    byte[] result = encode(new Sequenced(1, Event.StatementResult.cancelled(4)));
    assertEquals(STATUS_CANCELLED, result[LENGTH_FIELD_LENGTH + 1 + 8 + 4]);
    assertEquals(FALSE, result[result.length - 1]);
  }

  @Test
  void aStreamFedOneByteAtATimeDecodesToTheSameMessages() {
    List<byte[]> frames = new ArrayList<>();
    Messages.all().forEach(m -> frames.add(encode(m)));
    byte[] stream = concat(frames);

    EmbeddedChannel ch = channel();
    for (byte b : stream) {
      ch.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
    }
    assertEquals(Messages.all(), readAll(ch));
  }

  @Test
  void severalFramesInOneBufferAllDecode() {
    List<byte[]> frames = new ArrayList<>();
    Messages.all().forEach(m -> frames.add(encode(m)));
    EmbeddedChannel ch = channel();
    assertTrue(ch.writeInbound(Unpooled.wrappedBuffer(concat(frames))));
    assertEquals(Messages.all(), readAll(ch));
  }

  @Test
  void aFrameSplitAcrossBuffersAtEveryPointDecodes() {
    byte[] bytes = encode(new Sequenced(3, new Command.Execute(1, "spark", "1 + 1")));
    for (int cut = 1; cut < bytes.length; cut++) {
      EmbeddedChannel ch = channel();
      assertFalse(ch.writeInbound(Unpooled.wrappedBuffer(bytes, 0, cut)), "nothing before the frame is whole");
      assertTrue(ch.writeInbound(Unpooled.wrappedBuffer(bytes, cut, bytes.length - cut)));
      assertEquals(new Sequenced(3, new Command.Execute(1, "spark", "1 + 1")), ch.readInbound());
    }
  }

  @Test
  void anOversizedLengthPrefixFailsBeforeTheBodyArrivesAndNothingIsKept() {
    EmbeddedChannel ch = channel(64);
    ByteBuf header = Unpooled.buffer().writeInt(65).writeByte(OP_EXECUTE).writeZero(10);
    TooLongFrameException e = assertThrows(TooLongFrameException.class, () -> ch.writeInbound(header));
    assertTrue(e.getMessage().contains("65") && e.getMessage().contains("64"), e.getMessage());
    assertEquals(0, header.refCnt(), "the decoder released the bytes instead of buffering them");

    // The stream is out of step: what follows is discarded, not decoded, and not kept either.
    ByteBuf next = Unpooled.wrappedBuffer(encode(Control.Heartbeat.INSTANCE));
    assertFalse(ch.writeInbound(next));
    assertEquals(0, next.refCnt());
    assertNull(ch.readInbound());
  }

  @Test
  void theDefaultCapAcceptsEightMebibytesAndNotOneByteMore() {
    EmbeddedChannel ch = channel();
    ByteBuf atCap = Unpooled.buffer().writeInt(DEFAULT_MAX_FRAME_LENGTH).writeByte(OP_HEARTBEAT);
    assertFalse(ch.writeInbound(atCap), "waits for the rest of an 8 MiB frame");

    EmbeddedChannel other = channel();
    ByteBuf overCap = Unpooled.buffer().writeInt(DEFAULT_MAX_FRAME_LENGTH + 1);
    assertThrows(TooLongFrameException.class, () -> other.writeInbound(overCap));
  }

  @Test
  void aLargeMessageUnderTheCapRoundTrips() {
    String big = "x".repeat(3 * 1024 * 1024) + "é".repeat(1024 * 1024); // 5 MiB of UTF-8
    Message message = new Sequenced(1, Event.StatementResult.ok(9, big, true));
    EmbeddedChannel ch = channel();
    ch.writeOutbound(message);
    ByteBuf frame = ch.readOutbound();
    assertEquals(FrameSize.of(message), frame.readableBytes());
    ch.writeInbound(frame);
    assertEquals(message, ch.readInbound());
  }

  @Test
  void anOversizedOutboundMessageFailsItsWriteAndSendsNothing() {
    EmbeddedChannel ch = channel(100);
    Message tooBig = new Sequenced(1, new Command.Execute(1, "spark", "x".repeat(200)));
    EncoderException e = assertThrows(EncoderException.class, () -> ch.writeOutbound(tooBig));
    assertInstanceOf(TooLongFrameException.class, e.getCause());
    assertNull(ch.readOutbound());
    assertTrue(ch.writeOutbound(new Control.Ack(3)), "the channel is still usable");
    ByteBuf ok = ch.readOutbound();
    ok.release();
  }

  @Test
  void anUnknownOpcodeIsAProtocolErrorNamingIt() {
    EmbeddedChannel ch = channel();
    ByteBuf bytes = Unpooled.buffer().writeInt(1).writeByte(0x7f);
    ProtocolException e = assertThrows(ProtocolException.class, () -> ch.writeInbound(bytes));
    assertTrue(e.getMessage().contains("unknown opcode 0x7f"), e.getMessage());
  }

  @Test
  void anHttpRequestOnTheAgentPortIsRejectedAtItsFirstFourBytes() {
    EmbeddedChannel ch = channel();
    ByteBuf garbage = Unpooled.copiedBuffer("GET / HTTP/1.1\r\nHost: x\r\n\r\n", StandardCharsets.US_ASCII);
    // "GET " read as a length is about 1.2 GB.
    assertThrows(TooLongFrameException.class, () -> ch.writeInbound(garbage));
    assertEquals(0, garbage.refCnt());
  }

  @Test
  void aZeroOrNegativeLengthIsAProtocolError() {
    for (int length : new int[] {0, -1, Integer.MIN_VALUE}) {
      EmbeddedChannel ch = channel();
      ByteBuf bytes = Unpooled.buffer().writeInt(length).writeByte(OP_HEARTBEAT);
      assertThrows(ProtocolException.class, () -> ch.writeInbound(bytes), "length " + length);
    }
  }

  private void assertMalformed(byte[] frame, String expectedInMessage) {
    EmbeddedChannel ch = channel();
    ProtocolException e =
        assertThrows(ProtocolException.class, () -> ch.writeInbound(Unpooled.wrappedBuffer(frame)));
    assertTrue(e.getMessage().contains(expectedInMessage), e.getMessage());
    assertNull(ch.readInbound());
  }

  @Test
  void aStringLengthCutOffByTheFrameEndIsAProtocolError() {
    // Execute: seq, statementId, then only two of the four bytes of the kind's length.
    ByteBuf body = Unpooled.buffer().writeLong(1).writeInt(0).writeShort(0);
    assertMalformed(frame(OP_EXECUTE, body), "Execute.kind length");
  }

  @Test
  void aStringLongerThanItsFrameIsAProtocolError() {
    ByteBuf body = Unpooled.buffer().writeLong(1).writeInt(0).writeInt(1000).writeBytes(new byte[10]);
    assertMalformed(frame(OP_EXECUTE, body), "Execute.kind needs 1000 bytes");
  }

  @Test
  void aNegativeStringLengthIsAProtocolError() {
    ByteBuf body = Unpooled.buffer().writeLong(1).writeInt(-5);
    assertMalformed(frame(OP_SHUTDOWN, body), "negative length");
  }

  @Test
  void aListCountPastTheFrameEndIsRejectedBeforeAllocating() {
    ByteBuf body = Unpooled.buffer().writeLong(1).writeInt(12).writeInt(Integer.MAX_VALUE).writeInt(0);
    assertMalformed(frame(OP_COMPLETION, body), "Completion.candidates count 2147483647 cannot fit");
    ByteBuf negative = Unpooled.buffer().writeLong(1).writeInt(12).writeInt(-1);
    assertMalformed(frame(OP_COMPLETION, negative), "negative count");
  }

  @Test
  void unknownEnumAndBooleanCodesAreProtocolErrors() {
    ByteBuf badStream = Unpooled.buffer().writeLong(1).writeInt(0).writeByte(0).writeInt(0);
    assertMalformed(frame(OP_STATEMENT_OUTPUT, badStream), "StatementOutput.stream code 0");

    ByteBuf badReason = Unpooled.buffer().writeByte(9).writeInt(0);
    assertMalformed(frame(OP_REJECT, badReason), "Reject.reasonCode 9");

    ByteBuf badBool = Unpooled.buffer().writeLong(1).writeInt(0).writeByte(STATUS_OK)
        .writeInt(0).writeInt(0).writeInt(0).writeInt(0).writeByte(2);
    assertMalformed(frame(OP_STATEMENT_RESULT, badBool), "StatementResult.truncated must be 0 or 1");
  }

  @Test
  void trailingBytesAfterTheLastFieldAreAProtocolError() {
    ByteBuf body = Unpooled.buffer().writeLong(3).writeByte(0);
    assertMalformed(frame(OP_ACK, body), "1 unexpected trailing bytes");
  }

  @Test
  void sequenceNumbersMustBePositiveAndSeqFieldsNonNegative() {
    assertMalformed(frame(OP_CANCEL, Unpooled.buffer().writeLong(0).writeInt(1)), "seq must be positive: 0");
    assertMalformed(frame(OP_ACK, Unpooled.buffer().writeLong(-1)), "Ack.seq must not be negative");
  }

  @Test
  void aNonceOrProofOfTheWrongLengthIsAProtocolError() {
    ByteBuf shortNonce = Unpooled.buffer().writeInt(1).writeInt(4).writeInt(0);
    assertMalformed(frame(OP_CHALLENGE, shortNonce), "Challenge.nonce has 4 bytes, expected 32");
    ByteBuf longProof = Unpooled.buffer().writeInt(64).writeZero(64).writeLong(0);
    assertMalformed(frame(OP_AUTH, longProof), "Auth.proof has 64 bytes, expected 32");
  }

  @Test
  void corruptedFramesFailWithADecoderExceptionAndNothingElse() {
    // Flip random bytes of valid frames: the decoder must either decode something or fail with
    // a DecoderException; never an IndexOutOfBounds, NegativeArraySize or OutOfMemory error.
    Random random = new Random(42);
    List<Message> all = Messages.all();
    for (int round = 0; round < 2000; round++) {
      byte[] bytes = encode(all.get(random.nextInt(all.size())));
      int flips = 1 + random.nextInt(3);
      for (int i = 0; i < flips; i++) {
        bytes[random.nextInt(bytes.length)] = (byte) random.nextInt(256);
      }
      EmbeddedChannel ch = new EmbeddedChannel(new FrameCodec(4096));
      try {
        ch.writeInbound(Unpooled.wrappedBuffer(bytes));
      } catch (DecoderException expected) {
        // fine: a corrupted frame was refused
      } finally {
        ch.finishAndReleaseAll();
      }
    }
  }
}
