package io.sparkgate.gateway;

import java.util.List;

/** The configuration is unusable; the message lists every problem found, one per line. */
public final class ConfigException extends RuntimeException {

  private final List<String> problems;

  public ConfigException(List<String> problems) {
    super("Invalid configuration:\n  - " + String.join("\n  - ", problems));
    this.problems = List.copyOf(problems);
  }

  /** Each problem, in words, naming the key and where its value came from. */
  public List<String> problems() {
    return problems;
  }
}
