package io.sparkgate.agent.interp;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.sql.SparkSession;

/**
 * The driver's SparkSessions as the R process reaches them through SparkR's backend: SparkR calls
 * static methods by class name ({@code SparkR:::callJStatic}), so the R REPL asks this class for
 * the session its interpreter serves, by a token the interpreter handed it, and makes it the one
 * {@code sparkR.session()} returns. Public only because the backend calls it reflectively.
 */
public final class RSparkEntries {
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final Map<String, SparkSession> SESSIONS = new ConcurrentHashMap<>();

  private RSparkEntries() {}

  /** The session registered under {@code token}; called by the R REPL through the backend. */
  public static SparkSession sparkSession(String token) {
    SparkSession session = SESSIONS.get(Objects.requireNonNull(token, "token"));
    if (session == null) {
      throw new IllegalArgumentException("no SparkSession is registered for this R process");
    }
    return session;
  }

  /** Registers {@code session} under a new random token. */
  static String register(SparkSession session) {
    Objects.requireNonNull(session, "session");
    byte[] bytes = new byte[16];
    RANDOM.nextBytes(bytes);
    String token = HexFormat.of().formatHex(bytes);
    SESSIONS.put(token, session);
    return token;
  }

  static void unregister(String token) {
    if (token != null) {
      SESSIONS.remove(token);
    }
  }
}
