package io.sparkgate.gateway.batch;

import io.sparkgate.gateway.launch.SparkAppRequest;
import java.util.List;
import java.util.Objects;

/**
 * A validated {@code POST /batches}: the application and how to run it.
 *
 * @param file the jar or Python file holding the application, resolved (a URI, or an allowed local path)
 * @param className the main class of a jar, or null
 * @param args the application's arguments
 * @param name the batch's name (also the Spark application name), or null
 * @param app the spark-submit options
 */
public record BatchRequest(String file, String className, List<String> args, String name, SparkAppRequest app) {
  public BatchRequest {
    Objects.requireNonNull(file, "file");
    args = List.copyOf(args);
    Objects.requireNonNull(app, "app");
  }

  /** The same request with {@code file} and the file lists of {@code app} replaced (resolved). */
  public BatchRequest withFiles(String resolvedFile, SparkAppRequest resolvedApp) {
    return new BatchRequest(resolvedFile, className, args, name, resolvedApp);
  }
}
