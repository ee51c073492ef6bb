package io.sparkgate.gateway.launch;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Everything a {@link DriverLauncher} needs to start one Spark driver.
 *
 * @param sessionId the gateway session, for thread names and messages
 * @param appName the Spark application name
 * @param mainClass the driver's main class
 * @param appResource the jar holding {@code mainClass}
 * @param app what the client asked of the application
 * @param gatewayConf Spark properties the gateway sets (after the client's, so they win)
 * @param environment extra environment of the driver process; values may be secret and are never
 *     printed (see {@link #toString()})
 * @param log where the driver's output lines go
 */
public record LaunchSpec(
    int sessionId,
    String appName,
    String mainClass,
    Path appResource,
    SparkAppRequest app,
    Map<String, String> gatewayConf,
    Map<String, String> environment,
    LogRing log) {

  public LaunchSpec {
    Objects.requireNonNull(appName, "appName");
    Objects.requireNonNull(mainClass, "mainClass");
    Objects.requireNonNull(appResource, "appResource");
    Objects.requireNonNull(app, "app");
    gatewayConf = Collections.unmodifiableMap(new LinkedHashMap<>(gatewayConf));
    environment = Map.copyOf(environment);
    Objects.requireNonNull(log, "log");
  }

  /** Names the environment variables but never shows their values. */
  @Override
  public String toString() {
    return "LaunchSpec[sessionId=" + sessionId + ", appName=" + appName + ", mainClass=" + mainClass
        + ", appResource=" + appResource + ", app=" + app + ", gatewayConf=" + gatewayConf
        + ", environment=" + environment.keySet() + "]";
  }
}
