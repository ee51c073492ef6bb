package io.sparkgate.gateway.launch;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.yarn.api.protocolrecords.GetApplicationsRequest;
import org.apache.hadoop.yarn.api.records.ApplicationAttemptReport;
import org.apache.hadoop.yarn.api.records.ApplicationId;
import org.apache.hadoop.yarn.api.records.ApplicationReport;
import org.apache.hadoop.yarn.api.records.ContainerReport;
import org.apache.hadoop.yarn.api.records.YarnApplicationState;
import org.apache.hadoop.yarn.client.api.YarnClient;
import org.apache.hadoop.yarn.conf.YarnConfiguration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gateway's view of its YARN applications, through the Hadoop YARN client: finds each by its
 * tag (so an application is found even when spark-submit died before saying its id), tracks its
 * state, and kills it.
 *
 * <p>Every ResourceManager call runs on one daemon thread of this class, never on an event loop.
 * While anything is watched, that thread asks the ResourceManager for all watched applications in
 * one call every poll interval (one RPC whatever the number of applications) and tells each
 * watcher what changed; listeners are called on that thread and must hop to their own context.
 *
 * <p>Tags: every application carries {@code sparkgate-<gatewayId>} (how the gateway finds its own
 * applications at start-up, see {@link #orphans}) and one tag of its own,
 * {@code sparkgate-<gatewayId>-<kind>-<id>-<nonce>}; the nonce tells apart the batch 3 of this
 * gateway run from the batch 3 of an earlier one. YARN lowercases tags, so they are lowercase here.
 */
public final class YarnApplications implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(YarnApplications.class);

  private static final EnumSet<YarnApplicationState> LIVE = EnumSet.of(YarnApplicationState.NEW,
      YarnApplicationState.NEW_SAVING, YarnApplicationState.SUBMITTED, YarnApplicationState.ACCEPTED,
      YarnApplicationState.RUNNING);

  private final Configuration conf;
  private final YarnClient client;
  private final ScheduledExecutorService thread;
  private final String gatewayTag;
  private final String nonce;
  private final Duration pollInterval;
  private final Map<String, Watch> watches = new ConcurrentHashMap<>();
  private volatile boolean closed;

  private static final class Watch {
    final Consumer<AppInfo> listener;
    AppInfo last;
    boolean logUrlAsked;
    String logUrl;

    Watch(Consumer<AppInfo> listener) {
      this.listener = listener;
    }
  }

  /**
   * Connects to the ResourceManager that {@code hadoopConfDir} (its yarn-site.xml and core-site.xml)
   * names, or the Hadoop defaults when null. Blocking: call off the event loops.
   *
   * @param gatewayId this gateway's name in tags (stable across restarts, unique per cluster)
   */
  public YarnApplications(Path hadoopConfDir, String gatewayId, Duration pollInterval) {
    this.conf = hadoopConfiguration(hadoopConfDir);
    this.gatewayTag = "sparkgate-" + gatewayId.toLowerCase(Locale.ROOT);
    this.nonce = Long.toString(ThreadLocalRandom.current().nextLong(36L * 36 * 36 * 36 * 36, 36L * 36 * 36 * 36 * 36 * 36), 36);
    this.pollInterval = Objects.requireNonNull(pollInterval, "pollInterval");
    this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "sparkgate-yarn");
      t.setDaemon(true);
      return t;
    });
    this.client = YarnClient.createYarnClient();
    client.init(new YarnConfiguration(conf));
    client.start();
    thread.scheduleWithFixedDelay(this::poll, pollInterval.toMillis(), pollInterval.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Hadoop's configuration with the site files of {@code dir} (when not null) added. */
  public static Configuration hadoopConfiguration(Path dir) {
    Configuration c = new Configuration();
    if (dir != null) {
      for (String name : List.of("core-site.xml", "hdfs-site.xml", "yarn-site.xml")) {
        Path f = dir.resolve(name);
        if (Files.isRegularFile(f)) {
          c.addResource(new org.apache.hadoop.fs.Path(f.toUri()));
        }
      }
    }
    return c;
  }

  /** The Hadoop configuration the client uses (the default file system comes from it). */
  public Configuration configuration() {
    return conf;
  }

  /** The tag every application of this gateway carries. */
  public String gatewayTag() {
    return gatewayTag;
  }

  /** The tags ({@code spark.yarn.tags}) of the application of {@code kind} {@code id}: the gateway's and its own. */
  public String tag(String kind, int id) {
    return gatewayTag + "," + gatewayTag + "-" + kind + "-" + id + "-" + nonce;
  }

  /** The application's own tag out of {@link #tag}'s value. */
  static String ownTag(String tags) {
    int comma = tags.lastIndexOf(',');
    return comma < 0 ? tags : tags.substring(comma + 1);
  }

  /**
   * Watches the application tagged {@code ownTag}: {@code listener} hears of it once found and on
   * every change, until {@link #unwatch}.
   */
  public void watch(String ownTag, Consumer<AppInfo> listener) {
    watches.put(ownTag, new Watch(listener));
    // Look at once rather than a poll interval later.
    thread.execute(this::poll);
  }

  public void unwatch(String ownTag) {
    watches.remove(ownTag);
  }

  /** Asks the ResourceManager to kill {@code appId}; on the YARN thread, errors logged. */
  public void kill(String appId) {
    if (closed) {
      return;
    }
    thread.execute(() -> {
      try {
        client.killApplication(ApplicationId.fromString(appId));
        LOG.info("Killed YARN application {}", appId);
      } catch (Exception e) {
        LOG.warn("Could not kill YARN application {}: {}", appId, e.toString());
      }
    });
  }

  /**
   * The live applications tagged by this gateway whose own tag is not in {@code owned}: left by an
   * earlier run of the gateway. Blocking (one RPC): call off the event loops.
   */
  public List<AppInfo> orphans(Set<String> owned) throws IOException {
    try {
      List<AppInfo> out = new ArrayList<>();
      for (ApplicationReport r : client.getApplications(byTags(Set.of(gatewayTag), LIVE))) {
        boolean mine = r.getApplicationTags().stream().anyMatch(owned::contains);
        if (!mine) {
          out.add(info(r, null));
        }
      }
      return out;
    } catch (org.apache.hadoop.yarn.exceptions.YarnException e) {
      throw new IOException(e);
    }
  }

  /** The own tags ({@code sparkgate-<gw>-<kind>-<id>-<nonce>}) of a report's application. */
  static String ownTagOf(ApplicationReport r, String gatewayTag) {
    for (String t : r.getApplicationTags()) {
      if (t.startsWith(gatewayTag + "-")) {
        return t;
      }
    }
    return null;
  }

  /** The applications carrying any of {@code tags}, in {@code states} (null: any). */
  private static GetApplicationsRequest byTags(Set<String> tags, EnumSet<YarnApplicationState> states) {
    GetApplicationsRequest request = GetApplicationsRequest.newInstance();
    request.setApplicationTags(tags);
    if (states != null) {
      request.setApplicationStates(states);
    }
    return request;
  }

  private void poll() {
    if (closed || watches.isEmpty()) {
      return;
    }
    List<ApplicationReport> reports;
    try {
      reports = client.getApplications(byTags(Set.copyOf(watches.keySet()), null));
    } catch (Exception e) {
      LOG.warn("Polling the ResourceManager failed: {}", e.toString());
      return;
    }
    Map<String, ApplicationReport> byTag = new HashMap<>();
    for (ApplicationReport r : reports) {
      String own = ownTagOf(r, gatewayTag);
      if (own != null) {
        byTag.merge(own, r, (a, b) -> a.getStartTime() >= b.getStartTime() ? a : b);
      }
    }
    for (Map.Entry<String, ApplicationReport> e : byTag.entrySet()) {
      Watch w = watches.get(e.getKey());
      if (w == null) {
        continue;
      }
      ApplicationReport r = e.getValue();
      if (!w.logUrlAsked && r.getYarnApplicationState() == YarnApplicationState.RUNNING) {
        w.logUrlAsked = true;
        w.logUrl = amLogUrl(r);
      }
      AppInfo now = info(r, w.logUrl);
      if (!now.equals(w.last)) {
        w.last = now;
        try {
          w.listener.accept(now);
        } catch (RuntimeException ex) {
          LOG.error("A YARN watcher failed", ex);
        }
      }
      if (now.ended()) {
        watches.remove(e.getKey(), w);
      }
    }
  }

  /** The application master container's log page (where a cluster-mode driver logs), or null. */
  private String amLogUrl(ApplicationReport r) {
    try {
      if (r.getCurrentApplicationAttemptId() == null) {
        return null;
      }
      ApplicationAttemptReport attempt = client.getApplicationAttemptReport(r.getCurrentApplicationAttemptId());
      if (attempt == null || attempt.getAMContainerId() == null) {
        return null;
      }
      ContainerReport container = client.getContainerReport(attempt.getAMContainerId());
      return container == null ? null : container.getLogUrl();
    } catch (Exception e) {
      LOG.debug("No AM log URL for {}: {}", r.getApplicationId(), e.toString());
      return null;
    }
  }

  private static AppInfo info(ApplicationReport r, String logUrl) {
    String tracking = r.getTrackingUrl();
    if (tracking != null && (tracking.isBlank() || "N/A".equals(tracking))) {
      tracking = null;
    }
    if (tracking != null && !tracking.contains("://")) {
      tracking = "http://" + tracking;
    }
    String diagnostics = r.getDiagnostics();
    return new AppInfo(r.getApplicationId().toString(), r.getYarnApplicationState().name(),
        r.getFinalApplicationStatus() == null ? null : r.getFinalApplicationStatus().name(), logUrl, tracking,
        diagnostics == null || diagnostics.isBlank() ? null : diagnostics);
  }

  @Override
  public void close() {
    closed = true;
    thread.shutdownNow();
    try {
      client.stop();
    } catch (RuntimeException e) {
      LOG.debug("Stopping the YARN client failed", e);
    }
  }
}
