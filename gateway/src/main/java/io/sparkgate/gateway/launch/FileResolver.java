package io.sparkgate.gateway.launch;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Resolves the files a client names (a batch's {@code file}, and {@code jars}, {@code pyFiles},
 * {@code files}, {@code archives} and their Spark properties) as Livy does, and refuses local files
 * outside the allowed directories:
 * <ul>
 *   <li>a path without a scheme must be absolute and resolves against the default file system
 *       ({@code fs.defaultFS}): {@code /jobs/pi.py} is {@code hdfs://nn:8020/jobs/pi.py} on a cluster,
 *       {@code file:/jobs/pi.py} without one;</li>
 *   <li>a {@code file:} URI (after resolution) must lie under one of the allowed directories (the
 *       path is normalized first, so {@code ..} cannot climb out);</li>
 *   <li>any other scheme ({@code hdfs:}, {@code s3a:}, {@code local:}, ...) is passed on: Hadoop's
 *       file systems and Spark decide.</li>
 * </ul>
 * Answers from memory; never blocks.
 */
public final class FileResolver {

  /** Spark properties holding comma-separated file lists, resolved like the fields. */
  private static final Set<String> FILE_LIST_PROPERTIES = Set.of("spark.jars", "spark.files", "spark.submit.pyFiles",
      "spark.archives", "spark.yarn.dist.jars", "spark.yarn.dist.files", "spark.yarn.dist.archives");

  private final String defaultFs;
  private final List<Path> allowedDirs;
  private final String whitelistKey;

  /**
   * @param defaultFs the default file system URI, e.g. {@code hdfs://nn:8020} or {@code file:///}
   * @param allowedDirs absolute local directories whose files may be used
   * @param whitelistKey the config key naming them, for messages
   */
  public FileResolver(String defaultFs, List<String> allowedDirs, String whitelistKey) {
    String fs = Objects.requireNonNull(defaultFs, "defaultFs");
    while (fs.endsWith("/")) {
      fs = fs.substring(0, fs.length() - 1);
    }
    this.defaultFs = fs;
    List<Path> dirs = new ArrayList<>();
    for (String d : allowedDirs) {
      String t = d.strip();
      if (t.isEmpty()) {
        continue;
      }
      if (t.startsWith("file:")) {
        t = URI.create(t).getPath();
      }
      Path p = Path.of(t);
      if (!p.isAbsolute()) {
        throw new IllegalArgumentException(whitelistKey + ": " + d + " is not an absolute directory");
      }
      dirs.add(p.normalize());
    }
    this.allowedDirs = List.copyOf(dirs);
    this.whitelistKey = whitelistKey;
  }

  /**
   * {@code raw} resolved.
   *
   * @param field the request field, for messages
   * @throws IllegalArgumentException saying what is wrong, for a 400
   */
  public String resolve(String field, String raw) {
    URI uri;
    try {
      uri = new URI(raw);
    } catch (URISyntaxException e) {
      throw new IllegalArgumentException(field + ": \"" + raw + "\" is not a valid path or URI: " + e.getReason());
    }
    String resolved = raw;
    if (uri.getScheme() == null) {
      String path = uri.getPath();
      if (path == null || !path.startsWith("/")) {
        throw new IllegalArgumentException(field + ": path \"" + raw + "\" is not absolute; give an absolute path"
            + " (resolved against the default file system " + defaultFs + ") or a URI such as hdfs:///path");
      }
      resolved = defaultFs + raw;
      uri = URI.create(resolved.startsWith("file:") && !resolved.startsWith("file:/") ? "file:" + path : resolved);
    }
    if ("file".equals(uri.getScheme())) {
      String path = uri.getPath();
      Path p = path == null ? null : Path.of(path).normalize();
      if (p == null || !p.isAbsolute() || allowedDirs.stream().noneMatch(p::startsWith)) {
        throw new IllegalArgumentException(field + ": local path " + (path == null ? raw : path)
            + " is not in a directory allowed by " + whitelistKey
            + (allowedDirs.isEmpty() ? " (none is allowed)" : " (" + allowedDirs + ")"));
      }
    }
    return resolved;
  }

  /** Every entry of {@code values} resolved. */
  public List<String> resolveAll(String field, List<String> values) {
    List<String> out = new ArrayList<>(values.size());
    for (String v : values) {
      out.add(resolve(field, v));
    }
    return out;
  }

  /** {@code app} with its file lists and file-list properties resolved. */
  public SparkAppRequest resolve(SparkAppRequest app) {
    Map<String, String> conf = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : app.conf().entrySet()) {
      String v = e.getValue();
      if (FILE_LIST_PROPERTIES.contains(e.getKey()) && !v.isBlank()) {
        List<String> parts = new ArrayList<>();
        for (String part : v.split(",")) {
          if (!part.isBlank()) {
            parts.add(resolve("conf " + e.getKey(), part.strip()));
          }
        }
        v = String.join(",", parts);
      }
      conf.put(e.getKey(), v);
    }
    return new SparkAppRequest(app.proxyUser(), resolveAll("jars", app.jars()), resolveAll("pyFiles", app.pyFiles()),
        resolveAll("files", app.files()), resolveAll("archives", app.archives()), app.driverMemory(),
        app.driverCores(), app.executorMemory(), app.executorCores(), app.numExecutors(), app.queue(), conf);
  }

  /** The default file system schemeless paths resolve against. */
  public String defaultFs() {
    return defaultFs;
  }
}
