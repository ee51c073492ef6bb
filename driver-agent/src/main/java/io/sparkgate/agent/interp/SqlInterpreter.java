package io.sparkgate.agent.interp;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.ArrayType;
import org.apache.spark.sql.types.DataType;
import org.apache.spark.sql.types.MapType;
import org.apache.spark.sql.types.StructField;
import org.apache.spark.sql.types.StructType;
import scala.jdk.javaapi.CollectionConverters;

/**
 * The {@code sql} kind: each statement is one {@code spark.sql(code)}.
 *
 * <p>Success data, in the shape of Livy's SQL interpreter:
 * <pre>
 * application/json: {"schema": &lt;the DataFrame schema's JSON&gt;, "data": [[col1, col2, ...], ...]}
 * text/plain:       the same rows as a table, as {@code DataFrame.show} draws it
 * </pre>
 * At most {@code maxRows} rows (Livy's {@code livy.rsc.sql.num-rows}, default
 * {@value #DEFAULT_MAX_ROWS}), and fewer when they would pass {@code maxResultBytes} (the result is
 * then marked truncated); the table says when there were more. Values become JSON numbers,
 * strings, booleans and null; decimals stay exact; dates and timestamps become strings; arrays
 * arrays; maps and structs objects; binary an array of byte values.
 *
 * <p>Failure: {@code ename} {@code "Error"}, {@code evalue} the exception message,
 * {@code traceback} its stack frames, as Livy. No completion.
 */
public final class SqlInterpreter implements Interpreter {
  public static final String KIND = "sql";
  public static final int DEFAULT_MAX_ROWS = 1000;

  private final SparkSession spark;
  private final int maxRows;
  private final int maxResultBytes;

  /** {@value #DEFAULT_MAX_ROWS} rows, results up to {@link CapturedOutput#DEFAULT_LIMIT_BYTES}. */
  public SqlInterpreter(SparkSession spark) {
    this(spark, DEFAULT_MAX_ROWS, CapturedOutput.DEFAULT_LIMIT_BYTES);
  }

  /**
   * @param maxRows rows returned at most
   * @param maxResultBytes bound on the JSON rows plus the text table, in bytes: rows past it are
   *     left out (the result is then marked truncated), so that a wide result cannot exceed what one
   *     event may carry
   */
  public SqlInterpreter(SparkSession spark, int maxRows, int maxResultBytes) {
    this.spark = Objects.requireNonNull(spark, "spark");
    if (maxRows <= 0 || maxResultBytes <= 0) {
      throw new IllegalArgumentException("maxRows and maxResultBytes must be positive");
    }
    this.maxRows = maxRows;
    this.maxResultBytes = maxResultBytes;
  }

  @Override
  public String kind() {
    return KIND;
  }

  @Override
  public void start() {
    if (spark.sparkContext().isStopped()) {
      throw new IllegalStateException("the SparkContext is stopped");
    }
  }

  @Override
  public ExecuteResult execute(String code, OutputSink sink) {
    try {
      Dataset<Row> frame = spark.sql(code);
      StructType schema = frame.schema();
      List<Row> rows = frame.takeAsList(maxRows + 1);
      boolean more = rows.size() > maxRows;
      StructField[] fields = schema.fields();
      ObjectNode json = Json.NODES.objectNode();
      json.set("schema", Json.read(schema.json()));
      ArrayNode data = json.putArray("data");
      long budget = maxResultBytes - (long) Json.write(json).length() - TextTable.headerBound(schema);
      long rowTextBound = TextTable.rowBound(schema);
      int kept = 0;
      boolean cut = false;
      for (Row row : rows.subList(0, Math.min(rows.size(), maxRows))) {
        ArrayNode values = Json.NODES.arrayNode(row.length());
        for (int i = 0; i < row.length(); i++) {
          values.add(toJson(row.get(i), i < fields.length ? fields[i].dataType() : null));
        }
        budget -= CapturedOutput.utf8Length(Json.write(values)) + 1 + rowTextBound;
        if (budget < 0) {
          cut = true;
          break;
        }
        data.add(values);
        kept++;
      }
      Map<String, Object> result = new LinkedHashMap<>();
      result.put(ExecuteResult.APPLICATION_JSON, json);
      result.put(ExecuteResult.TEXT_PLAIN, TextTable.render(schema, rows.subList(0, kept), more || cut));
      return new ExecuteResult.Ok(result, cut);
    } catch (Exception e) { // AnalysisException and ParseException are checked exceptions to Java
      List<String> frames = new ArrayList<>();
      for (StackTraceElement element : e.getStackTrace()) {
        frames.add(element.toString());
      }
      return ExecuteResult.failure("Error", String.valueOf(e.getMessage()), frames);
    }
  }

  /** A value of a row as JSON; {@code type} (may be null) names struct fields. */
  static JsonNode toJson(Object value, DataType type) {
    if (value == null) {
      return Json.NODES.nullNode();
    }
    if (value instanceof String s) {
      return Json.NODES.textNode(s);
    }
    if (value instanceof Boolean b) {
      return Json.NODES.booleanNode(b);
    }
    if (value instanceof Integer || value instanceof Long || value instanceof Short || value instanceof Byte) {
      return Json.NODES.numberNode(((Number) value).longValue());
    }
    if (value instanceof Double || value instanceof Float) {
      double d = ((Number) value).doubleValue();
      // JSON has no NaN or infinities.
      return Double.isFinite(d) ? Json.NODES.numberNode(d) : Json.NODES.textNode(Double.toString(d));
    }
    if (value instanceof BigDecimal d) {
      return Json.NODES.numberNode(d);
    }
    if (value instanceof BigInteger i) {
      return Json.NODES.numberNode(i);
    }
    if (value instanceof byte[] bytes) {
      ArrayNode array = Json.NODES.arrayNode(bytes.length);
      for (byte b : bytes) {
        array.add(b);
      }
      return array;
    }
    if (value instanceof Row row) {
      StructField[] fields = type instanceof StructType struct ? struct.fields() : null;
      if (fields == null || fields.length != row.length()) {
        ArrayNode array = Json.NODES.arrayNode(row.length());
        for (int i = 0; i < row.length(); i++) {
          array.add(toJson(row.get(i), null));
        }
        return array;
      }
      ObjectNode object = Json.NODES.objectNode();
      for (int i = 0; i < fields.length; i++) {
        object.set(fields[i].name(), toJson(row.get(i), fields[i].dataType()));
      }
      return object;
    }
    if (value instanceof scala.collection.Map<?, ?> map) {
      DataType valueType = type instanceof MapType m ? m.valueType() : null;
      ObjectNode object = Json.NODES.objectNode();
      for (Map.Entry<?, ?> e : CollectionConverters.asJava(map).entrySet()) {
        object.set(String.valueOf(e.getKey()), toJson(e.getValue(), valueType));
      }
      return object;
    }
    if (value instanceof scala.collection.Iterable<?> seq) {
      DataType elementType = type instanceof ArrayType a ? a.elementType() : null;
      ArrayNode array = Json.NODES.arrayNode();
      for (Object element : CollectionConverters.asJava(seq)) {
        array.add(toJson(element, elementType));
      }
      return array;
    }
    return Json.NODES.textNode(TextTable.cell(value));
  }

  @Override
  public List<String> complete(String code, int cursor) {
    return List.of();
  }

  @Override
  public void close() {}
}
