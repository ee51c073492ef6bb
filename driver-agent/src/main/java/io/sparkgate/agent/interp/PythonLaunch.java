package io.sparkgate.agent.interp;

import java.io.File;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.apache.spark.SparkConf;

/**
 * How the Python REPL process is launched: which Python runs it, which Python the executors' workers
 * run, its {@code PYTHONPATH} and its environment. Resolved once from the Spark conf and the agent's
 * environment, with Spark's own precedence.
 *
 * @param driverPython the REPL's Python: {@code spark.pyspark.driver.python}, else
 *     {@code spark.pyspark.python}, else {@code PYSPARK_DRIVER_PYTHON}, else {@code PYSPARK_PYTHON},
 *     else {@code python3}
 * @param workerPython the workers' Python ({@code PYSPARK_PYTHON} in the REPL, which pyspark hands to
 *     the JVM for every Python function): {@code spark.pyspark.python}, else {@code PYSPARK_PYTHON},
 *     else the REPL's Python, so that local mode works with whatever Python runs the REPL
 * @param pythonPath {@code $SPARK_HOME/python} and {@code $SPARK_HOME/python/lib/py4j-*-src.zip} when
 *     they exist (a Spark distribution; with a pip-installed pyspark the Python imports its own), then
 *     the agent's {@code PYTHONPATH}
 * @param baseEnvironment the agent's environment, which the REPL inherits
 */
record PythonLaunch(String driverPython, String workerPython, List<String> pythonPath, Map<String, String> baseEnvironment) {
  static final String DRIVER_PYTHON_CONF = "spark.pyspark.driver.python";
  static final String PYTHON_CONF = "spark.pyspark.python";

  /** Variables that would turn pyspark into a Spark Connect client instead of attaching to this JVM. */
  private static final List<String> CONNECT_VARIABLES =
      List.of("SPARK_REMOTE", "SPARK_CONNECT_MODE_ENABLED", "SPARK_LOCAL_REMOTE", "SPARK_CONNECT_MODE");

  PythonLaunch {
    Objects.requireNonNull(driverPython, "driverPython");
    Objects.requireNonNull(workerPython, "workerPython");
    pythonPath = List.copyOf(pythonPath);
    baseEnvironment = Map.copyOf(baseEnvironment);
  }

  static PythonLaunch resolve(SparkConf conf, Map<String, String> environment) {
    String driver = firstNonBlank(
        conf.get(DRIVER_PYTHON_CONF, null), conf.get(PYTHON_CONF, null),
        environment.get("PYSPARK_DRIVER_PYTHON"), environment.get("PYSPARK_PYTHON"), "python3");
    String worker = firstNonBlank(conf.get(PYTHON_CONF, null), environment.get("PYSPARK_PYTHON"), driver);
    Set<String> path = new LinkedHashSet<>();
    String sparkHome = environment.get("SPARK_HOME");
    if (sparkHome != null && !sparkHome.isBlank()) {
      path.addAll(sparkPythonPath(Paths.get(sparkHome)));
    }
    String inherited = environment.get("PYTHONPATH");
    if (inherited != null) {
      for (String entry : inherited.split(File.pathSeparator)) {
        if (!entry.isEmpty()) {
          path.add(entry);
        }
      }
    }
    return new PythonLaunch(driver, worker, new ArrayList<>(path), environment);
  }

  /** {@code SPARK_HOME/python} and its py4j source zip, those that exist. */
  static List<String> sparkPythonPath(Path sparkHome) {
    List<String> entries = new ArrayList<>();
    Path python = sparkHome.resolve("python");
    if (Files.isDirectory(python)) {
      entries.add(python.toAbsolutePath().toString());
    }
    Path lib = python.resolve("lib");
    if (Files.isDirectory(lib)) {
      List<String> zips = new ArrayList<>();
      try (DirectoryStream<Path> found = Files.newDirectoryStream(lib, "py4j-*-src.zip")) {
        for (Path zip : found) {
          zips.add(zip.toAbsolutePath().toString());
        }
      } catch (IOException e) {
        // Unreadable: the Python's own py4j, if any, is used.
      }
      zips.sort(null);
      entries.addAll(zips);
    }
    return entries;
  }

  /**
   * The REPL's environment: the agent's, with pyspark pointed at this JVM's gateway and the REPL at
   * its channel.
   */
  Map<String, String> environment(PythonChannelAddress channel, int gatewayPort, String gatewaySecret, int maxResultBytes) {
    Map<String, String> env = new HashMap<>(baseEnvironment);
    CONNECT_VARIABLES.forEach(env::remove);
    env.put("PYSPARK_PYTHON", workerPython);
    env.put("PYSPARK_DRIVER_PYTHON", driverPython);
    if (pythonPath.isEmpty()) {
      env.remove("PYTHONPATH");
    } else {
      env.put("PYTHONPATH", String.join(File.pathSeparator, pythonPath));
    }
    env.put("PYSPARK_GATEWAY_PORT", Integer.toString(gatewayPort));
    env.put("PYSPARK_GATEWAY_SECRET", gatewaySecret);
    // One JVM thread per Python thread (py4j's ClientServer), so that a job group set from Python
    // applies to the jobs that Python thread starts.
    env.put("PYSPARK_PIN_THREAD", "true");
    env.put("PYTHONUNBUFFERED", "1");
    env.put("PYTHONIOENCODING", "utf-8");
    env.putIfAbsent("MPLBACKEND", "Agg"); // matplotlib without a display, for %matplot
    env.put("SPARKGATE_REPL_HOST", channel.host());
    env.put("SPARKGATE_REPL_PORT", Integer.toString(channel.port()));
    env.put("SPARKGATE_REPL_SECRET", channel.secret());
    env.put("SPARKGATE_REPL_MAX_RESULT_BYTES", Integer.toString(maxResultBytes));
    return env;
  }

  private static String firstNonBlank(String... values) {
    for (String value : values) {
      if (value != null && !value.isBlank()) {
        return value;
      }
    }
    throw new IllegalArgumentException("no value");
  }

  /** Where the REPL dials the agent, and the secret it must present. */
  record PythonChannelAddress(String host, int port, String secret) {}
}
