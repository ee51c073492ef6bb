package io.sparkgate.devyarn;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.hdfs.MiniDFSCluster;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.apache.hadoop.yarn.server.MiniYARNCluster;

/**
 * A single-node YARN and HDFS in one JVM (MiniYARNCluster with one NodeManager, MiniDFSCluster with
 * one DataNode), for trying Sparkgate on YARN and for its YARN tests. It writes a Hadoop
 * configuration directory that points at them ({@code core-site.xml}, {@code yarn-site.xml}) and
 * the lines that point a gateway at them ({@link #exports()}).
 *
 * <p>Containers run as local processes of the machine's user, so an application master finds Spark
 * where the gateway does: the gateway can give {@code spark.yarn.jars=local:$SPARK_HOME/jars/*}
 * and nothing is uploaded per application.
 *
 * <p>Run as a program ({@code scripts/dev-yarn start}): {@code DevYarn <dir>} starts both, writes
 * {@code <dir>/conf}, {@code <dir>/env} (the exports) and {@code <dir>/ready}, and runs until killed.
 */
public final class DevYarn implements AutoCloseable {

  private final Path dir;
  private final MiniDFSCluster dfs;
  private final MiniYARNCluster yarn;
  private final Path confDir;

  private DevYarn(Path dir, MiniDFSCluster dfs, MiniYARNCluster yarn, Path confDir) {
    this.dir = dir;
    this.dfs = dfs;
    this.yarn = yarn;
    this.confDir = confDir;
  }

  /**
   * Starts HDFS, then YARN on it, with their data under {@code dir}, and writes {@code dir/conf}.
   * Takes some 15 s. Close it in a finally block: a half-started cluster keeps the JVM alive.
   */
  public static DevYarn start(Path dir) throws IOException {
    Files.createDirectories(dir);
    // Where MiniYARNCluster keeps its NodeManager's local and log directories.
    System.setProperty("test.build.data", dir.resolve("yarn").toAbsolutePath().toString());
    Configuration conf = new Configuration();
    conf.set(MiniDFSCluster.HDFS_MINIDFS_BASEDIR, dir.resolve("hdfs").toAbsolutePath().toString());
    conf.setBoolean("dfs.permissions.enabled", false);
    MiniDFSCluster dfs = null;
    MiniYARNCluster yarn = null;
    try {
      dfs = new MiniDFSCluster.Builder(conf).numDataNodes(1).build();
      dfs.waitActive();
      YarnConfiguration yconf = new YarnConfiguration(conf);
      yconf.set("fs.defaultFS", dfs.getURI().toString());
      // Small containers: a Spark driver or executor asks for 1 GiB plus overhead.
      yconf.setInt(YarnConfiguration.RM_SCHEDULER_MINIMUM_ALLOCATION_MB, 128);
      yconf.setInt(YarnConfiguration.NM_PMEM_MB, 12 * 1024);
      // MiniYARNCluster sizes its NodeManagers from its own key (4 GiB by default), not the above.
      yconf.setInt(YarnConfiguration.YARN_MINICLUSTER_NM_PMEM_MB, 12 * 1024);
      yconf.setInt(YarnConfiguration.NM_VCORES, 8);
      yconf.setBoolean(YarnConfiguration.NM_PMEM_CHECK_ENABLED, false);
      yconf.setBoolean(YarnConfiguration.NM_VMEM_CHECK_ENABLED, false);
      // A busy developer disk must not mark the only node unhealthy.
      yconf.setFloat(YarnConfiguration.NM_MAX_PER_DISK_UTILIZATION_PERCENTAGE, 100.0f);
      yconf.set("yarn.scheduler.capacity.root.queues", "default");
      yconf.set("yarn.scheduler.capacity.root.default.capacity", "100");
      yconf.set("yarn.scheduler.capacity.maximum-am-resource-percent", "1.0");
      // Keep finished applications' reports (the gateway reads their final state).
      yconf.setInt(YarnConfiguration.RM_MAX_COMPLETED_APPLICATIONS, 1000);
      // One NodeManager heartbeat per 100 ms: containers start and end promptly.
      yconf.setInt(YarnConfiguration.RM_NM_HEARTBEAT_INTERVAL_MS, 100);
      yconf.setInt("yarn.nodemanager.delete.debug-delay-sec", 0);
      yarn = new MiniYARNCluster("sparkgate-dev-yarn", 1, 1, 1);
      yarn.init(yconf);
      yarn.start();
      Path confDir = dir.resolve("conf");
      Files.createDirectories(confDir);
      writeXml(clientConfiguration(yarn.getConfig()), confDir.resolve("yarn-site.xml"));
      Configuration core = new Configuration(false);
      core.set("fs.defaultFS", dfs.getURI().toString());
      writeXml(core, confDir.resolve("core-site.xml"));
      return new DevYarn(dir, dfs, yarn, confDir);
    } catch (IOException | RuntimeException e) {
      stop(yarn, dfs);
      throw e;
    }
  }

