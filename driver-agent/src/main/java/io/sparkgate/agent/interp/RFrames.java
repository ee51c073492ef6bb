package io.sparkgate.agent.interp;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The frames of the channel between the agent and the R REPL: simple enough for base R to encode
 * without packages.
 *
 * <pre>
 * frame:  +----------------+-----------+-----------+-----
 *         | length (int32) | field 1   | field 2   | ...      length = bytes of all fields
 *         +----------------+-----------+-----------+-----
 * field:  +----------------+------------------------+
 *         | length (int32) | UTF-8 bytes            |
 *         +----------------+------------------------+
 * </pre>
 *
 * Integers are big-endian. The first field names the message ({@code execute}, {@code result},
 * ...); the R program's header lists them all.
 */
final class RFrames {
  private RFrames() {}

  static byte[] encode(List<String> fields) {
    List<byte[]> encoded = new ArrayList<>(fields.size());
    int length = 0;
    for (String field : fields) {
      byte[] bytes = field.getBytes(StandardCharsets.UTF_8);
      encoded.add(bytes);
      length = Math.addExact(length, Math.addExact(4, bytes.length));
    }
    ByteBuffer frame = ByteBuffer.allocate(Math.addExact(4, length));
    frame.putInt(length);
    for (byte[] bytes : encoded) {
      frame.putInt(bytes.length).put(bytes);
    }
    return frame.array();
  }

  /**
   * Reads one frame.
   *
   * @return its fields, or null when the stream ended cleanly before a frame
   * @throws IOException the stream failed, ended inside a frame, or the frame is longer than
   *     {@code maxBytes} or malformed
   */
  static List<String> read(DataInputStream in, int maxBytes) throws IOException {
    int b0 = in.read();
    if (b0 < 0) {
      return null;
    }
    int length;
    try {
      length = (b0 << 24) | (in.readUnsignedByte() << 16) | (in.readUnsignedByte() << 8) | in.readUnsignedByte();
    } catch (EOFException e) {
      throw new EOFException("the channel ended in the middle of a message");
    }
    if (length < 0 || length > maxBytes) {
      throw new IOException("a message of " + Integer.toUnsignedString(length) + " bytes, over the " + maxBytes + "-byte limit");
    }
    byte[] body = new byte[length];
    try {
      in.readFully(body);
    } catch (EOFException e) {
      throw new EOFException("the channel ended in the middle of a message");
    }
    return decode(body);
  }

  static List<String> decode(byte[] body) throws IOException {
    ByteBuffer buffer = ByteBuffer.wrap(body);
    List<String> fields = new ArrayList<>();
    while (buffer.hasRemaining()) {
      if (buffer.remaining() < 4) {
        throw new IOException("a malformed message: a field length is cut short");
      }
      int length = buffer.getInt();
      if (length < 0 || length > buffer.remaining()) {
        throw new IOException("a malformed message: a field of " + length + " bytes in " + buffer.remaining());
      }
      fields.add(new String(body, buffer.position(), length, StandardCharsets.UTF_8));
      buffer.position(buffer.position() + length);
    }
    if (fields.isEmpty()) {
      throw new IOException("an empty message");
    }
    return fields;
  }
}
