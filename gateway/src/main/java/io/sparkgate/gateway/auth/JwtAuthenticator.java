package io.sparkgate.gateway.auth;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.User;
import io.vertx.ext.auth.authentication.TokenCredentials;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Bearer tokens (JWT) checked by Vert.x Auth's {@link JWTAuth}: the signature with the configured
 * algorithm and key (a token signed otherwise, or unsigned, is refused), the expiry, and the issuer
 * and audience when configured. The user is the configured claim ({@code sub} by default). Verifying
 * one signature is CPU work of microseconds, done on the event loop.
 */
final class JwtAuthenticator implements Authenticator {

  private final JWTAuth provider;
  private final String userClaim;
  private final String challenge;

  /**
   * @param keyFile a PEM public key (RS*, ES*) or the shared secret (HS*)
   * @param issuer required {@code iss}, or empty
   * @param audience required {@code aud}, or empty
   */
  JwtAuthenticator(Vertx vertx, String algorithm, Path keyFile, String issuer, String audience, String userClaim,
      String realm) {
    String key;
    try {
      key = Files.readString(keyFile).strip();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the JWT key file " + keyFile, e);
    }
    if (key.isEmpty()) {
      throw new IllegalArgumentException("the JWT key file " + keyFile + " is empty");
    }
    JWTOptions checks = new JWTOptions();
    if (!issuer.isEmpty()) {
      checks.setIssuer(issuer);
    }
    if (!audience.isEmpty()) {
      checks.addAudience(audience);
    }
    this.provider = JWTAuth.create(vertx, new JWTAuthOptions()
        .addPubSecKey(new PubSecKeyOptions().setAlgorithm(algorithm).setBuffer(Buffer.buffer(key)))
        .setJWTOptions(checks));
    this.userClaim = userClaim;
    this.challenge = "Bearer realm=\"" + realm + "\"";
  }

  @Override
  public void warmUp() {
    try {
      authenticate(null, "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln").toCompletionStage().toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
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
    String token = Credentials.afterScheme(authorization, "Bearer");
    if (token == null || token.isEmpty()) {
      return Future.failedFuture(new AuthenticationException("Expected a Bearer token"));
    }
    return provider.authenticate(new TokenCredentials(token)).transform(ar -> {
      if (ar.failed()) {
        // Vert.x's messages say which check failed (expired, audience, issuer, signature) and
        // never repeat the token.
        String why = ar.cause().getMessage();
        return Future.failedFuture(new AuthenticationException("Invalid token" + (why == null ? "" : ": " + why)));
      }
      String user = userOf(ar.result());
      if (user == null || user.isBlank()) {
        return Future.failedFuture(new AuthenticationException("The token has no '" + userClaim + "' claim"));
      }
      return Future.succeededFuture(new Authenticated(user, null));
    });
  }

  private String userOf(User u) {
    Object v = u.principal().getValue(userClaim);
    return v instanceof String s ? s : null;
  }
}
