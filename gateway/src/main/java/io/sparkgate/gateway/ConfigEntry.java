package io.sparkgate.gateway;

import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One configuration key of the gateway: its name, its default (as written in the config file), what
 * it means, and how its text becomes a typed value. Every key lives in {@link GatewayConfig}'s
 * registry; {@code conf/sparkgate.conf.template} lists the same keys, and a test keeps them equal.
 *
 * @param <T> the type of the parsed value
 */
public final class ConfigEntry<T> {

  private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|min|h|d)");
  private static final Pattern ORIGIN =
      Pattern.compile("[a-z][a-z0-9+.-]*://([a-z0-9._-]+|\\[[0-9a-f:.]+\\])(:\\d{1,5})?");
  private static final Pattern BYTES = Pattern.compile("(\\d+)\\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?");

  /** The {@link #type()} of list entries. */
  static final String LIST_TYPE = "comma-separated list";

  private final String key;
  private final String defaultValue;
  private final String type;
  private final String doc;
  private final Function<String, T> parser;
  private final List<String> aliases;

  private ConfigEntry(String key, String defaultValue, String type, String doc, Function<String, T> parser) {
    this(key, defaultValue, type, doc, parser, List.of());
  }

  private ConfigEntry(String key, String defaultValue, String type, String doc, Function<String, T> parser,
      List<String> aliases) {
    this.key = Objects.requireNonNull(key, "key");
    this.defaultValue = Objects.requireNonNull(defaultValue, "defaultValue");
    this.type = Objects.requireNonNull(type, "type");
    this.doc = Objects.requireNonNull(doc, "doc");
    this.parser = Objects.requireNonNull(parser, "parser");
    this.aliases = List.copyOf(aliases);
  }

  /**
   * This entry, also accepted in the config file under {@code otherKeys} (Livy's names, so that an
   * operator's {@code livy.conf} settings carry over). A value given under an alias is parsed as
   * this entry's; giving the key and an alias both is an error.
   */
  ConfigEntry<T> alias(String... otherKeys) {
    List<String> all = new java.util.ArrayList<>(aliases);
    all.addAll(List.of(otherKeys));
    return new ConfigEntry<>(key, defaultValue, type, doc, parser, all);
  }

  /** Other names the config file accepts for this key (Livy's), possibly none. */
  public List<String> aliases() {
    return aliases;
  }

  /** The key as written in {@code sparkgate.conf}, e.g. {@code sparkgate.server.port}. */
  public String key() {
    return key;
  }

  /** The default as written in the config file; the empty string when the key has no default. */
  public String defaultValue() {
    return defaultValue;
  }

  /** A short name of the accepted values (for messages and the template). */
  public String type() {
    return type;
  }

  /** What the key does, in a sentence or two. */
  public String doc() {
    return doc;
  }

  /**
   * The environment variable that overrides this key: {@code SPARKGATE_} followed by the key without
   * its {@code sparkgate.} prefix, upper-cased, dots and dashes as underscores
   * ({@code sparkgate.server.port} becomes {@code SPARKGATE_SERVER_PORT}).
   */
  public String envName() {
    return key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  /**
   * Parses {@code text} (already trimmed).
   *
   * @throws IllegalArgumentException with a message naming the expected form
   */
  public T parse(String text) {
    return parser.apply(text);
  }

  @Override
  public String toString() {
    return key;
  }

  static ConfigEntry<String> string(String key, String defaultValue, String doc) {
    return new ConfigEntry<>(key, defaultValue, "string", doc, s -> s);
  }

  static ConfigEntry<String> nonEmptyString(String key, String defaultValue, String doc) {
    return new ConfigEntry<>(key, defaultValue, "non-empty string", doc, s -> {
      if (s.isEmpty()) {
        throw new IllegalArgumentException("must not be empty");
      }
      return s;
    });
  }

  static ConfigEntry<String> oneOf(String key, String defaultValue, String doc, String... allowed) {
    String choices = String.join("|", allowed);
    return new ConfigEntry<>(key, defaultValue, choices, doc, s -> {
      for (String a : allowed) {
        if (a.equals(s)) {
          return s;
        }
      }
      throw new IllegalArgumentException("must be one of " + choices);
    });
  }

  static ConfigEntry<Boolean> bool(String key, String defaultValue, String doc) {
    return new ConfigEntry<>(key, defaultValue, "true|false", doc, s -> switch (s.toLowerCase(Locale.ROOT)) {
      case "true" -> Boolean.TRUE;
      case "false" -> Boolean.FALSE;
      default -> throw new IllegalArgumentException("must be true or false");
    });
  }

  /** A comma-separated list of names (blanks around commas ignored); empty means none. */
  static ConfigEntry<List<String>> list(String key, String defaultValue, String doc) {
    return new ConfigEntry<>(key, defaultValue, LIST_TYPE, doc, s -> {
      List<String> out = new java.util.ArrayList<>();
      for (String part : s.split(",")) {
        String p = part.strip();
        if (!p.isEmpty()) {
          out.add(p);
        }
      }
      return List.copyOf(out);
    });
  }

  static ConfigEntry<Integer> intRange(String key, String defaultValue, int min, int max, String doc) {
    return new ConfigEntry<>(key, defaultValue, "integer " + min + ".." + max, doc, s -> {
      long v;
      try {
        v = Long.parseLong(s);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("must be an integer between " + min + " and " + max);
      }
      if (v < min || v > max) {
        throw new IllegalArgumentException("must be between " + min + " and " + max);
      }
      return (int) v;
    });
  }

  /**
   * A comma-separated list of web origins ({@code scheme://host} or {@code scheme://host:port}, as a
   * browser sends them in {@code Origin}), possibly empty; parsed to the list normalized (trimmed,
   * lower-case, comma-joined).
   */
  static ConfigEntry<String> originList(String key, String defaultValue, String doc) {
    return new ConfigEntry<>(key, defaultValue, "comma-separated origins (e.g. https://notebooks.example.com)",
        doc, s -> String.join(",", parseOrigins(s)));
  }

  /** The origins of a comma-separated list; each must look like {@code scheme://host[:port]}. */
  public static List<String> parseOrigins(String s) {
    List<String> out = new java.util.ArrayList<>();
    for (String part : s.split(",")) {
      String o = part.strip().toLowerCase(Locale.ROOT);
      if (o.isEmpty()) {
        continue;
      }
      if (!ORIGIN.matcher(o).matches()) {
        throw new IllegalArgumentException("'" + part.strip() + "' is not an origin: scheme://host or"
            + " scheme://host:port, no path, no trailing slash");
      }
      out.add(o);
    }
    return List.copyOf(out);
  }

  /**
   * A duration with a unit: {@code 500ms}, {@code 30s}, {@code 5m} (or {@code 5min}), {@code 1h},
   * {@code 1d}; a bare {@code 0} is zero. At least {@code minMillis}.
   */
  static ConfigEntry<Duration> duration(String key, String defaultValue, long minMillis, String doc) {
    return new ConfigEntry<>(key, defaultValue, "duration (e.g. 500ms, 30s, 5m, 1h)", doc, s -> {
      Duration d = parseDuration(s);
      if (d.toMillis() < minMillis) {
        throw new IllegalArgumentException("must be at least " + minMillis + "ms");
      }
      return d;
    });
  }

  /** A size in bytes: a bare number of bytes or with a binary unit ({@code 64k}, {@code 1m}, {@code 2g}). */
  static ConfigEntry<Long> bytes(String key, String defaultValue, long min, long max, String doc) {
    return new ConfigEntry<>(key, defaultValue, "size (e.g. 65536, 64k, 1m)", doc, s -> {
      long v = parseBytes(s);
      if (v < min || v > max) {
        throw new IllegalArgumentException("must be between " + min + " and " + max + " bytes");
      }
      return v;
    });
  }

  static Duration parseDuration(String s) {
    if (s.equals("0")) {
      return Duration.ZERO;
    }
    Matcher m = DURATION.matcher(s.toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException("must be a duration with a unit, e.g. 500ms, 30s, 5m, 1h, 1d");
    }
    long n;
    try {
      n = Long.parseLong(m.group(1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("duration is too large");
    }
    try {
      return switch (m.group(2)) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m", "min" -> Duration.ofMinutes(n);
        case "h" -> Duration.ofHours(n);
        default -> Duration.ofDays(n);
      };
    } catch (ArithmeticException e) {
      throw new IllegalArgumentException("duration is too large");
    }
  }

  static long parseBytes(String s) {
    Matcher m = BYTES.matcher(s.toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException("must be a size in bytes, e.g. 65536, 64k, 1m, 2g");
    }
    long n;
    try {
      n = Long.parseLong(m.group(1));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("size is too large");
    }
    String unit = m.group(2) == null ? "b" : m.group(2);
    int shift = switch (unit.charAt(0)) {
      case 'k' -> 10;
      case 'm' -> 20;
      case 'g' -> 30;
      default -> 0;
    };
    if (n > (Long.MAX_VALUE >> shift)) {
      throw new IllegalArgumentException("size is too large");
    }
    return n << shift;
  }
}
