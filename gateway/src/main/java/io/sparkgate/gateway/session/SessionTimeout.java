package io.sparkgate.gateway.session;

import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A per-session time limit as a client gave it in {@code POST /sessions} ({@code ttl},
 * {@code idleTimeout}): the text, shown back unchanged in the session's JSON as Livy does, and its
 * value.
 *
 * <p>The text follows Livy's {@code ClientConf.getTimeAsMs}: a whole number with an optional unit,
 * {@code us}, {@code ms}, {@code s}, {@code m} or {@code min}, {@code h}, {@code d}; without a unit
 * it is milliseconds ({@code "90000"}, {@code "30s"}, {@code "10m"}, {@code "2h"}). Sparkgate also
 * requires it to be at least one second and at most 365 days: a limit shorter than the sweep cannot
 * be kept, and a longer one is a typo.
 *
 * @param text as the client wrote it
 * @param duration its value
 */
public record SessionTimeout(String text, Duration duration) {

  /** The least accepted value. */
  public static final Duration MIN = Duration.ofSeconds(1);
  /** The largest accepted value. */
  public static final Duration MAX = Duration.ofDays(365);

  private static final Pattern FORM = Pattern.compile("([0-9]{1,15})\\s*(us|ms|s|m|min|h|d)?");

  public SessionTimeout {
    Objects.requireNonNull(text, "text");
    Objects.requireNonNull(duration, "duration");
  }

  /**
   * Parses {@code text}.
   *
   * @throws IllegalArgumentException saying what form is expected
   */
  public static SessionTimeout parse(String text) {
    Matcher m = FORM.matcher(text.strip().toLowerCase(Locale.ROOT));
    if (!m.matches()) {
      throw new IllegalArgumentException("must be a time such as 90s, 30m, 2h or 1d (a number without a unit is"
          + " milliseconds)");
    }
    long n = Long.parseLong(m.group(1));
    String unit = m.group(2) == null ? "ms" : m.group(2);
    Duration d = switch (unit) {
      case "us" -> Duration.ofNanos(Math.multiplyExact(n, 1000L));
      case "ms" -> Duration.ofMillis(n);
      case "s" -> Duration.ofSeconds(n);
      case "m", "min" -> Duration.ofMinutes(n);
      case "h" -> Duration.ofHours(Math.min(n, MAX.toHours() + 1));
      default -> Duration.ofDays(Math.min(n, MAX.toDays() + 1));
    };
    if (d.compareTo(MIN) < 0 || d.compareTo(MAX) > 0) {
      throw new IllegalArgumentException("must be between 1s and 365d, not " + text.strip());
    }
    return new SessionTimeout(text, d);
  }
}
