package io.sparkgate.agent.interp;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * How one statement ended, in the shapes of Livy's statement output: either {@link Ok} with a data
 * map from MIME type to value, or {@link Failure} with {@code ename}, {@code evalue} and
 * {@code traceback}. Livy reports incomplete input as a failure too ({@link #incomplete()}).
 */
public sealed interface ExecuteResult permits ExecuteResult.Ok, ExecuteResult.Failure {

  String TEXT_PLAIN = "text/plain";
  String APPLICATION_JSON = "application/json";

  /**
   * Success.
   *
   * @param data MIME type to value, in insertion order; a value is a {@link String} or a Jackson
   *     {@link JsonNode} (for JSON types)
   * @param truncated the statement's output passed the cap and was cut; the text says where
   */
  record Ok(Map<String, Object> data, boolean truncated) implements ExecuteResult {
    public Ok {
      Objects.requireNonNull(data, "data");
      for (Map.Entry<String, Object> e : data.entrySet()) {
        Objects.requireNonNull(e.getKey(), "MIME type");
        if (!(e.getValue() instanceof String) && !(e.getValue() instanceof JsonNode)) {
          throw new IllegalArgumentException("value of " + e.getKey() + " is neither a String nor a JsonNode");
        }
      }
      data = Collections.unmodifiableMap(new LinkedHashMap<>(data));
    }

    /** The data map as one JSON object, e.g. {@code {"text/plain":"val res0: Int = 2"}}. */
    public String dataJson() {
      return Json.write(data);
    }
  }

  /**
   * Failure, as Livy reports it: {@code ename}, {@code evalue} and traceback lines. Every
   * interpreter's errors are capped here, so that no error (an exception with a message of many
   * megabytes, a traceback of a deep recursion) can outgrow the link's frame: {@code ename} at
   * {@value #MAX_ENAME_CHARS} characters, {@code evalue} at {@value #MAX_EVALUE_CHARS}, each
   * traceback line at {@value #MAX_TRACEBACK_LINE_CHARS} and the traceback at
   * {@value #MAX_TRACEBACK_LINES} lines; a cut is marked where it was made.
   */
  record Failure(String ename, String evalue, List<String> traceback) implements ExecuteResult {
    public static final int MAX_ENAME_CHARS = 1024;
    public static final int MAX_EVALUE_CHARS = 64 * 1024;
    public static final int MAX_TRACEBACK_LINE_CHARS = 4 * 1024;
    public static final int MAX_TRACEBACK_LINES = 500;

    public Failure {
      Objects.requireNonNull(ename, "ename");
      ename = cut(ename, MAX_ENAME_CHARS);
      evalue = evalue == null ? "" : cut(evalue, MAX_EVALUE_CHARS);
      List<String> lines = new java.util.ArrayList<>(Math.min(traceback.size(), MAX_TRACEBACK_LINES + 1));
      for (String line : traceback) {
        if (lines.size() == MAX_TRACEBACK_LINES) {
          lines.add("[" + (traceback.size() - MAX_TRACEBACK_LINES) + " more traceback lines cut]");
          break;
        }
        lines.add(cut(line, MAX_TRACEBACK_LINE_CHARS));
      }
      traceback = List.copyOf(lines);
    }

    /** {@code text} cut at {@code maxChars} (never inside a surrogate pair), with a mark saying how much was cut. */
    static String cut(String text, int maxChars) {
      if (text.length() <= maxChars) {
        return text;
      }
      int end = Character.isHighSurrogate(text.charAt(maxChars - 1)) ? maxChars - 1 : maxChars;
      return text.substring(0, end) + " [" + (text.length() - end) + " characters cut]";
    }
  }

  /** Success whose only representation is text. */
  static Ok text(String text, boolean truncated) {
    return new Ok(Map.of(TEXT_PLAIN, text), truncated);
  }

  static Failure failure(String ename, String evalue, List<String> traceback) {
    return new Failure(ename, evalue, traceback);
  }

  /** Livy's answer to input that is not a complete statement (for example {@code sc.}). */
  static Failure incomplete() {
    return new Failure("Error", "incomplete statement", List.of());
  }
}
