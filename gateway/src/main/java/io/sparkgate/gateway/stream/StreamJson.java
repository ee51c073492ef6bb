package io.sparkgate.gateway.stream;

/** The data of the stream's own messages (not session events): reset, overflow, errors. */
final class StreamJson {

  private StreamJson() {}

  /** {@code {"oldest": id, "msg": ...}}: events before {@code oldest} are no longer kept. */
  static String reset(long oldestId) {
    return "{\"oldest\":" + oldestId + ",\"msg\":\"Events before " + oldestId
        + " are no longer kept: re-read the session and its statements, then follow the events that come\"}";
  }

  /** {@code {"resumeFrom": id, "msg": ...}}: the subscriber fell behind and is closed. */
  static String overflow(long lastSentId) {
    return "{\"resumeFrom\":" + lastSentId + ",\"msg\":\"This client fell too far behind and is disconnected;"
        + " reconnect with Last-Event-ID (or from) " + lastSentId + "\"}";
  }
}
