package io.sparkgate.gateway.e2e;

import io.sparkgate.examples.PiEstimator;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

/**
 * The applications the batch tests submit: the examples module's {@link PiEstimator} as a jar, and a
 * pyspark PI estimator as a .py file.
 */
final class ExampleApps {

  static final String PI_CLASS = PiEstimator.class.getName();

  /** A Python PI estimator; its optional first argument is the number of partitions. */
  static final String PI_PY = """
      import sys
      from random import random
      from pyspark.sql import SparkSession

      spark = SparkSession.builder.appName("PythonPi").getOrCreate()
      slices = int(sys.argv[1]) if len(sys.argv) > 1 else 2
      n = 100000 * slices

      def inside(_):
          x, y = random() * 2 - 1, random() * 2 - 1
          return 1 if x * x + y * y <= 1 else 0

      count = spark.sparkContext.parallelize(range(n), slices).map(inside).reduce(lambda a, b: a + b)
      print("Pi is roughly %f" % (4.0 * count / n))
      spark.stop()
      """;

  private ExampleApps() {}

  /**
   * The examples jar in {@code dir}: the module's own jar when the build made it, else one packed
   * here from its compiled classes (a reactor build up to {@code test} makes no jars).
   */
  static Path jar(Path dir) throws IOException {
    Path source;
    try {
      source = Path.of(PiEstimator.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    } catch (java.net.URISyntaxException e) {
      throw new IOException(e);
    }
    Path jar = dir.resolve("sparkgate-examples.jar");
    if (Files.isRegularFile(source)) {
      return Files.copy(source, jar, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
    try (OutputStream out = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(out);
        Stream<Path> files = Files.walk(source)) {
      for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
        j.putNextEntry(new JarEntry(source.relativize(f).toString().replace('\\', '/')));
        Files.copy(f, j);
        j.closeEntry();
      }
    }
    return jar;
  }
}
