package io.sparkgate.gateway.launch;

/**
 * What the cluster manager says about a running application: for a YARN application, the
 * ResourceManager's report. Null fields are not known (yet).
 *
 * @param appId the application id, e.g. {@code application_1700000000000_0001}
 * @param state the YARN application state (NEW, SUBMITTED, ACCEPTED, RUNNING, FINISHED, FAILED,
 *     KILLED)
 * @param finalStatus the YARN final status once it ended (SUCCEEDED, FAILED, KILLED, UNDEFINED)
 * @param driverLogUrl where the driver's log can be read (the AM container's log page)
 * @param sparkUiUrl the Spark UI, through the ResourceManager's proxy
 * @param diagnostics YARN's diagnostics, e.g. the exception that failed the application
 */
public record AppInfo(String appId, String state, String finalStatus, String driverLogUrl, String sparkUiUrl,
    String diagnostics) {

  /** Whether the application has ended (FINISHED, FAILED or KILLED). */
  public boolean ended() {
    return "FINISHED".equals(state) || "FAILED".equals(state) || "KILLED".equals(state);
  }

  /** Whether it ended well: FINISHED with final status SUCCEEDED. */
  public boolean succeeded() {
    return "FINISHED".equals(state) && "SUCCEEDED".equals(finalStatus);
  }

  /** Whether it ended killed (by anyone). */
  public boolean killed() {
    return "KILLED".equals(state) || "KILLED".equals(finalStatus);
  }

  /** Whether YARN runs it (its application master is up). */
  public boolean running() {
    return "RUNNING".equals(state);
  }
}
