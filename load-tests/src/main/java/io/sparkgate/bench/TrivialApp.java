package io.sparkgate.bench;

import org.apache.spark.sql.SparkSession;

/**
 * The baseline of the session start benchmark: the least a Spark application does, build a
 * SparkSession, run one trivial job, stop. Launched with a bare spark-submit.
 */
public final class TrivialApp {
  private TrivialApp() {}

  public static void main(String[] args) {
    SparkSession spark = SparkSession.builder().appName("sparkgate-bench-trivial").getOrCreate();
    long n = spark.range(1).count();
    System.out.println("trivial app counted " + n);
    spark.stop();
  }
}
