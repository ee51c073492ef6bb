package io.sparkgate.proto;

import java.util.List;

/** One instance of every message type, with awkward content (empty, non-ASCII, extremes). */
final class Messages {
  private Messages() {}

  static List<Message> all() {
    byte[] nonce = new byte[ProtocolVersion.NONCE_LENGTH];
    for (int i = 0; i < nonce.length; i++) {
      nonce[i] = (byte) (i * 7 - 100);
    }
    byte[] proof = AgentAuth.proof("fixture secret, 32 bytes long...".getBytes(java.nio.charset.StandardCharsets.US_ASCII), 1, 7, nonce);
    return List.of(
        new Handshake.Hello(1, 3, 7),
        new Handshake.Challenge(1, nonce),
        new Handshake.Auth(proof, 0),
        new Handshake.Welcome(Long.MAX_VALUE, 15_000),
        new Handshake.Reject(Handshake.RejectReason.UNSUPPORTED_VERSION, "agent speaks 2 to 3"),
        new Handshake.Reject(Handshake.RejectReason.UNKNOWN_SESSION, ""),
        new Handshake.Reject(Handshake.RejectReason.AUTH_FAILED, "authentication failed"),
        new Handshake.Reject(Handshake.RejectReason.SESSION_CLOSED, "session 7 is closed"),
        Control.Heartbeat.INSTANCE,
        new Control.Ack(0),
        new Control.Ack(Long.MAX_VALUE),
        new Sequenced(1, new Command.Execute(0, "spark", "val x = 1\nprintln(\"é → ✓ 😀\")")),
        new Sequenced(2, new Command.Execute(Integer.MAX_VALUE, "sql", "")),
        new Sequenced(3, new Command.Cancel(-1)),
        new Sequenced(4, new Command.Complete(12, "pyspark", "spark.rea", 9)),
        new Sequenced(5, new Command.Shutdown("session deleted")),
        new Sequenced(1, new Event.Ready("app-20250101-0001", "http://driver:4040")),
        new Sequenced(2, new Event.Ready("local-1", "")),
        new Sequenced(3, new Event.StartFailed("no SparkSession: java.lang.OutOfMemoryError")),
        new Sequenced(4, new Event.StatementStarted(0)),
        new Sequenced(5, new Event.StatementOutput(0, Event.Stream.STDOUT, "line 1\nline 2\n")),
        new Sequenced(6, new Event.StatementOutput(0, Event.Stream.STDERR, "Ünïcödé 日本語\t")),
        new Sequenced(7, new Event.StatementProgress(0, 3, 200)),
        new Sequenced(8, Event.StatementResult.ok(0, "{\"text/plain\":\"x: Int = 1\"}", false)),
        new Sequenced(9, Event.StatementResult.ok(1, "{\"text/plain\":\"...\"}", true).withExecutionMicros(1_234_567L)),
        new Sequenced(10, Event.StatementResult.error(2, "NameError", "name 'y' is not defined",
            List.of("Traceback (most recent call last):", "  File \"<stdin>\", line 1", ""))),
        new Sequenced(11, Event.StatementResult.cancelled(3)),
        new Sequenced(12, new Event.Completion(12, List.of("read", "readStream", "range"))),
        new Sequenced(Long.MAX_VALUE, new Event.Completion(13, List.of())));
  }
}
