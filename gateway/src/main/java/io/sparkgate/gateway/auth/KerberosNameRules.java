package io.sparkgate.gateway.auth;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Maps a Kerberos principal ({@code alice@EXAMPLE.COM}, {@code svc/host@EXAMPLE.COM}) to a short user
 * name with Hadoop's {@code auth_to_local} rules, the syntax of Livy's
 * {@code livy.server.auth.kerberos.name-rules}. Rules are tried in order; the first that applies
 * wins; a principal no rule maps is not a user of this gateway.
 *
 * <pre>
 * RULE:[n:format](regex)s/pattern/replacement/[g][/L]
 *   n       the number of components the principal must have (alice@R has 1, svc/host@R has 2)
 *   format  builds a string from $0 (the realm) and $1, $2 (the components), e.g. $1@$0
 *   regex   that string must match it
 *   s/../../ an optional sed-style substitution; g replaces every match; a final L lower-cases the result
 * DEFAULT   a principal of the default realm maps to its first component
 * </pre>
 */
public final class KerberosNameRules {

  private static final Pattern RULE = Pattern.compile(
      "RULE:\\[(\\d+):([^\\]]*)\\](?:\\(([^)]*)\\))?(?:s/([^/]*)/([^/]*)/(g)?)?(/?L)?");
  private static final Pattern PRINCIPAL = Pattern.compile("([^/@]+)(?:/([^/@]+))?(?:@(.+))?");

  private record Rule(boolean isDefault, int components, String format, Pattern match, Pattern from, String to,
      boolean global, boolean lower) {
  }

  private final List<Rule> rules;
  private final String defaultRealm;

  /**
   * @param text the rules, separated by whitespace or newlines
   * @param defaultRealm the realm DEFAULT strips (the gateway's own)
   * @throws IllegalArgumentException naming the rule that does not parse
   */
  public KerberosNameRules(String text, String defaultRealm) {
    this.defaultRealm = defaultRealm;
    List<Rule> parsed = new ArrayList<>();
    String rest = text.strip();
    while (!rest.isEmpty()) {
      if (rest.startsWith("DEFAULT")) {
        parsed.add(new Rule(true, 0, null, null, null, null, false, false));
        rest = rest.substring("DEFAULT".length()).strip();
        continue;
      }
      Matcher m = RULE.matcher(rest);
      if (!m.lookingAt()) {
        throw new IllegalArgumentException("Kerberos name rule does not parse: '" + cut(rest) + "'");
      }
      parsed.add(new Rule(false, Integer.parseInt(m.group(1)), m.group(2),
          m.group(3) == null ? null : Pattern.compile(m.group(3)),
          m.group(4) == null ? null : Pattern.compile(m.group(4)), m.group(5), m.group(6) != null,
          m.group(7) != null));
      rest = rest.substring(m.end()).strip();
    }
    if (parsed.isEmpty()) {
      throw new IllegalArgumentException("no Kerberos name rule given");
    }
    this.rules = List.copyOf(parsed);
  }

  /** The user {@code principal} maps to, or null when no rule maps it. */
  public String shortName(String principal) {
    Matcher p = PRINCIPAL.matcher(principal);
    if (!p.matches()) {
      return null;
    }
    String realm = p.group(3) == null ? defaultRealm : p.group(3);
    List<String> parts = new ArrayList<>();
    parts.add(p.group(1));
    if (p.group(2) != null) {
      parts.add(p.group(2));
    }
    for (Rule r : rules) {
      String name = apply(r, realm, parts);
      if (name != null) {
        return name;
      }
    }
    return null;
  }

  private String apply(Rule r, String realm, List<String> parts) {
    if (r.isDefault()) {
      return realm.equals(defaultRealm) && parts.size() == 1 ? parts.get(0) : null;
    }
    if (parts.size() != r.components()) {
      return null;
    }
    String base = format(r.format(), realm, parts);
    if (base == null || (r.match() != null && !r.match().matcher(base).matches())) {
      return null;
    }
    String out = base;
    if (r.from() != null) {
      Matcher m = r.from().matcher(base);
      out = r.global() ? m.replaceAll(r.to()) : m.replaceFirst(r.to());
    }
    if (out.isEmpty() || out.contains("@") || out.contains("/")) {
      return null; // Not a short name: Hadoop refuses it too.
    }
    return r.lower() ? out.toLowerCase(java.util.Locale.ROOT) : out;
  }

  private static String format(String format, String realm, List<String> parts) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < format.length(); i++) {
      char c = format.charAt(i);
      if (c == '$' && i + 1 < format.length() && Character.isDigit(format.charAt(i + 1))) {
        int n = format.charAt(++i) - '0';
        if (n == 0) {
          b.append(realm);
        } else if (n <= parts.size()) {
          b.append(parts.get(n - 1));
        } else {
          return null;
        }
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }

  private static String cut(String s) {
    return s.length() <= 60 ? s : s.substring(0, 60) + "...";
  }
}
