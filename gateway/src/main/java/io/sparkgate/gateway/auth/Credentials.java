package io.sparkgate.gateway.auth;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Locale;

/** Parsing of {@code Authorization} header values. */
final class Credentials {

  /** Longest Authorization value looked at; a Kerberos ticket with a PAC stays well under it. */
  static final int MAX_HEADER = 64 * 1024;

  private Credentials() {
  }

  /** User and password of HTTP Basic. */
  record UserPassword(String user, String password) {
    @Override
    public String toString() {
      return "UserPassword[user=" + user + ", password=*****]";
    }
  }

  /**
   * The credentials after {@code scheme} (case-insensitive) in {@code header}, or null when the
   * header uses another scheme.
   */
  static String afterScheme(String header, String scheme) {
    if (header.length() > MAX_HEADER) {
      throw new AuthenticationException("The Authorization header is too long");
    }
    String h = header.strip();
    int sp = h.indexOf(' ');
    String given = sp < 0 ? h : h.substring(0, sp);
    if (!given.toLowerCase(Locale.ROOT).equals(scheme.toLowerCase(Locale.ROOT))) {
      return null;
    }
    return sp < 0 ? "" : h.substring(sp + 1).strip();
  }

  /** HTTP Basic credentials; fails when the header is not Basic or malformed. */
  static UserPassword basic(String header) {
    String encoded = afterScheme(header, "Basic");
    if (encoded == null) {
      throw new AuthenticationException("Expected Basic credentials");
    }
    String decoded;
    try {
      decoded = new String(Base64.getDecoder().decode(encoded), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw new AuthenticationException("Malformed Basic credentials");
    }
    int colon = decoded.indexOf(':');
    if (colon <= 0) {
      throw new AuthenticationException("Malformed Basic credentials");
    }
    String password = decoded.substring(colon + 1);
    if (password.isEmpty()) {
      // An empty password would be an anonymous bind to many LDAP servers.
      throw new AuthenticationException("Empty password");
    }
    return new UserPassword(decoded.substring(0, colon), password);
  }
}
