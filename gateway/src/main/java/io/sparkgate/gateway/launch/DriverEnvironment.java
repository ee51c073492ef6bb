package io.sparkgate.gateway.launch;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Which of the gateway's environment variables a driver inherits: the drivers run user code, so they
 * get what Spark needs (an allow-list from {@code sparkgate.driver.environment}), never the
 * gateway's whole environment. A name passes when the list names it exactly, or when it matches a
 * listed prefix ({@code LC_*}) and does not look like a credential: Kerberos caches and keytabs,
 * Hadoop delegation tokens, cloud keys ({@code AWS_*}, {@code AZURE_*}, {@code GOOGLE_*}), anything
 * with {@code SECRET}, {@code TOKEN}, {@code PASSWORD}, {@code CREDENTIAL} or {@code KEY} in its
 * name. An operator who wants a driver to have one lists it by its exact name.
 */
public final class DriverEnvironment {

  private static final Pattern CREDENTIAL = Pattern.compile(
      "(?i).*(SECRET|TOKEN|PASSWORD|PASSWD|CREDENTIAL|KEYTAB|PRIVATE|(^|_)KEY(S|_|$)).*"
          + "|(?i)^(KRB5|AWS_|AZURE_|GOOGLE_|GCP_|GCLOUD_|ALIBABA_|OCI_|HADOOP_TOKEN|SPARKGATE_).*");

  /** What the drivers of tests and embedded gateways inherit when nothing is configured. */
  public static final DriverEnvironment DEFAULT = new DriverEnvironment(
      io.sparkgate.gateway.GatewayConfig.DRIVER_ENVIRONMENT.parse(
          io.sparkgate.gateway.GatewayConfig.DRIVER_ENVIRONMENT.defaultValue()));

  private final Set<String> exact;
  private final List<String> prefixes;

  /** @param allowed names, or prefixes ending in {@code *} */
  public DriverEnvironment(List<String> allowed) {
    List<String> p = new ArrayList<>();
    java.util.HashSet<String> e = new java.util.HashSet<>();
    for (String a : allowed) {
      if (a.endsWith("*")) {
        p.add(a.substring(0, a.length() - 1));
      } else {
        e.add(a);
      }
    }
    this.exact = Set.copyOf(e);
    this.prefixes = List.copyOf(p);
  }

  /** Whether a driver inherits the variable {@code name}. */
  public boolean allows(String name) {
    if (exact.contains(name)) {
      return true;
    }
    if (CREDENTIAL.matcher(name).matches()) {
      return false;
    }
    for (String p : prefixes) {
      if (name.startsWith(p)) {
        return true;
      }
    }
    return false;
  }

  /** The part of {@code gatewayEnvironment} a driver inherits. */
  public Map<String, String> inherited(Map<String, String> gatewayEnvironment) {
    Map<String, String> out = new TreeMap<>();
    gatewayEnvironment.forEach((k, v) -> {
      if (allows(k)) {
        out.put(k, v);
      }
    });
    return out;
  }
}
