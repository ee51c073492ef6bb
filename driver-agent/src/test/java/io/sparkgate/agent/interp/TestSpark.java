package io.sparkgate.agent.interp;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkConf;
import org.apache.spark.sql.SparkSession;

/**
 * A real local[2] SparkSession with a started and bound Scala interpreter, set up as the agent does:
 * the REPL class directory named in the conf before the SparkContext exists, and the interpreter
 * warmed up on another thread while the SparkContext starts. One per test class.
 */
public final class TestSpark implements AutoCloseable {
  public final SparkSession spark;
  public final ScalaInterpreter scala;

  private TestSpark(SparkSession spark, ScalaInterpreter scala) {
    this.spark = spark;
    this.scala = scala;
  }

  public static TestSpark start(String appName) throws Exception {
    SparkConf conf = new SparkConf()
        .setMaster("local[2]")
        .setAppName(appName)
        .set("spark.ui.enabled", "false")
        .set("spark.driver.host", "127.0.0.1")
        .set("spark.driver.bindAddress", "127.0.0.1")
        .set("spark.sql.shuffle.partitions", "2");
    Path classDir = ScalaInterpreter.prepareClassOutputDir(conf);
    ScalaInterpreter scala = new ScalaInterpreter(classDir);
    CompletableFuture<Void> warmUp = CompletableFuture.runAsync(() -> {
      try {
        scala.start();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    SparkSession spark = SparkSession.builder().config(conf).getOrCreate();
    warmUp.get(2, TimeUnit.MINUTES);
    scala.bind(spark);
    return new TestSpark(spark, scala);
  }

  @Override
  public void close() {
    scala.close();
    spark.stop();
  }
}
