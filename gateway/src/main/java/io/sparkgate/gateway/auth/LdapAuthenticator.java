package io.sparkgate.gateway.auth;

import io.vertx.core.Future;
import io.vertx.core.http.HttpServerRequest;
import java.time.Duration;
import java.util.Hashtable;
import java.util.regex.Pattern;
import javax.naming.AuthenticationException;
import javax.naming.Context;
import javax.naming.NamingException;
import javax.naming.directory.InitialDirContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * HTTP Basic credentials checked by binding to an LDAP server as the user, as Livy's
 * {@code livy.server.auth.type = ldap} does: the bind DN is {@code user-dn-pattern} with the user
 * name for {@code {0}}, else {@code uid=<user>,<base-dn>}, else {@code <user>@<username-domain>}.
 * A successful bind is the proof; nothing is searched.
 *
 * <p>The bind is network IO, so it runs on {@link AuthWorkers}, with connect and read timeouts.
 * User names are restricted to characters that need no DN escaping, so a name cannot change the DN
 * it binds as; an empty password (an anonymous bind to many servers) is refused before any bind.
 */
final class LdapAuthenticator implements Authenticator {

  private static final Logger LOG = LoggerFactory.getLogger(LdapAuthenticator.class);
  private static final Pattern SAFE_USER = Pattern.compile("[A-Za-z0-9._@-]{1,256}");

  private final String url;
  private final String dnPattern;
  private final String baseDn;
  private final String domain;
  private final Duration timeout;
  private final AuthWorkers workers;
  private final String challenge;

  LdapAuthenticator(String url, String dnPattern, String baseDn, String domain, Duration timeout,
      AuthWorkers workers, String realm) {
    if (url.isEmpty()) {
      throw new IllegalArgumentException("ldap authentication needs sparkgate.auth.ldap.url");
    }
    if (dnPattern.isEmpty() && baseDn.isEmpty() && domain.isEmpty()) {
      throw new IllegalArgumentException("ldap authentication needs sparkgate.auth.ldap.user-dn-pattern,"
          + " .base-dn or .username-domain");
    }
    if (!dnPattern.isEmpty() && !dnPattern.contains("{0}")) {
      throw new IllegalArgumentException("sparkgate.auth.ldap.user-dn-pattern must contain {0}");
    }
    this.url = url;
    this.dnPattern = dnPattern;
    this.baseDn = baseDn;
    this.domain = domain;
    this.timeout = timeout;
    this.workers = workers;
    this.challenge = BasicChallenge.of(realm);
  }

  @Override
  public String challenge() {
    return challenge;
  }

  /** The DN {@code user} binds as. */
  String bindName(String user) {
    if (!dnPattern.isEmpty()) {
      return dnPattern.replace("{0}", user);
    }
    if (!baseDn.isEmpty()) {
      return "uid=" + user + "," + baseDn;
    }
    return user + "@" + domain;
  }

  @Override
  public Future<Authenticated> authenticate(HttpServerRequest request, String authorization) {
    Credentials.UserPassword c = Credentials.basic(authorization);
    if (!SAFE_USER.matcher(c.user()).matches()) {
      return Future.failedFuture(new io.sparkgate.gateway.auth.AuthenticationException(
          "Wrong user name or password"));
    }
    String dn = bindName(c.user());
    return workers.run(() -> {
      bind(dn, c.password());
      return new Authenticated(c.user(), null);
    });
  }

  private void bind(String dn, String password) {
    Hashtable<String, String> env = new Hashtable<>();
    env.put(Context.INITIAL_CONTEXT_FACTORY, "com.sun.jndi.ldap.LdapCtxFactory");
    env.put(Context.PROVIDER_URL, url);
    env.put(Context.SECURITY_AUTHENTICATION, "simple");
    env.put(Context.SECURITY_PRINCIPAL, dn);
    env.put(Context.SECURITY_CREDENTIALS, password);
    env.put(Context.REFERRAL, "ignore");
    env.put("com.sun.jndi.ldap.connect.timeout", Long.toString(timeout.toMillis()));
    env.put("com.sun.jndi.ldap.read.timeout", Long.toString(timeout.toMillis()));
    try {
      new InitialDirContext(env).close();
    } catch (AuthenticationException e) {
      throw new io.sparkgate.gateway.auth.AuthenticationException("Wrong user name or password");
    } catch (NamingException e) {
      LOG.warn("LDAP bind as {} at {} failed: {}", dn, url, e.toString());
      throw new io.sparkgate.gateway.auth.AuthenticationException("The LDAP server could not check the credentials");
    }
  }
}
