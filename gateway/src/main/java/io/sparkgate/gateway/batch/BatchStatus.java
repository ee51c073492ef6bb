package io.sparkgate.gateway.batch;

import java.util.Objects;

/**
 * The changing part of a batch, published as one immutable value so that a reader sees a state
 * with the application facts that go with it.
 *
 * @param state the batch state
 * @param appId the application id (YARN), null while unknown
 * @param driverLogUrl where the driver's log can be read (YARN), null when unknown
 * @param sparkUiUrl the Spark UI (YARN's proxy), null when unknown
 */
public record BatchStatus(BatchState state, String appId, String driverLogUrl, String sparkUiUrl) {
  public BatchStatus {
    Objects.requireNonNull(state, "state");
  }

  BatchStatus withState(BatchState next) {
    return new BatchStatus(next, appId, driverLogUrl, sparkUiUrl);
  }
}
