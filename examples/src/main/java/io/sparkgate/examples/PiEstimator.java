package io.sparkgate.examples;

import java.util.ArrayList;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * Estimates pi by throwing darts at the unit square on the executors, as Spark's SparkPi does: the
 * batch the tests and the benchmark submit in place of the spark-examples jar.
 *
 * <p>Arguments: {@code [slices] [then]}: how many partitions (default 2); then {@code sleep:<s>} to
 * stay alive for that many seconds after the job (a long batch to kill), or {@code fail:<message>}
 * to throw after the job (a failing batch whose error must reach the batch log).
 */
public final class PiEstimator {

  private PiEstimator() {}

  public static void main(String[] args) throws Exception {
    int slices = args.length > 0 ? Integer.parseInt(args[0]) : 2;
    String then = args.length > 1 ? args[1] : "";
    int n = 100_000 * slices;
    try (JavaSparkContext sc = new JavaSparkContext(new SparkConf().setAppName("PiEstimator"))) {
      List<Integer> seeds = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        seeds.add(i);
      }
      long inside = sc.parallelize(seeds, slices).filter(i -> {
        double x = Math.random() * 2 - 1;
        double y = Math.random() * 2 - 1;
        return x * x + y * y <= 1;
      }).count();
      System.out.println("Pi is roughly " + 4.0 * inside / n);
      if (then.startsWith("sleep:")) {
        System.out.println("Sleeping " + then.substring(6) + " s");
        Thread.sleep(1000L * Integer.parseInt(then.substring(6)));
      } else if (then.startsWith("fail:")) {
        throw new IllegalStateException(then.substring(5));
      }
    }
  }
}
