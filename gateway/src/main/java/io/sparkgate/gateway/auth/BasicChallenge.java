package io.sparkgate.gateway.auth;

/** The {@code WWW-Authenticate} value of HTTP Basic. */
final class BasicChallenge {
  private BasicChallenge() {
  }

  static String of(String realm) {
    return "Basic realm=\"" + realm.replace("\\", "\\\\").replace("\"", "\\\"") + "\", charset=\"UTF-8\"";
  }
}
