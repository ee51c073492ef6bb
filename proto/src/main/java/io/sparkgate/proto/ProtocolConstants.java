package io.sparkgate.proto;

/**
 * Every number that appears on the wire: frame header sizes, the opcode of each message type and
 * the wire code of each enum constant. {@link FrameCodec} and {@code proto/README.md} are written
 * against this class; a change here is a change of the protocol and needs a new
 * {@link ProtocolVersion}.
 *
 * <p>Opcodes are grouped by family so that a hex dump reads at a glance: {@code 0x0_} handshake,
 * {@code 0x1_} control, {@code 0x2_} sequenced commands, {@code 0x4_} sequenced events. Enum codes
 * are explicit and start at 1, so that reordering or inserting enum constants in Java never
 * changes the bytes; 0 is never a valid code.
 */
public final class ProtocolConstants {

  /** Size of the big-endian int32 that starts every frame and counts the bytes after it. */
  public static final int LENGTH_FIELD_LENGTH = 4;
  /** Size of the opcode that follows the length field. */
  public static final int OPCODE_LENGTH = 1;
  /** Length field plus opcode: the smallest possible frame (a Heartbeat) on the wire. */
  public static final int HEADER_LENGTH = LENGTH_FIELD_LENGTH + OPCODE_LENGTH;
  /** Size of the int64 sequence number that starts the body of every sequenced frame. */
  public static final int SEQ_LENGTH = 8;

  /**
   * Default cap on the length field (opcode plus body): 8 MiB. Larger results must be chunked or
   * truncated by the sender.
   */
  public static final int DEFAULT_MAX_FRAME_LENGTH = 8 * 1024 * 1024;

  // Handshake (never sequenced).
  public static final byte OP_HELLO = 0x01;
  public static final byte OP_CHALLENGE = 0x02;
  public static final byte OP_AUTH = 0x03;
  public static final byte OP_WELCOME = 0x04;
  public static final byte OP_REJECT = 0x05;

  // Control (never sequenced).
  public static final byte OP_HEARTBEAT = 0x10;
  public static final byte OP_ACK = 0x11;

  // Sequenced commands, gateway to agent.
  public static final byte OP_EXECUTE = 0x20;
  public static final byte OP_CANCEL = 0x21;
  public static final byte OP_COMPLETE = 0x22;
  public static final byte OP_SHUTDOWN = 0x23;

  // Sequenced events, agent to gateway.
  public static final byte OP_READY = 0x40;
  public static final byte OP_START_FAILED = 0x41;
  public static final byte OP_STATEMENT_STARTED = 0x42;
  public static final byte OP_STATEMENT_OUTPUT = 0x43;
  public static final byte OP_STATEMENT_PROGRESS = 0x44;
  public static final byte OP_STATEMENT_RESULT = 0x45;
  public static final byte OP_COMPLETION = 0x46;

  // Event.Stream codes.
  public static final byte STREAM_STDOUT = 1;
  public static final byte STREAM_STDERR = 2;

  // Event.Status codes.
  public static final byte STATUS_OK = 1;
  public static final byte STATUS_ERROR = 2;
  public static final byte STATUS_CANCELLED = 3;

  // Handshake.RejectReason codes.
  public static final byte REJECT_UNSUPPORTED_VERSION = 1;
  public static final byte REJECT_UNKNOWN_SESSION = 2;
  public static final byte REJECT_AUTH_FAILED = 3;
  public static final byte REJECT_SESSION_CLOSED = 4;

  // Booleans.
  public static final byte FALSE = 0;
  public static final byte TRUE = 1;

  private ProtocolConstants() {}

  /** The message type an opcode stands for, for logs and errors; {@code "0x7f (unknown)"} if none. */
  public static String opcodeName(int opcode) {
    String name =
        switch ((byte) opcode) {
          case OP_HELLO -> "Hello";
          case OP_CHALLENGE -> "Challenge";
          case OP_AUTH -> "Auth";
          case OP_WELCOME -> "Welcome";
          case OP_REJECT -> "Reject";
          case OP_HEARTBEAT -> "Heartbeat";
          case OP_ACK -> "Ack";
          case OP_EXECUTE -> "Execute";
          case OP_CANCEL -> "Cancel";
          case OP_COMPLETE -> "Complete";
          case OP_SHUTDOWN -> "Shutdown";
          case OP_READY -> "Ready";
          case OP_START_FAILED -> "StartFailed";
          case OP_STATEMENT_STARTED -> "StatementStarted";
          case OP_STATEMENT_OUTPUT -> "StatementOutput";
          case OP_STATEMENT_PROGRESS -> "StatementProgress";
          case OP_STATEMENT_RESULT -> "StatementResult";
          case OP_COMPLETION -> "Completion";
          default -> null;
        };
    String hex = String.format("0x%02x", opcode & 0xff);
    return name == null ? hex + " (unknown)" : name + " (" + hex + ")";
  }

