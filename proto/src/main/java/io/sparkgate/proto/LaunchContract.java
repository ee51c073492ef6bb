package io.sparkgate.proto;

/**
 * The launch contract between the gateway and the driver-agent: what the gateway passes to a driver
 * it launches, and under which names. Both sides read these constants, so a key renamed here is
 * renamed for both.
 *
 * <p>Settings travel as Spark properties on the spark-submit command line (visible to {@code ps} and
 * the Spark UI, so none of them is secret). The session secret never does: it reaches the driver in
 * its environment ({@link #SECRET_ENV}) or, on YARN in cluster mode, in a private file ({@link #SECRET_FILE}).
 */
public final class LaunchContract {

  /** The main class of every interactive driver. */
  public static final String AGENT_MAIN_CLASS = "io.sparkgate.agent.AgentMain";

  /** Environment variable carrying the encoded session secret ({@link AgentAuth#encodeSecret}). */
  public static final String SECRET_ENV = "SPARKGATE_SESSION_SECRET";

  /**
   * Where the secret is when the environment cannot carry it (a YARN cluster-mode driver runs on
   * another host, and YARN's {@code appMasterEnv} would show it): the value is a file name relative
   * to the driver's working directory, where YARN localized the file the gateway shipped with
   * {@code --files}. Only the gateway's user can read it.
   */
  public static final String SECRET_FILE = "spark.sparkgate.secretFile";
  /** The name the secret file is shipped under. */
  public static final String SECRET_FILE_NAME = "sparkgate-session.secret";

  /** Prefix of every key below; clients may not set such keys in a session's or batch's conf. */
  public static final String KEY_PREFIX = "spark.sparkgate.";

  /** Host the agent dials. */
  public static final String GATEWAY_HOST = KEY_PREFIX + "gateway.host";
  /** Port the agent dials. */
  public static final String GATEWAY_PORT = KEY_PREFIX + "gateway.port";
  /** The gateway's session id, sent back in the handshake. */
  public static final String SESSION_ID = KEY_PREFIX + "session.id";
  /** The session's default kind (Livy's name), empty for a shared session. */
  public static final String SESSION_KIND = KEY_PREFIX + "session.kind";
  /** Largest output of one statement, in bytes. */
  public static final String MAX_OUTPUT_BYTES = KEY_PREFIX + "statement.maxOutputBytes";
  /** Seconds without a gateway connection after which the agent exits by itself. */
  public static final String IDLE_EXIT_SECONDS = KEY_PREFIX + "agent.idleExitSeconds";
  /** Largest protocol frame, in bytes. */
  public static final String MAX_FRAME_LENGTH = KEY_PREFIX + "protocol.maxFrameLength";
  /** Most rows a SQL statement returns. */
  public static final String SQL_MAX_ROWS = KEY_PREFIX + "sql.maxRows";
  /**
   * Seconds a cancelled statement may run on before its thread is stopped (Python and R: their
   * process killed); at twice that the agent gives up and exits.
   */
  public static final String CANCEL_GRACE_SECONDS = KEY_PREFIX + "statement.cancelGraceSeconds";

  public static final int DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
  public static final long DEFAULT_IDLE_EXIT_SECONDS = 600;
  public static final int DEFAULT_MAX_FRAME_LENGTH = 8 * 1024 * 1024;
  public static final int DEFAULT_SQL_MAX_ROWS = 1000;
  public static final int DEFAULT_CANCEL_GRACE_SECONDS = 15;

  private LaunchContract() {}
}