  /**
   * What a client (the gateway, spark-submit, an application master) needs of the cluster's
   * configuration: the ResourceManager's addresses and the scheduler's limits. Not the whole of it:
   * the minicluster sets test-only classes (e.g. its static rack mapping) that an application
   * master could not load.
   */
  private static Configuration clientConfiguration(Configuration cluster) {
    Configuration c = new Configuration(false);
    for (Map.Entry<String, String> e : cluster) {
      String k = e.getKey();
      if (k.startsWith("yarn.resourcemanager.") || k.startsWith("yarn.scheduler.minimum-allocation")
          || k.startsWith("yarn.scheduler.maximum-allocation")) {
        c.set(k, cluster.get(k));
      }
    }
    return c;
  }

  private static void writeXml(Configuration c, Path file) throws IOException {
    try (OutputStream out = Files.newOutputStream(file)) {
      c.writeXml(out);
    }
  }

  /** The Hadoop configuration directory pointing at this cluster. */
  public Path confDir() {
    return confDir;
  }

  /** The HDFS URI, e.g. {@code hdfs://localhost:40123}. */
  public String defaultFs() {
    return dfs.getURI().toString();
  }

  /** A client configuration for this cluster. */
  public Configuration configuration() {
    Configuration c = new Configuration(yarn.getConfig());
    c.set("fs.defaultFS", defaultFs());
    return c;
  }

  /**
   * The environment that points a gateway at this cluster, as {@code scripts/sparkgate} reads it.
   *
   * @param sparkHome the Spark the gateway launches with (its jars are used in place, not uploaded)
   */
  public Map<String, String> exports(Path sparkHome) {
    Map<String, String> env = new java.util.LinkedHashMap<>();
    env.put("HADOOP_CONF_DIR", confDir.toAbsolutePath().toString());
    env.put("SPARKGATE_SPARK_MASTER", "yarn");
    env.put("SPARKGATE_SPARK_DEPLOY_MODE", "cluster");
    if (sparkHome != null) {
      env.put("SPARKGATE_YARN_SPARK_JARS", "local:" + sparkHome.resolve("jars").toAbsolutePath() + "/*");
    }
    return env;
  }

  @Override
  public void close() {
    stop(yarn, dfs);
  }

  private static void stop(MiniYARNCluster yarn, MiniDFSCluster dfs) {
    try {
      if (yarn != null) {
        yarn.stop();
      }
    } finally {
      if (dfs != null) {
        dfs.shutdown();
      }
    }
  }

  /**
   * Starts the dev YARN in a child JVM ({@link #main} with this JVM's classpath), waits for it to be
   * ready and returns it; {@link Process#destroy()} stops it (its shutdown hook closes the cluster).
   * Tests run it this way so that the cluster's garbage collections do not pause the gateway under
   * test.
   *
   * @param dir where its data, its conf dir ({@code dir/conf}) and its log ({@code dir/dev-yarn.log}) go
   */
  public static Process startProcess(Path dir, Path sparkHome, java.time.Duration timeout) throws IOException {
    Files.createDirectories(dir);
    Files.deleteIfExists(dir.resolve("ready"));
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    List<String> cmd = new ArrayList<>(List.of(java.toString(), "-Xmx768m", "-cp",
        System.getProperty("java.class.path"), DevYarn.class.getName(), dir.toString()));
    if (sparkHome != null) {
      cmd.add(sparkHome.toString());
    }
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(dir.resolve("dev-yarn.log").toFile()).start();
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      while (!Files.exists(dir.resolve("ready"))) {
        if (!p.isAlive()) {
          throw new IOException("the dev YARN exited with code " + p.exitValue() + "; see " + dir.resolve("dev-yarn.log"));
        }
        if (System.nanoTime() > deadline) {
          throw new IOException("the dev YARN did not start within " + timeout + "; see " + dir.resolve("dev-yarn.log"));
        }
        Thread.sleep(200);
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException(e);
    } catch (IOException | RuntimeException e) {
      p.destroyForcibly();
      throw e;
    }
    return p;
  }

  /** {@code DevYarn <dir> [sparkHome]}: starts, writes the files, runs until killed. */
  public static void main(String[] args) throws Exception {
    if (args.length < 1) {
      System.err.println("usage: DevYarn <dir> [sparkHome]");
      System.exit(2);
    }
    Path dir = Path.of(args[0]).toAbsolutePath();
    Path sparkHome = args.length > 1 && !args[1].isBlank() ? Path.of(args[1]) : null;
    Files.deleteIfExists(dir.resolve("ready"));
    DevYarn cluster = start(dir);
    Runtime.getRuntime().addShutdownHook(new Thread(cluster::close, "dev-yarn-stop"));
    List<String> lines = new ArrayList<>();
    for (Map.Entry<String, String> e : cluster.exports(sparkHome).entrySet()) {
      lines.add("export " + e.getKey() + "='" + e.getValue() + "'");
    }
    lines.add("# HDFS: " + cluster.defaultFs() + "  ResourceManager web UI: http://"
        + cluster.configuration().get(YarnConfiguration.RM_WEBAPP_ADDRESS));
    Files.write(dir.resolve("env"), lines, StandardCharsets.UTF_8);
    Files.writeString(dir.resolve("ready"), ProcessHandle.current().pid() + "\n");
    System.out.println("dev YARN ready: " + cluster.defaultFs());
    Thread.currentThread().join();
  }
}
