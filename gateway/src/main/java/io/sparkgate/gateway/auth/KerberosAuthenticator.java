package io.sparkgate.gateway.auth;

import io.vertx.core.Future;
import io.vertx.core.http.HttpServerRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivilegedExceptionAction;
import java.util.Base64;
import java.util.Map;
import javax.security.auth.Subject;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;
import javax.security.auth.login.LoginContext;
import javax.security.auth.login.LoginException;
import org.ietf.jgss.GSSContext;
import org.ietf.jgss.GSSCredential;
import org.ietf.jgss.GSSException;
import org.ietf.jgss.GSSManager;
import org.ietf.jgss.GSSName;
import org.ietf.jgss.Oid;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kerberos through SPNEGO ({@code Authorization: Negotiate <token>}, RFC 4559) with the JDK's
 * GSS-API. At start-up the gateway logs in as its service principal from the keytab (JAAS
 * {@code Krb5LoginModule}, no ticket cache, no prompt). Each request's token is accepted in a fresh
 * GSS context: the client principal it proves is mapped to a user by {@link KerberosNameRules}; the
 * context's answer token (mutual authentication) goes back in {@code WWW-Authenticate}.
 *
 * <p>Accepting a token decrypts the ticket with keys the JDK reads from the keytab file and checks
 * the replay cache: file IO and crypto, so it runs on {@link AuthWorkers}, never on an event loop. A
 * ticket for another realm, or for another service, cannot be decrypted and is refused. A
 * multi-round negotiation is not kept between requests: Kerberos needs one round.
 */
final class KerberosAuthenticator implements Authenticator {

  private static final Logger LOG = LoggerFactory.getLogger(KerberosAuthenticator.class);
  private static final Oid SPNEGO = oid("1.3.6.1.5.5.2");
  private static final Oid KRB5 = oid("1.2.840.113554.1.2.2");
  private static final Oid KRB5_PRINCIPAL = oid("1.2.840.113554.1.2.2.1");

  private final String principal;
  private final Subject subject;
  private final GSSCredential serverCredential;
  private final KerberosNameRules rules;
  private final AuthWorkers workers;

  KerberosAuthenticator(String principal, Path keytab, String nameRules, AuthWorkers workers) {
    if (principal.isEmpty() || !principal.contains("@")) {
      throw new IllegalArgumentException("kerberos authentication needs sparkgate.auth.kerberos.principal"
          + " as HTTP/host@REALM");
    }
    if (!Files.isReadable(keytab)) {
      throw new IllegalArgumentException("sparkgate.auth.kerberos.keytab " + keytab + " is not readable");
    }
    this.principal = principal;
    this.rules = new KerberosNameRules(nameRules, principal.substring(principal.lastIndexOf('@') + 1));
    this.workers = workers;
    this.subject = login(principal, keytab);
    try {
      this.serverCredential = Subject.doAs(subject, (PrivilegedExceptionAction<GSSCredential>) () -> {
        GSSManager gss = GSSManager.getInstance();
        GSSName name = gss.createName(principal, KRB5_PRINCIPAL);
        return gss.createCredential(name, GSSCredential.INDEFINITE_LIFETIME, new Oid[] {SPNEGO, KRB5},
            GSSCredential.ACCEPT_ONLY);
      });
    } catch (java.security.PrivilegedActionException e) {
      throw new IllegalArgumentException("cannot acquire the credentials of " + principal + " from " + keytab
          + ": " + e.getCause().getMessage(), e.getCause());
    }
    LOG.info("Kerberos authentication as {} (keytab {})", principal, keytab);
  }

  private static Subject login(String principal, Path keytab) {
    Configuration jaas = new Configuration() {
      @Override
      public AppConfigurationEntry[] getAppConfigurationEntry(String name) {
        return new AppConfigurationEntry[] {new AppConfigurationEntry(
            "com.sun.security.auth.module.Krb5LoginModule", AppConfigurationEntry.LoginModuleControlFlag.REQUIRED,
            Map.of("useKeyTab", "true", "keyTab", keytab.toString(), "principal", principal, "storeKey", "true",
                "isInitiator", "false", "doNotPrompt", "true", "useTicketCache", "false",
                "refreshKrb5Config", "true"))};
      }
    };
    try {
      LoginContext login = new LoginContext("sparkgate-spnego", new Subject(), null, jaas);
      login.login();
      return login.getSubject();
    } catch (LoginException e) {
      throw new IllegalArgumentException("Kerberos login as " + principal + " with " + keytab + " failed: "
          + e.getMessage(), e);
    }
  }

  @Override
  public String challenge() {
    return "Negotiate";
  }

  @Override
  public Future<Authenticated> authenticate(HttpServerRequest request, String authorization) {
    String encoded = Credentials.afterScheme(authorization, "Negotiate");
    if (encoded == null || encoded.isEmpty()) {
      return Future.failedFuture(new AuthenticationException("Expected Negotiate (SPNEGO) credentials"));
    }
    byte[] token;
    try {
      token = Base64.getDecoder().decode(encoded);
    } catch (IllegalArgumentException e) {
      return Future.failedFuture(new AuthenticationException("Malformed Negotiate token"));
    }
    return workers.run(() -> accept(token));
  }

  private Authenticated accept(byte[] token) {
    GSSContext context = null;
    try {
      GSSContext ctx = GSSManager.getInstance().createContext(serverCredential);
      context = ctx;
      byte[] answer = Subject.doAs(subject,
          (PrivilegedExceptionAction<byte[]>) () -> ctx.acceptSecContext(token, 0, token.length));
      if (!ctx.isEstablished()) {
        throw new AuthenticationException("SPNEGO needs another round, which this gateway does not keep;"
            + " use Kerberos");
      }
      String client = ctx.getSrcName().toString();
      String user = rules.shortName(client);
      if (user == null) {
        LOG.info("Kerberos principal {} maps to no user (sparkgate.auth.kerberos.name-rules)", client);
        throw new AuthenticationException("Principal " + client + " is not a user of this gateway");
      }
      String response = answer == null || answer.length == 0 ? null
          : "Negotiate " + Base64.getEncoder().encodeToString(answer);
      return new Authenticated(user, response);
    } catch (java.security.PrivilegedActionException e) {
      Throwable cause = e.getCause();
      throw new AuthenticationException("Kerberos credentials refused: "
          + (cause instanceof GSSException g ? g.getMajorString() : cause.getClass().getSimpleName()));
    } catch (GSSException e) {
      throw new AuthenticationException("Kerberos credentials refused: " + e.getMajorString());
    } finally {
      if (context != null) {
        try {
          context.dispose();
        } catch (GSSException e) {
          LOG.debug("disposing a GSS context failed", e);
        }
      }
    }
  }

  /** The service principal (for the start-up log). */
  String principal() {
    return principal;
  }

  private static Oid oid(String s) {
    try {
      return new Oid(s);
    } catch (GSSException e) {
      throw new ExceptionInInitializerError(e);
    }
  }
}
