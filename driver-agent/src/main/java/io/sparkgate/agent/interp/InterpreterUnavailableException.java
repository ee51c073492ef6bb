package io.sparkgate.agent.interp;

/** No interpreter for a kind: the kind is unknown to the session, or its interpreter failed to start. */
public final class InterpreterUnavailableException extends Exception {
  private static final long serialVersionUID = 1L;

  private final String kind;

  public InterpreterUnavailableException(String kind, String message) {
    super(message);
    this.kind = kind;
  }

  public String kind() {
    return kind;
  }
}
