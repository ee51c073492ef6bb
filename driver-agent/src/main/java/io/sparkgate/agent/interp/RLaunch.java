package io.sparkgate.agent.interp;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.apache.spark.SparkConf;

/**
 * How the R REPL process is launched: which R runs it, where SparkR is, and its environment.
 * Resolved once from the Spark conf and the agent's environment, with Spark's own precedence.
 *
 * @param rCommand the Rscript-compatible executable: {@code spark.r.driver.command}, else
 *     {@code spark.r.command}, else {@code Rscript} (found on {@code PATH})
 * @param sparkHome {@code SPARK_HOME} from the environment, else {@code spark.home} from the conf;
 *     null when neither is set
 * @param backendConnectionTimeoutSeconds {@code spark.r.backendConnectionTimeout}, handed to SparkR
 *     as {@code SPARKR_BACKEND_CONNECTION_TIMEOUT}
 * @param baseEnvironment the agent's environment, which the REPL inherits
 */
record RLaunch(String rCommand, String sparkHome, int backendConnectionTimeoutSeconds, Map<String, String> baseEnvironment) {
  static final String DRIVER_COMMAND_CONF = "spark.r.driver.command";
  static final String COMMAND_CONF = "spark.r.command";
  static final String BACKEND_TIMEOUT_CONF = "spark.r.backendConnectionTimeout";
  static final String DEFAULT_COMMAND = "Rscript";
  static final int DEFAULT_BACKEND_TIMEOUT_SECONDS = 6000;

  /** Variables of a SparkR attachment that a plain REPL must not inherit (it would try to attach). */
  private static final List<String> SPARKR_VARIABLES = List.of(
      "SPARKR_PACKAGE_DIR", "EXISTING_SPARKR_BACKEND_PORT", "SPARKR_BACKEND_AUTH_SECRET",
      "SPARKR_BACKEND_CONNECTION_TIMEOUT", "SPARKGATE_R_SPARK_SESSION");

  RLaunch {
    Objects.requireNonNull(rCommand, "rCommand");
    baseEnvironment = Map.copyOf(baseEnvironment);
  }

  static RLaunch resolve(SparkConf conf, Map<String, String> environment) {
    String command = firstNonBlank(conf.get(DRIVER_COMMAND_CONF, null), conf.get(COMMAND_CONF, null), DEFAULT_COMMAND);
    String home = firstNonBlank(environment.get("SPARK_HOME"), conf.get("spark.home", null), null);
    int timeout = conf.getInt(BACKEND_TIMEOUT_CONF, DEFAULT_BACKEND_TIMEOUT_SECONDS);
    return new RLaunch(command, home, timeout, environment);
  }

  /**
   * The folder that holds the SparkR package ({@code $SPARK_HOME/R/lib}).
   *
   * @throws InterpreterUnavailableException SPARK_HOME is not set or has no SparkR; the message says
   *     what is missing and where it was looked for
   */
  Path sparkRLibrary() throws InterpreterUnavailableException {
    if (sparkHome == null) {
      throw new InterpreterUnavailableException(RInterpreter.KIND,
          "SparkR needs a Spark distribution that includes it, but SPARK_HOME is not set (neither the"
              + " SPARK_HOME environment variable nor spark.home); set SPARK_HOME to a Spark distribution"
              + " that includes SparkR (R/lib/SparkR)");
    }
    Path lib = Paths.get(sparkHome, "R", "lib").toAbsolutePath().normalize();
    Path sparkR = lib.resolve("SparkR");
    if (!Files.isDirectory(sparkR)) {
      throw new InterpreterUnavailableException(RInterpreter.KIND,
          "SparkR is not in this Spark distribution: " + sparkR + " does not exist; set SPARK_HOME to a"
              + " Spark distribution that includes SparkR (the pip-installed pyspark package has none)");
    }
    return lib;
  }

  /**
   * The REPL's environment: the agent's, with the REPL pointed at its channel and, when
   * {@code sparkR} is not null, SparkR pointed at the driver's backend.
   */
  Map<String, String> environment(ChannelAddress channel, SparkRAttachment sparkR) {
    Map<String, String> env = new HashMap<>(baseEnvironment);
    SPARKR_VARIABLES.forEach(env::remove);
    ensureUtf8Locale(env);
    env.put("SPARKGATE_R_HOST", channel.host());
    env.put("SPARKGATE_R_PORT", Integer.toString(channel.port()));
    env.put("SPARKGATE_R_SECRET", channel.secret());
    if (sparkR != null) {
      if (sparkHome != null) {
        env.put("SPARK_HOME", sparkHome); // from spark.home too: SparkR reads the variable
      }
      env.put("SPARKR_PACKAGE_DIR", sparkR.library().toString());
      env.put("EXISTING_SPARKR_BACKEND_PORT", Integer.toString(sparkR.backendPort()));
      env.put("SPARKR_BACKEND_AUTH_SECRET", sparkR.backendSecret());
      env.put("SPARKR_BACKEND_CONNECTION_TIMEOUT", Integer.toString(backendConnectionTimeoutSeconds));
      env.put("SPARKGATE_R_SPARK_SESSION", sparkR.sessionToken());
    }
    return env;
  }

  /**
   * R reads and writes text in its locale's encoding; the channel and the output streams are UTF-8.
   * A locale that is not UTF-8 gets {@code LC_CTYPE=C.UTF-8}, keeping the other categories.
   */
  static void ensureUtf8Locale(Map<String, String> env) {
    String all = env.get("LC_ALL");
    String effective = firstNonBlank(all, env.get("LC_CTYPE"), env.get("LANG"), "C");
    if (isUtf8(effective)) {
      return;
    }
    if (all != null && !all.isBlank()) {
      env.remove("LC_ALL"); // LC_ALL would override LC_CTYPE; LANG keeps its other categories
      env.put("LANG", all);
    }
    env.put("LC_CTYPE", "C.UTF-8");
  }

  private static boolean isUtf8(String locale) {
    String l = locale.toLowerCase(Locale.ROOT);
    return l.contains("utf-8") || l.contains("utf8");
  }

  private static String firstNonBlank(String... values) {
    for (String value : values) {
      if (value != null && !value.isBlank()) {
        return value;
      }
    }
    return null;
  }

  /** Where the REPL dials the agent, and the secret it must present. */
  record ChannelAddress(String host, int port, String secret) {}

  /**
   * What the REPL needs to attach SparkR to the driver: the package folder, the backend's port and
   * secret, and the token that {@link RSparkEntries} resolves to the driver's SparkSession.
   */
  record SparkRAttachment(Path library, int backendPort, String backendSecret, String sessionToken) {}
}
