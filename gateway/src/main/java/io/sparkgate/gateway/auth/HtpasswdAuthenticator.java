package io.sparkgate.gateway.auth;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.auth.authentication.UsernamePasswordCredentials;
import io.vertx.ext.auth.htpasswd.HtpasswdAuth;
import io.vertx.ext.auth.htpasswd.HtpasswdAuthOptions;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * HTTP Basic against an Apache htpasswd file, through Vert.x Auth's {@link HtpasswdAuth}. The file is
 * read once, when the gateway starts (off the event loops); checking a password hashes it (MD5-crypt,
 * SHA-1 or crypt: microseconds), so it runs on the event loop. Plain-text passwords in the file are
 * refused.
 */
final class HtpasswdAuthenticator implements Authenticator {

  private final HtpasswdAuth provider;
  private final String challenge;

  HtpasswdAuthenticator(Vertx vertx, Path file, String realm) {
    if (!Files.isReadable(file)) {
      throw new IllegalArgumentException("htpasswd file " + file + " is not readable");
    }
    this.provider = HtpasswdAuth.create(vertx,
        new HtpasswdAuthOptions().setHtpasswdFile(file.toString()).setPlainTextEnabled(false));
    this.challenge = BasicChallenge.of(realm);
  }

  @Override
  public void warmUp() {
    try {
      authenticate(null, "Basic " + java.util.Base64.getEncoder().encodeToString("sparkgate-warm-up:-".getBytes())).toCompletionStage().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
    } catch (Exception expected) {
      // It was meant to fail; the classes are loaded.
    }
  }

  @Override
  public String challenge() {
    return challenge;
  }

  @Override
  public Future<Authenticated> authenticate(HttpServerRequest request, String authorization) {
    Credentials.UserPassword c = Credentials.basic(authorization);
    Future<io.vertx.ext.auth.User> checked;
    // Vert.x's htpasswd hashers keep one MessageDigest each, which is not thread-safe, and event
    // loops call this at once: two concurrent checks garbled each other's hash (found by
    // CreationLimitTest's burst). The check completes inside the call, in microseconds.
    synchronized (provider) {
      checked = provider.authenticate(new UsernamePasswordCredentials(c.user(), c.password()));
    }
    return checked
        .transform(ar -> ar.succeeded()
            ? Future.succeededFuture(new Authenticated(c.user(), null))
            : Future.failedFuture(new AuthenticationException("Wrong user name or password")));
  }
}
