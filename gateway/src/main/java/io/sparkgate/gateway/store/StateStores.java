package io.sparkgate.gateway.store;

import io.sparkgate.gateway.GatewayConfig;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;

/** Opens the state store the configuration names. Blocking: call it off the event loops. */
public final class StateStores {

  /** The file store's directory when the config names none, relative to $SPARKGATE_HOME. */
  public static final String DEFAULT_DIR = "run/state";
  private static final long ZOOKEEPER_CONNECT_TIMEOUT_MILLIS = 30_000;

  private StateStores() {}

  /** Whether the configuration turns recovery on. */
  public static boolean enabled(GatewayConfig config) {
    return "recovery".equals(config.get(GatewayConfig.RECOVERY_MODE));
  }

  /**
   * The configured store, or null with recovery off.
   *
   * @throws IOException when it cannot be opened (a directory not writable, ZooKeeper unreachable)
   */
  public static StateStore open(GatewayConfig config) throws IOException {
    if (!enabled(config)) {
      return null;
    }
    String url = config.get(GatewayConfig.RECOVERY_STATE_STORE_URL);
    if ("zookeeper".equals(config.get(GatewayConfig.RECOVERY_STATE_STORE))) {
      return new ZooKeeperStateStore(url, config.get(GatewayConfig.RECOVERY_ZOOKEEPER_PATH),
          ZOOKEEPER_CONNECT_TIMEOUT_MILLIS);
    }
    return new FileStateStore(directory(url, System.getenv(GatewayConfig.HOME_ENV)));
  }

  /** The file store's directory for {@code url}: a path or a file: URL, relative to {@code home}. */
  static Path directory(String url, String home) {
    String text = url == null || url.isBlank() ? DEFAULT_DIR : url.strip();
    Path p;
    if (text.startsWith("file:")) {
      p = Path.of(URI.create(text));
    } else if (text.contains("://")) {
      throw new IllegalArgumentException("the filesystem state store takes a local directory, not " + text);
    } else {
      p = Path.of(text);
    }
    if (!p.isAbsolute()) {
      p = (home != null && !home.isBlank() ? Path.of(home) : Path.of("")).resolve(p);
    }
    return p.toAbsolutePath().normalize();
  }
}