  /**
   * The opcode of a message; for a {@link Sequenced} envelope, the opcode of its payload.
   *
   * @throws IllegalArgumentException for a message type this class does not know (a record added to
   *     a sealed interface without an opcode)
   */
  public static byte opcodeOf(Message message) {
    if (message instanceof Sequenced s) return opcodeOf(s.payload());
    if (message instanceof Handshake.Hello) return OP_HELLO;
    if (message instanceof Handshake.Challenge) return OP_CHALLENGE;
    if (message instanceof Handshake.Auth) return OP_AUTH;
    if (message instanceof Handshake.Welcome) return OP_WELCOME;
    if (message instanceof Handshake.Reject) return OP_REJECT;
    if (message instanceof Control.Heartbeat) return OP_HEARTBEAT;
    if (message instanceof Control.Ack) return OP_ACK;
    throw new IllegalArgumentException("no opcode for " + message.getClass().getName());
  }

  /** The opcode of a sequenced payload; see {@link #opcodeOf(Message)}. */
  public static byte opcodeOf(Sequenced.Payload payload) {
    if (payload instanceof Command.Execute) return OP_EXECUTE;
    if (payload instanceof Command.Cancel) return OP_CANCEL;
    if (payload instanceof Command.Complete) return OP_COMPLETE;
    if (payload instanceof Command.Shutdown) return OP_SHUTDOWN;
    if (payload instanceof Event.Ready) return OP_READY;
    if (payload instanceof Event.StartFailed) return OP_START_FAILED;
    if (payload instanceof Event.StatementStarted) return OP_STATEMENT_STARTED;
    if (payload instanceof Event.StatementOutput) return OP_STATEMENT_OUTPUT;
    if (payload instanceof Event.StatementProgress) return OP_STATEMENT_PROGRESS;
    if (payload instanceof Event.StatementResult) return OP_STATEMENT_RESULT;
    if (payload instanceof Event.Completion) return OP_COMPLETION;
    throw new IllegalArgumentException("no opcode for " + payload.getClass().getName());
  }

  static byte code(Event.Stream stream) {
    return switch (stream) {
      case STDOUT -> STREAM_STDOUT;
      case STDERR -> STREAM_STDERR;
    };
  }

  static byte code(Event.Status status) {
    return switch (status) {
      case OK -> STATUS_OK;
      case ERROR -> STATUS_ERROR;
      case CANCELLED -> STATUS_CANCELLED;
    };
  }

  static byte code(Handshake.RejectReason reason) {
    return switch (reason) {
      case UNSUPPORTED_VERSION -> REJECT_UNSUPPORTED_VERSION;
      case UNKNOWN_SESSION -> REJECT_UNKNOWN_SESSION;
      case AUTH_FAILED -> REJECT_AUTH_FAILED;
      case SESSION_CLOSED -> REJECT_SESSION_CLOSED;
    };
  }

  /** The stream with this wire code, or null. */
  static Event.Stream stream(byte code) {
    return switch (code) {
      case STREAM_STDOUT -> Event.Stream.STDOUT;
      case STREAM_STDERR -> Event.Stream.STDERR;
      default -> null;
    };
  }

  /** The status with this wire code, or null. */
  static Event.Status status(byte code) {
    return switch (code) {
      case STATUS_OK -> Event.Status.OK;
      case STATUS_ERROR -> Event.Status.ERROR;
      case STATUS_CANCELLED -> Event.Status.CANCELLED;
      default -> null;
    };
  }

  /** The reject reason with this wire code, or null. */
  static Handshake.RejectReason rejectReason(byte code) {
    return switch (code) {
      case REJECT_UNSUPPORTED_VERSION -> Handshake.RejectReason.UNSUPPORTED_VERSION;
      case REJECT_UNKNOWN_SESSION -> Handshake.RejectReason.UNKNOWN_SESSION;
      case REJECT_AUTH_FAILED -> Handshake.RejectReason.AUTH_FAILED;
      case REJECT_SESSION_CLOSED -> Handshake.RejectReason.SESSION_CLOSED;
      default -> null;
    };
  }
}
