package io.sparkgate.gateway.launch;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts each driver as a child process: {@code $SPARK_HOME/bin/spark-submit} with the gateway's
 * master and deploy mode, the client's options and the gateway's Spark properties.
 *
 * <p>The process is created on a Vert.x worker thread. A dedicated daemon thread per driver drains
 * its merged stdout and stderr into the session's {@link LogRing} (so the child never blocks on a
 * full pipe, and memory stays bounded). Killing destroys the whole process tree: the driver JVM
 * starts children of its own (the Python and R interpreters).
 *
 * <p>In client deploy mode the spark-submit process is the driver (the script ends in
 * {@code exec java}), so its exit is the driver's exit.
 *
 * <p>On YARN ({@code --master yarn}) every application is tagged ({@code spark.yarn.tags}, see
 * {@link YarnApplications#tag}) and its state comes from the ResourceManager, not from the
 * spark-submit process: in cluster mode spark-submit only submits
 * ({@code spark.yarn.submit.waitAppCompletion=false}) and exits, and the application is watched,
 * and killed, through YARN ({@link YarnDriver}). The session secret then travels in a file shipped
 * with {@code --files} (readable by its owner only; YARN localizes it into the application
 * master's private working directory) rather than in the environment, which does not reach a
 * driver on another host; see docs/yarn.md.
 */
public final class SparkSubmitLauncher implements DriverLauncher {

  private static final Logger LOG = LoggerFactory.getLogger(SparkSubmitLauncher.class);

  /** Property names whose values are hidden when a command line is logged. */
  private static final Pattern SECRET_KEY = Pattern.compile("(?i).*(secret|password|token|credential).*");

  /** How long to wait, after the process exited, for its output pipe to drain. */
  private static final long OUTPUT_DRAIN_MILLIS = 2000;

  private final Vertx vertx;
  private final DriverEnvironment inherit;
  private final Path sparkSubmit;
  private final String master;
  private final String deployMode;
  private final Yarn yarn;
  /** Null when the distribution carries SparkR, else why sparkr sessions cannot start. */
  private final String noSparkR;

  /**
   * @param sparkHome a Spark installation holding {@code bin/spark-submit}
   * @param master the {@code --master} of every driver
   * @param deployMode the {@code --deploy-mode} of every driver
   */
  public SparkSubmitLauncher(Vertx vertx, Path sparkHome, String master, String deployMode) {
    this(vertx, sparkHome, master, deployMode, (Yarn) null, DriverEnvironment.DEFAULT);
  }

  /**
   * @param inherit which of the gateway's environment variables drivers inherit
   */
  public SparkSubmitLauncher(Vertx vertx, Path sparkHome, String master, String deployMode,
      DriverEnvironment inherit) {
    this(vertx, sparkHome, master, deployMode, (Yarn) null, inherit);
  }

  /**
   * What a launcher on YARN needs besides the master.
   *
   * @param applications the ResourceManager client that finds, watches and kills applications
   * @param hadoopConfDir the Hadoop configuration directory given to spark-submit
   *     ({@code HADOOP_CONF_DIR}), or null for spark-submit's own environment
   * @param sparkJars {@code spark.yarn.jars} for every application, or null
   */
  public record Yarn(YarnApplications applications, Path hadoopConfDir, String sparkJars) {
    public Yarn {
      Objects.requireNonNull(applications, "applications");
    }
  }

  /**
   * @param yarn how to reach YARN when {@code master} is {@code yarn} (ignored otherwise)
   */
  public SparkSubmitLauncher(Vertx vertx, Path sparkHome, String master, String deployMode, Yarn yarn) {
    this(vertx, sparkHome, master, deployMode, yarn, DriverEnvironment.DEFAULT);
  }

  /**
   * @param yarn how to reach YARN when {@code master} is {@code yarn} (ignored otherwise)
   * @param inherit which of the gateway's environment variables drivers inherit
   */
  public SparkSubmitLauncher(Vertx vertx, Path sparkHome, String master, String deployMode, Yarn yarn,
      DriverEnvironment inherit) {
    this.inherit = Objects.requireNonNull(inherit, "inherit");
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    Path sparkR = sparkHome.resolve("R").resolve("lib").resolve("SparkR");
    // Looked up once, at start-up, off the event loop.
    this.noSparkR = java.nio.file.Files.isDirectory(sparkR) ? null
        : "sparkr sessions need SparkR, which the Spark distribution at " + sparkHome + " does not include ("
            + sparkR + " does not exist); set sparkgate.spark.home or SPARK_HOME to a Spark distribution with SparkR";
    this.sparkSubmit = sparkHome.resolve("bin").resolve("spark-submit");
    this.master = Objects.requireNonNull(master, "master");
    this.deployMode = Objects.requireNonNull(deployMode, "deployMode");
    // Without YARN settings a yarn master still gets its command line, but no tracking by tag.
    this.yarn = "yarn".equals(master) ? yarn : null;
  }

  /** Whether applications run on YARN. */
  public boolean onYarn() {
    return yarn != null;
  }

  private boolean clusterMode() {
    return "cluster".equals(deployMode);
  }

  @Override
  public String unsupported(io.sparkgate.gateway.session.Kind kind) {
    return kind == io.sparkgate.gateway.session.Kind.SPARKR ? noSparkR : null;
  }

  @Override
  public Future<DriverProcess> launch(LaunchSpec spec) {
    String tag = yarn == null ? null : yarn.applications().tag(spec.kind(), spec.id());
    return vertx.executeBlocking(() -> {
      Path secretDir = null;
      Map<String, String> env = new java.util.HashMap<>(spec.environment());
      List<String> extra = new ArrayList<>();
      if (yarn != null) {
        extra.add("spark.yarn.tags=" + tag);
        if (yarn.sparkJars() != null) {
          extra.add("spark.yarn.jars=" + yarn.sparkJars());
        }
        if (yarn.hadoopConfDir() != null) {
          env.put("HADOOP_CONF_DIR", yarn.hadoopConfDir().toString());
          env.put("YARN_CONF_DIR", yarn.hadoopConfDir().toString());
        }
        if (LaunchSpec.SESSION.equals(spec.kind())) {
          // Ships pyspark and py4j to the application master, for the session's Python interpreter.
          extra.add("spark.yarn.isPython=true");
          // A second attempt of an interactive driver would start empty: the session has ended.
          extra.add("spark.yarn.maxAppAttempts=1");
        }
        if (clusterMode()) {
          extra.add("spark.yarn.submit.waitAppCompletion=false");
          String secret = env.remove(io.sparkgate.proto.LaunchContract.SECRET_ENV);
          if (secret != null) {
            secretDir = SecretFile.write(secret);
          }
        }
      }
      List<String> command = command(spec, extra, secretDir);
      try {
        DriverProcess submit = start(spec, command, env);
        if (yarn == null) {
          return submit;
        }
        return new YarnDriver(vertx, spec.label(), tag, submit, yarn.applications(), spec.log(), clusterMode(),
            secretDir);
      } catch (IOException | RuntimeException e) {
        SecretFile.delete(secretDir);
        throw e;
      }
    }, false);
  }

  /** The spark-submit command line for {@code spec}. Holds no secret: those go in the environment. */
  public List<String> command(LaunchSpec spec) {
    return command(spec, List.of(), null);
  }

  private List<String> command(LaunchSpec spec, List<String> extraConf, Path secretDir) {
    SparkAppRequest app = spec.app();
    List<String> cmd = new ArrayList<>();
    cmd.add(sparkSubmit.toString());
    cmd.add("--master");
    cmd.add(master);
    cmd.add("--deploy-mode");
    cmd.add(deployMode);
    cmd.add("--name");
    cmd.add(spec.appName());
    addOption(cmd, "--class", spec.mainClass());
    addList(cmd, "--jars", app.jars());
    addList(cmd, "--py-files", app.pyFiles());
    List<String> files = app.files();
    if (secretDir != null) {
      files = new ArrayList<>(files);
      files.add(SecretFile.shipped(secretDir));
    }
    addList(cmd, "--files", files);
    addList(cmd, "--archives", app.archives());
    addOption(cmd, "--driver-memory", app.driverMemory());
    addOption(cmd, "--driver-cores", app.driverCores());
    addOption(cmd, "--executor-memory", app.executorMemory());
    addOption(cmd, "--executor-cores", app.executorCores());
    addOption(cmd, "--num-executors", app.numExecutors());
    addOption(cmd, "--queue", app.queue());
    addOption(cmd, "--proxy-user", app.proxyUser());
    // The client's properties first, the gateway's last: spark-submit keeps the last value of a key.
    for (Map.Entry<String, String> e : app.conf().entrySet()) {
      cmd.add("--conf");
      cmd.add(e.getKey() + "=" + e.getValue());
    }
    for (Map.Entry<String, String> e : spec.gatewayConf().entrySet()) {
      cmd.add("--conf");
      cmd.add(e.getKey() + "=" + e.getValue());
    }
    for (String c : extraConf) {
      cmd.add("--conf");
      cmd.add(c);
    }
    if (secretDir != null) {
      cmd.add("--conf");
      cmd.add(io.sparkgate.proto.LaunchContract.SECRET_FILE + "=" + io.sparkgate.proto.LaunchContract.SECRET_FILE_NAME);
    }
    cmd.add(spec.appResource());
    cmd.addAll(spec.appArgs());
    return cmd;
  }

  private static void addList(List<String> cmd, String option, List<String> values) {
    if (!values.isEmpty()) {
      cmd.add(option);
      cmd.add(String.join(",", values));
    }
  }

  private static void addOption(List<String> cmd, String option, Object value) {
    if (value != null) {
      cmd.add(option);
      cmd.add(value.toString());
    }
  }

  /** The command with the values of secret-looking properties hidden, for logs. */
  static String redacted(List<String> command) {
    return command.stream()
        .map(arg -> {
          int eq = arg.indexOf('=');
          return eq > 0 && SECRET_KEY.matcher(arg.substring(0, eq)).matches() ? arg.substring(0, eq) + "=*****" : arg;
        })
        .collect(Collectors.joining(" "));
  }

  /**
   * The whole environment of {@code spec}'s driver: the allow-listed part of {@code gatewayEnvironment}
   * and the spec's own variables (the session secret), which win.
   */
  public Map<String, String> environment(LaunchSpec spec, Map<String, String> gatewayEnvironment) {
    return environment(spec.environment(), gatewayEnvironment);
  }

  private Map<String, String> environment(Map<String, String> own, Map<String, String> gatewayEnvironment) {
    Map<String, String> env = new java.util.TreeMap<>(inherit.inherited(gatewayEnvironment));
    env.putAll(own);
    return env;
  }

  private DriverProcess start(LaunchSpec spec, List<String> command, Map<String, String> env) throws IOException {
    LOG.info("{}: launching {}", spec.label(), redacted(command));
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    // Not the gateway's whole environment: drivers run user code (DriverEnvironment).
    pb.environment().clear();
    pb.environment().putAll(environment(env, System.getenv()));
    pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
    Process process = pb.start();
    return new ChildDriver(vertx, spec.label(), process, spec.log());
  }

  /** A driver running as a child process of the gateway. */
  private static final class ChildDriver implements DriverProcess {
    private final Vertx vertx;
    private final String label;
    private final Process process;
    private final LogRing log;
    private final Promise<Integer> exit = Promise.promise();
    private final CompletableFuture<Void> outputDrained = new CompletableFuture<>();
    private final AtomicBoolean killing = new AtomicBoolean();

    ChildDriver(Vertx vertx, String label, Process process, LogRing log) {
      this.vertx = vertx;
      this.label = label;
      this.process = process;
      this.log = log;
      Thread reader = new Thread(this::drainOutput, "sparkgate-" + label.toLowerCase(java.util.Locale.ROOT).replace(' ', '-') + "-output");
      reader.setDaemon(true);
      reader.start();
      // Report the exit once the last output is in the log; a grandchild holding the pipe open must
      // not delay it for long.
      process.onExit()
          .thenCompose(p -> outputDrained.completeOnTimeout(null, OUTPUT_DRAIN_MILLIS, TimeUnit.MILLISECONDS))
          .whenComplete((v, t) -> {
            int code = process.exitValue();
            LOG.info("{}: process {} exited with code {}", label, process.pid(), code);
            exit.tryComplete(code);
          });
    }

    private void drainOutput() {
      try (Reader in = new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)) {
        readLines(in, log);
      } catch (IOException e) {
        // The pipe closes when the process dies; anything else is worth a note.
        if (process.isAlive()) {
          LOG.warn("{}: reading driver output failed", label, e);
        }
      } finally {
        outputDrained.complete(null);
      }
    }

    @Override
    public Future<Integer> exit() {
      return exit.future();
    }

    @Override
    public boolean isAlive() {
      return process.isAlive();
    }

    @Override
    public LogRing log() {
      return log;
    }

    @Override
    public String describe() {
      return "pid " + process.pid();
    }

    @Override
    public Future<Void> kill(Duration grace) {
      // Signal through the ProcessHandle: Process.destroy() would also close our end of the output
      // pipe and lose the driver's last lines.
      ProcessHandle driver = process.toHandle();
      if (killing.compareAndSet(false, true) && driver.isAlive()) {
        vertx.executeBlocking(() -> {
          // Children first: once the driver dies they are re-parented and out of reach.
          List<ProcessHandle> tree = driver.descendants().collect(Collectors.toList());
          tree.forEach(ProcessHandle::destroy);
          driver.destroy();
          return tree;
        }, false).onSuccess(tree -> vertx.setTimer(Math.max(1, grace.toMillis()), id -> {
          if (driver.isAlive() || tree.stream().anyMatch(ProcessHandle::isAlive)) {
            vertx.executeBlocking(() -> {
              if (driver.isAlive()) {
                LOG.warn("{}: process {} did not stop within {} ms of SIGTERM; killing it", label,
                    driver.pid(), grace.toMillis());
              }
              driver.descendants().forEach(ProcessHandle::destroyForcibly);
              tree.forEach(ProcessHandle::destroyForcibly);
              driver.destroyForcibly();
              return null;
            }, false);
          }
        }));
      }
      return exit.future().mapEmpty();
    }
  }

  /**
   * Splits {@code in} into lines (LF, CR or CRLF) without ever buffering more than one capped line:
   * the characters of an overlong line past the cap are dropped here, and the log marks the cut.
   */
  static void readLines(Reader in, LogRing log) throws IOException {
    char[] buf = new char[8192];
    StringBuilder line = new StringBuilder();
    boolean lastWasCr = false;
    int n;
    while ((n = in.read(buf)) != -1) {
      for (int i = 0; i < n; i++) {
        char c = buf[i];
        if (c == '\n' && lastWasCr) {
          lastWasCr = false;
          continue;
        }
        lastWasCr = c == '\r';
        if (c == '\n' || c == '\r') {
          log.append(line.toString());
          line.setLength(0);
        } else if (line.length() <= LogRing.MAX_LINE_LENGTH) {
          line.append(c);
        }
      }
    }
    if (line.length() > 0) {
      log.append(line.toString());
    }
  }

  /** Reads all of {@code in} into {@code log}; visible for tests. */
  static void readLines(InputStream in, LogRing log) throws IOException {
    readLines(new InputStreamReader(in, StandardCharsets.UTF_8), log);
  }
}
