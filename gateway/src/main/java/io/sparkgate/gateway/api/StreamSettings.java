package io.sparkgate.gateway.api;

import io.sparkgate.gateway.GatewayConfig;
import io.sparkgate.gateway.stream.Subscriber;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What the push streams and the long-poll act on, taken from {@link GatewayConfig} once.
 *
 * @param subscriberLimits the bounds of each subscriber's queue
 * @param keepAlive how often an idle stream gets a keep-alive
 * @param maxWait longest long-poll wait
 * @param allowedOrigins the CORS origins
 */
public record StreamSettings(Subscriber.Limits subscriberLimits, Duration keepAlive, Duration maxWait,
    List<String> allowedOrigins) {

  public StreamSettings {
    Objects.requireNonNull(subscriberLimits, "subscriberLimits");
    Objects.requireNonNull(keepAlive, "keepAlive");
    Objects.requireNonNull(maxWait, "maxWait");
    allowedOrigins = List.copyOf(allowedOrigins);
  }

  public static StreamSettings from(GatewayConfig config) {
    return new StreamSettings(
        new Subscriber.Limits(config.get(GatewayConfig.STREAM_SUBSCRIBER_BUFFER_EVENTS),
            config.get(GatewayConfig.STREAM_SUBSCRIBER_BUFFER_BYTES)),
        config.get(GatewayConfig.STREAM_KEEP_ALIVE),
        config.get(GatewayConfig.STATEMENT_MAX_WAIT),
        config.corsAllowedOrigins());
  }

  /** Defaults, as an empty configuration gives them; for tests that build the API by hand. */
  public static StreamSettings defaults() {
    return new StreamSettings(new Subscriber.Limits(1000, 256 * 1024), Duration.ofSeconds(15), Duration.ofSeconds(60),
        List.of());
  }
}
