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

  /** The driver's SparkSession, as pyspark's {@code SparkSession(sc, jsparkSession=...)} takes it. */
  public SparkSession sparkSession() {
    return sparkSession;
  }
}
