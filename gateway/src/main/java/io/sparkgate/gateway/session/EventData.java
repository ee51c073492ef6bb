package io.sparkgate.gateway.session;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;

/** The data of the events that have no REST counterpart: output pieces and log lines. */
final class EventData {

  private static final JsonFactory JSON = new JsonFactory();

  private EventData() {}

  /** {@code {"statement": sid, "stream": "stdout"|"stderr", "text": "..."}}. */
  static Buffer output(int statementId, String stream, String text) {
    ByteArrayBuilder bytes = new ByteArrayBuilder(64 + text.length());
    try (JsonGenerator g = JSON.createGenerator(bytes)) {
      g.writeStartObject();
      g.writeNumberField("statement", statementId);
      g.writeStringField("stream", stream);
      g.writeStringField("text", text);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Buffer.buffer(bytes.toByteArray());
  }

  /** {@code {"lines": [...]}}. */
  static Buffer log(List<String> lines) {
    ByteArrayBuilder bytes = new ByteArrayBuilder(64 + 80 * lines.size());
    try (JsonGenerator g = JSON.createGenerator(bytes)) {
      g.writeStartObject();
      g.writeArrayFieldStart("lines");
      for (String line : lines) {
        g.writeString(line);
      }
      g.writeEndArray();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Buffer.buffer(bytes.toByteArray());
  }
}
