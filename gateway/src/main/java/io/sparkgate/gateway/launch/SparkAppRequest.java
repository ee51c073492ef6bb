package io.sparkgate.gateway.launch;

import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What a client asked of the Spark application behind a session: the fields of Livy's create
 * request that become spark-submit options. Already validated; null means not given.
 *
 * @param proxyUser user to run as ({@code --proxy-user})
 * @param jars {@code --jars}
 * @param pyFiles {@code --py-files}
 * @param files {@code --files}
 * @param archives {@code --archives}
 * @param driverMemory e.g. {@code 2g} ({@code --driver-memory})
 * @param driverCores {@code --driver-cores}
 * @param executorMemory {@code --executor-memory}
 * @param executorCores {@code --executor-cores}
 * @param numExecutors {@code --num-executors}
 * @param queue YARN queue ({@code --queue})
 * @param conf Spark properties, each one {@code --conf key=value}
 */
public record SparkAppRequest(
    String proxyUser,
    List<String> jars,
    List<String> pyFiles,
    List<String> files,
    List<String> archives,
    String driverMemory,
    Integer driverCores,
    String executorMemory,
    Integer executorCores,
    Integer numExecutors,
    String queue,
    Map<String, String> conf) {

  /** Nothing asked: Spark's and the gateway's defaults. */
  public static final SparkAppRequest DEFAULTS =
      new SparkAppRequest(null, List.of(), List.of(), List.of(), List.of(), null, null, null, null, null, null, Map.of());

  public SparkAppRequest {
    jars = List.copyOf(Objects.requireNonNull(jars, "jars"));
    pyFiles = List.copyOf(Objects.requireNonNull(pyFiles, "pyFiles"));
    files = List.copyOf(Objects.requireNonNull(files, "files"));
    archives = List.copyOf(Objects.requireNonNull(archives, "archives"));
    // Keep the client's order: spark-submit sees --conf options as given.
    conf = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(Objects.requireNonNull(conf, "conf")));
  }

  /** This request running as {@code user} ({@code --proxy-user}; null for the gateway's own user). */
  public SparkAppRequest withProxyUser(String user) {
    return new SparkAppRequest(user, jars, pyFiles, files, archives, driverMemory, driverCores, executorMemory,
        executorCores, numExecutors, queue, conf);
  }
}
