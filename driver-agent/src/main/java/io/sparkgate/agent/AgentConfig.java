package io.sparkgate.agent;

import static io.sparkgate.proto.LaunchContract.CANCEL_GRACE_SECONDS;
import static io.sparkgate.proto.LaunchContract.DEFAULT_CANCEL_GRACE_SECONDS;
import static io.sparkgate.proto.LaunchContract.DEFAULT_IDLE_EXIT_SECONDS;
import static io.sparkgate.proto.LaunchContract.DEFAULT_MAX_FRAME_LENGTH;
import static io.sparkgate.proto.LaunchContract.DEFAULT_MAX_OUTPUT_BYTES;
import static io.sparkgate.proto.LaunchContract.DEFAULT_SQL_MAX_ROWS;
import static io.sparkgate.proto.LaunchContract.GATEWAY_HOST;
import static io.sparkgate.proto.LaunchContract.GATEWAY_PORT;
import static io.sparkgate.proto.LaunchContract.IDLE_EXIT_SECONDS;
import static io.sparkgate.proto.LaunchContract.MAX_FRAME_LENGTH;
import static io.sparkgate.proto.LaunchContract.MAX_OUTPUT_BYTES;
import static io.sparkgate.proto.LaunchContract.SECRET_ENV;
import static io.sparkgate.proto.LaunchContract.SECRET_FILE;
import static io.sparkgate.proto.LaunchContract.SESSION_ID;
import static io.sparkgate.proto.LaunchContract.SESSION_KIND;
import static io.sparkgate.proto.LaunchContract.SQL_MAX_ROWS;

import java.util.Map;
import java.util.Objects;
import org.apache.spark.SparkConf;

/**
 * What the gateway tells an agent at launch: Spark conf entries set on the spark-submit command line,
 * and the session secret in the environment (never on a command line, never in a Spark conf, so that
 * neither {@code ps} nor the Spark UI shows it). The names are {@link io.sparkgate.proto.LaunchContract}'s,
 * which the gateway reads too.
 */
public record AgentConfig(
    String gatewayHost,
    int gatewayPort,
    int sessionId,
    String kind,
    byte[] secret,
    int maxOutputBytes,
    long idleExitMillis,
    int maxFrameLength,
    int sqlMaxRows,
    java.time.Duration cancelGrace) {

  public AgentConfig {
    Objects.requireNonNull(gatewayHost, "gatewayHost");
    Objects.requireNonNull(kind, "kind");
  }

  /**
   * Reads the launch settings.
   *
   * @throws IllegalArgumentException naming the setting that is missing or wrong
   */
  public static AgentConfig from(SparkConf conf, Map<String, String> env) {
    String secret = env.get(SECRET_ENV);
    if ((secret == null || secret.isBlank()) && conf.contains(SECRET_FILE)) {
      // On YARN in cluster mode: a file YARN localized into the working directory.
      java.nio.file.Path file = java.nio.file.Path.of(conf.get(SECRET_FILE));
      try {
        secret = java.nio.file.Files.readString(file, java.nio.charset.StandardCharsets.US_ASCII);
      } catch (java.io.IOException e) {
        throw new IllegalArgumentException("cannot read the secret file " + file.toAbsolutePath() + " ("
            + SECRET_FILE + "): " + e);
      }
    }
    if (secret == null || secret.isBlank()) {
      throw new IllegalArgumentException("the environment variable " + SECRET_ENV + " is not set");
    }
    byte[] secretBytes;
    try {
      secretBytes = io.sparkgate.proto.AgentAuth.decodeSecret(secret.trim());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(SECRET_ENV + " is not a valid secret: " + e.getMessage());
    }
    int maxOutput = intSetting(conf, MAX_OUTPUT_BYTES, DEFAULT_MAX_OUTPUT_BYTES);
    int maxFrame = intSetting(conf, MAX_FRAME_LENGTH, DEFAULT_MAX_FRAME_LENGTH);
    if (maxOutput <= 0 || maxOutput > maxFrame / 4) {
      throw new IllegalArgumentException(MAX_OUTPUT_BYTES + " must be between 1 and a quarter of "
          + MAX_FRAME_LENGTH + " (" + maxFrame / 4 + "): " + maxOutput);
    }
    return new AgentConfig(
        required(conf, GATEWAY_HOST),
        intSetting(conf, GATEWAY_PORT, -1),
        intSetting(conf, SESSION_ID, -1),
        conf.get(SESSION_KIND, ""),
        secretBytes,
        maxOutput,
        1000L * intSetting(conf, IDLE_EXIT_SECONDS, (int) DEFAULT_IDLE_EXIT_SECONDS),
        maxFrame,
        positive(conf, SQL_MAX_ROWS, intSetting(conf, SQL_MAX_ROWS, DEFAULT_SQL_MAX_ROWS)),
        java.time.Duration.ofSeconds(positive(conf, CANCEL_GRACE_SECONDS,
            intSetting(conf, CANCEL_GRACE_SECONDS, DEFAULT_CANCEL_GRACE_SECONDS))));
  }

  private static int positive(SparkConf conf, String key, int value) {
    if (value <= 0) {
      throw new IllegalArgumentException("the Spark conf " + key + " must be positive: " + conf.get(key));
    }
    return value;
  }

  private static String required(SparkConf conf, String key) {
    if (!conf.contains(key) || conf.get(key).isBlank()) {
      throw new IllegalArgumentException("the Spark conf " + key + " is not set");
    }
    return conf.get(key).trim();
  }

  private static int intSetting(SparkConf conf, String key, int dflt) {
    if (!conf.contains(key)) {
      if (dflt < 0) {
        throw new IllegalArgumentException("the Spark conf " + key + " is not set");
      }
      return dflt;
    }
    try {
      return Integer.parseInt(conf.get(key).trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("the Spark conf " + key + " is not a number: " + conf.get(key));
    }
  }
}
