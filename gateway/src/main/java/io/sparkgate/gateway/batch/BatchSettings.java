package io.sparkgate.gateway.batch;

import io.sparkgate.gateway.GatewayConfig;
import java.time.Duration;

/**
 * The configuration batches act on, taken from {@link GatewayConfig} once.
 *
 * @param maxBatches most batches with an application alive at once
 * @param stopGrace how long a killed application gets before it is killed forcibly
 * @param stateRetain how long an ended batch stays listed
 * @param sweepInterval how often ended batches are looked at
 * @param logLines log lines kept per batch
 * @param eventLogEvents events kept in each batch's event log
 * @param eventLogBytes bytes kept in each batch's event log
 */
public record BatchSettings(int maxBatches, Duration stopGrace, Duration stateRetain, Duration sweepInterval,
    int logLines, int eventLogEvents, long eventLogBytes) {

  public static BatchSettings from(GatewayConfig config) {
    return new BatchSettings(
        config.get(GatewayConfig.BATCH_MAX),
        config.get(GatewayConfig.SESSION_STOP_GRACE),
        config.get(GatewayConfig.SESSION_STATE_RETAIN),
        config.get(GatewayConfig.SESSION_SWEEP_INTERVAL),
        config.get(GatewayConfig.SESSION_LOG_LINES),
        config.get(GatewayConfig.STREAM_LOG_EVENTS),
        config.get(GatewayConfig.STREAM_LOG_BYTES));
  }
}
