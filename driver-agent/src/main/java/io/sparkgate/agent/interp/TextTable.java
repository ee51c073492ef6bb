package io.sparkgate.agent.interp;

import java.math.BigDecimal;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.types.StructType;
import scala.jdk.javaapi.CollectionConverters;

/**
 * Rows drawn as a text table the way {@code DataFrame.show()} draws them: a header, cells right
 * aligned, values longer than {@value #MAX_CELL} characters cut with "...", {@code NULL} for null.
 */
final class TextTable {
  static final int MAX_CELL = 20;

  private TextTable() {}

  static String render(StructType schema, List<Row> rows, boolean more) {
    String[] names = schema.fieldNames();
    List<String[]> cells = new ArrayList<>(rows.size());
    int[] widths = new int[names.length];
    for (int c = 0; c < names.length; c++) {
      widths[c] = Math.max(3, names[c].length());
    }
    for (Row row : rows) {
      String[] line = new String[names.length];
      for (int c = 0; c < names.length; c++) {
        String text = c < row.length() ? cell(row.get(c)) : "";
        if (text.length() > MAX_CELL) {
          text = text.substring(0, MAX_CELL - 3) + "...";
        }
        line[c] = text;
        widths[c] = Math.max(widths[c], text.length());
      }
      cells.add(line);
    }
    StringBuilder sep = new StringBuilder("+");
    for (int width : widths) {
      sep.append("-".repeat(width)).append('+');
    }
    sep.append('\n');
    StringBuilder out = new StringBuilder(sep);
    appendLine(out, names, widths);
    out.append(sep);
    for (String[] line : cells) {
      appendLine(out, line, widths);
    }
    out.append(sep);
    if (more) {
      out.append("only showing top ").append(rows.size()).append(rows.size() == 1 ? " row\n" : " rows\n");
    }
    return out.toString();
  }

  /** Characters of one drawn row at most (cells are cut at {@value #MAX_CELL}). */
  static long rowBound(StructType schema) {
    long chars = 2;
    for (String name : schema.fieldNames()) {
      chars += Math.max(Math.max(3, name.length()), MAX_CELL) + 1;
    }
    return chars;
  }

  /** Characters of the borders, header and footer at most. */
  static long headerBound(StructType schema) {
    return 4 * rowBound(schema) + 40;
  }

  private static void appendLine(StringBuilder out, String[] values, int[] widths) {
    out.append('|');
    for (int c = 0; c < values.length; c++) {
      out.append(" ".repeat(widths[c] - values[c].length())).append(values[c]).append('|');
    }
    out.append('\n');
  }

  /** One value as {@code show()} prints it. */
  static String cell(Object value) {
    if (value == null) {
      return "NULL";
    }
    if (value instanceof byte[] bytes) {
      StringBuilder hex = new StringBuilder("[");
      for (int i = 0; i < bytes.length; i++) {
        hex.append(i == 0 ? "" : " ").append(String.format("%02X", bytes[i]));
      }
      return hex.append(']').toString();
    }
    if (value instanceof BigDecimal d) {
      return d.toPlainString();
    }
    if (value instanceof Timestamp t) {
      String text = t.toString();
      return text.endsWith(".0") ? text.substring(0, text.length() - 2) : text;
    }
    if (value instanceof Row row) {
      List<String> parts = new ArrayList<>(row.length());
      for (int i = 0; i < row.length(); i++) {
        parts.add(cell(row.get(i)));
      }
      return "{" + String.join(", ", parts) + "}";
    }
    if (value instanceof scala.collection.Map<?, ?> map) {
      List<String> parts = new ArrayList<>();
      for (Map.Entry<?, ?> e : CollectionConverters.asJava(map).entrySet()) {
        parts.add(cell(e.getKey()) + " -> " + cell(e.getValue()));
      }
      return "{" + String.join(", ", parts) + "}";
    }
    if (value instanceof scala.collection.Iterable<?> seq) {
      List<String> parts = new ArrayList<>();
      for (Object element : CollectionConverters.asJava(seq)) {
        parts.add(cell(element));
      }
      return "[" + String.join(", ", parts) + "]";
    }
    return value.toString();
  }
}
