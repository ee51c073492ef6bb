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

  /** The provisioned Python (with pyspark), as scripts/ install it. */
  static final java.nio.file.Path PYTHON_HOME = java.nio.file.Paths.get(System.getProperty("user.home"), ".cache", "sparkgate", "pyspark-4.2.0");

  /**
   * A registry with this Scala interpreter and a pyspark interpreter on the provisioned Python,
   * with SPARK_HOME as spark-submit sets it; the caller adds others and closes it.
   */
  InterpreterRegistry registryWithPython() {
    java.nio.file.Path python = PYTHON_HOME.resolve("bin").resolve("python");
    org.junit.jupiter.api.Assertions.assertTrue(java.nio.file.Files.isExecutable(python), "the provisioned Python is missing: " + python);
    java.util.Map<String, String> env = new java.util.HashMap<>(System.getenv());
    env.put("SPARK_HOME", PYTHON_HOME.resolve("lib").resolve("python3.11").resolve("site-packages").resolve("pyspark").toString());
    env.put("PYSPARK_PYTHON", python.toString());
    return new InterpreterRegistry()
        .registerStarted(scala)
        .register(PythonInterpreter.KIND, () -> new PythonInterpreter(spark, CapturedOutput.DEFAULT_LIMIT_BYTES, env));
  }

  @Override
  public void close() {
    scala.close();
    spark.stop();
  }
}
