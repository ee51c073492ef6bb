package io.sparkgate.gateway.launch;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Everything a {@link DriverLauncher} needs to start one Spark application.
 *
 * @param kind what the application serves, {@code session} or {@code batch}: with {@code id} it
 *     names the application in messages and in its YARN tag
 * @param id the session's or batch's id
 * @param appName the Spark application name
 * @param mainClass the driver's main class, or null (a Python application, or a jar whose manifest
 *     names it)
 * @param appResource the jar or Python file holding the application: a URI or a local path
 * @param appArgs the application's arguments
 * @param app what the client asked of the application
 * @param gatewayConf Spark properties the gateway sets (after the client's, so they win)
 * @param environment extra environment of the driver process; values may be secret and are never
 *     printed (see {@link #toString()})
 * @param log where the driver's output lines go
 */
public record LaunchSpec(
    String kind,
    int id,
    String appName,
    String mainClass,
    String appResource,
    List<String> appArgs,
    SparkAppRequest app,
    Map<String, String> gatewayConf,
    Map<String, String> environment,
    LogRing log) {

  /** {@link #kind} of an interactive session's driver. */
  public static final String SESSION = "session";
  /** {@link #kind} of a batch. */
  public static final String BATCH = "batch";

  public LaunchSpec {
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(appName, "appName");
    Objects.requireNonNull(appResource, "appResource");
    appArgs = List.copyOf(appArgs);
    Objects.requireNonNull(app, "app");
    gatewayConf = Collections.unmodifiableMap(new LinkedHashMap<>(gatewayConf));
    environment = Map.copyOf(environment);
    Objects.requireNonNull(log, "log");
  }

  /** An interactive session's driver: {@code mainClass} from the local jar {@code appResource}, no arguments. */
  public LaunchSpec(int sessionId, String appName, String mainClass, Path appResource, SparkAppRequest app,
      Map<String, String> gatewayConf, Map<String, String> environment, LogRing log) {
    this(SESSION, sessionId, appName, Objects.requireNonNull(mainClass, "mainClass"), appResource.toString(),
        List.of(), app, gatewayConf, environment, log);
  }

  /** "Session 3", "Batch 7": for messages and thread names. */
  public String label() {
    return Character.toUpperCase(kind.charAt(0)) + kind.substring(1) + " " + id;
  }

  /** Names the environment variables but never shows their values. */
  @Override
  public String toString() {
    return "LaunchSpec[" + label() + ", appName=" + appName + ", mainClass=" + mainClass
        + ", appResource=" + appResource + ", appArgs=" + appArgs + ", app=" + app + ", gatewayConf=" + gatewayConf
        + ", environment=" + environment.keySet() + "]";
  }
}
