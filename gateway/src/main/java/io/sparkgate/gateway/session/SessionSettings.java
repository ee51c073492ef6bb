package io.sparkgate.gateway.session;

import io.sparkgate.gateway.GatewayConfig;
import java.time.Duration;
import java.util.Objects;

/**
 * The configuration a session and its manager act on, taken from {@link GatewayConfig} once, so the
 * domain does not read configuration keys.
 *
 * @param agentHost the address agents dial
 * @param agentPort the port agents dial (the bound one, never 0)
 * @param timeoutCheck whether the idle timeout and each session's ttl and idleTimeout are applied
 * @param timeoutCheckSkipBusy whether busy sessions are spared them
 * @param eventLogEvents events kept in each session's event log
 * @param eventLogBytes bytes kept in each session's event log
 */
public record SessionSettings(
    String agentHost,
    int agentPort,
    java.nio.file.Path agentJar,
    int maxSessions,
    Duration startTimeout,
    Duration idleTimeout,
    boolean timeoutCheck,
    boolean timeoutCheckSkipBusy,
    Duration stateRetain,
    Duration stopGrace,
    Duration sweepInterval,
    Duration reconnectGrace,
    Duration agentIdleExit,
    Duration completionTimeout,
    int logLines,
    int retainedStatements,
    long maxOutputBytes,
    int sqlMaxRows,
    int eventLogEvents,
    long eventLogBytes,
    Duration cancelGrace) {

  /** Completion requests one session may have waiting for its agent. */
  public static final int MAX_PENDING_COMPLETIONS = 16;

  public SessionSettings {
    Objects.requireNonNull(agentHost, "agentHost");
    Objects.requireNonNull(agentJar, "agentJar");
    if (agentPort <= 0 || agentPort > 65535) {
      throw new IllegalArgumentException("agentPort must be a bound port: " + agentPort);
    }
  }

  /** The settings in {@code config}, with agents dialing {@code agentPort}. */
  public static SessionSettings from(GatewayConfig config, int agentPort) {
    return new SessionSettings(
        config.agentServerHost(),
        agentPort,
        config.agentJar(),
        config.get(GatewayConfig.SESSION_MAX),
        config.get(GatewayConfig.SESSION_START_TIMEOUT),
        config.get(GatewayConfig.SESSION_IDLE_TIMEOUT),
        config.get(GatewayConfig.SESSION_TIMEOUT_CHECK),
        config.get(GatewayConfig.SESSION_TIMEOUT_CHECK_SKIP_BUSY),
        config.get(GatewayConfig.SESSION_STATE_RETAIN),
        config.get(GatewayConfig.SESSION_STOP_GRACE),
        config.get(GatewayConfig.SESSION_SWEEP_INTERVAL),
        config.get(GatewayConfig.AGENT_RECONNECT_GRACE),
        config.get(GatewayConfig.AGENT_IDLE_EXIT),
        config.get(GatewayConfig.COMPLETION_TIMEOUT),
        config.get(GatewayConfig.SESSION_LOG_LINES),
        config.get(GatewayConfig.STATEMENT_RETAINED),
        config.get(GatewayConfig.STATEMENT_MAX_OUTPUT_BYTES),
        config.get(GatewayConfig.SQL_MAX_ROWS),
        config.get(GatewayConfig.STREAM_LOG_EVENTS),
        config.get(GatewayConfig.STREAM_LOG_BYTES),
        config.get(GatewayConfig.STATEMENT_CANCEL_GRACE));
  }
}
