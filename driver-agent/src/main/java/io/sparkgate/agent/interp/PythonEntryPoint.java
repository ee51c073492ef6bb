package io.sparkgate.agent.interp;

import java.util.Objects;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/**
 * What the Python REPL finds as {@code gateway.entry_point}: the driver's own SparkContext and
 * SparkSession, which it wraps as {@code sc} and {@code spark} instead of creating new ones. Public
 * because py4j calls it by reflection from Python; not for use from Java.
 */
public final class PythonEntryPoint {
  private final JavaSparkContext javaSparkContext;
  private final SparkSession sparkSession;

  PythonEntryPoint(SparkSession sparkSession) {
    this.sparkSession = Objects.requireNonNull(sparkSession, "sparkSession");
    this.javaSparkContext = JavaSparkContext.fromSparkContext(sparkSession.sparkContext());
  }

  /** The driver's SparkContext, as pyspark's {@code SparkContext(jsc=...)} takes it. */
  public JavaSparkContext javaSparkContext() {
    return javaSparkContext;
  }

  /**
   * Sets Spark local properties (a statement's job group, description, tags, pool) on the calling
   * thread, the JVM thread that serves the Python process, in one call: {@code json} is an object
   * from property name to value, where null clears the property.
   */
  public void applyLocalProperties(String json) throws java.io.IOException {
    org.apache.spark.SparkContext sc = sparkSession.sparkContext();
    var fields = Json.MAPPER.readTree(json).fields();
    while (fields.hasNext()) {
      var e = fields.next();
      sc.setLocalProperty(e.getKey(), e.getValue().isNull() ? null : e.getValue().asText());
    }
  }

  /** The driver's SparkSession, as pyspark's {@code SparkSession(sc, jsparkSession=...)} takes it. */
  public SparkSession sparkSession() {
    return sparkSession;
  }
}
