package io.sparkgate.gateway;

import io.sparkgate.gateway.launch.AppInfo;
import io.sparkgate.gateway.launch.FileResolver;
import io.sparkgate.gateway.launch.YarnApplications;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the gateway takes from Hadoop at start: the configuration directory, the default file system
 * (for {@link FileResolver}) and, with master {@code yarn}, the YARN client, after it dealt with the
 * applications an earlier run left behind ({@link GatewayConfig#YARN_ORPHANS}).
 *
 * @param confDir the Hadoop configuration directory, or null
 * @param yarn the YARN client, or null when the master is not yarn
 * @param sparkJars {@code spark.yarn.jars} for every application, or null
 * @param files resolves and checks the files clients name
 */
record HadoopSetup(Path confDir, YarnApplications yarn, String sparkJars, FileResolver files) {

  private static final Logger LOG = LoggerFactory.getLogger(HadoopSetup.class);

  /** Reads the Hadoop configuration and connects to YARN. Blocking: call off the event loops. */
  static HadoopSetup create(GatewayConfig config) throws Exception {
    String dir = config.get(GatewayConfig.HADOOP_CONF_DIR);
    if (dir == null || dir.isBlank()) {
      dir = System.getenv("HADOOP_CONF_DIR");
    }
    Path confDir = dir == null || dir.isBlank() ? null : Path.of(dir).toAbsolutePath().normalize();
    if (confDir != null && !Files.isDirectory(confDir)) {
      throw new ConfigException(java.util.List.of("Hadoop configuration directory " + confDir + " does not exist ("
          + GatewayConfig.HADOOP_CONF_DIR.key() + " or HADOOP_CONF_DIR)"));
    }
    org.apache.hadoop.conf.Configuration hadoop = YarnApplications.hadoopConfiguration(confDir);
    String defaultFs = hadoop.get("fs.defaultFS", "file:///");
    FileResolver files = new FileResolver(defaultFs,
        Arrays.asList(config.get(GatewayConfig.FILE_LOCAL_DIR_WHITELIST).split(",")),
        GatewayConfig.FILE_LOCAL_DIR_WHITELIST.key() + " (livy.file.local-dir-whitelist)");
    String jars = config.get(GatewayConfig.YARN_SPARK_JARS);
    jars = jars == null || jars.isBlank() ? null : jars;
    if (!"yarn".equals(config.get(GatewayConfig.SPARK_MASTER))) {
      return new HadoopSetup(confDir, null, jars, files);
    }
    YarnApplications yarn = new YarnApplications(confDir, config.get(GatewayConfig.YARN_GATEWAY_ID),
        config.get(GatewayConfig.YARN_POLL_INTERVAL));
    try {
      boolean kill = "kill".equals(config.get(GatewayConfig.YARN_ORPHANS));
      for (AppInfo orphan : yarn.orphans(Set.of())) {
        if (kill) {
          LOG.warn("YARN application {} ({}) is tagged {} but no session or batch owns it; killing it",
              orphan.appId(), orphan.state(), yarn.gatewayTag());
          yarn.kill(orphan.appId());
        } else {
          LOG.warn("YARN application {} ({}) is tagged {} but no session or batch owns it; left running"
              + " ({} = keep)", orphan.appId(), orphan.state(), yarn.gatewayTag(), GatewayConfig.YARN_ORPHANS.key());
        }
      }
    } catch (Exception e) {
      yarn.close();
      throw e;
    }
    LOG.info("On YARN: ResourceManager {}, default file system {}, tag {}",
        yarn.configuration().get("yarn.resourcemanager.address"), defaultFs, yarn.gatewayTag());
    return new HadoopSetup(confDir, yarn, jars, files);
  }

  void close() {
    if (yarn != null) {
      yarn.close();
    }
  }
}
