package io.sparkgate.gateway.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.auth.JWTOptions;
import io.vertx.ext.auth.PubSecKeyOptions;
import io.vertx.ext.auth.jwt.JWTAuth;
import io.vertx.ext.auth.jwt.JWTAuthOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code sparkgate.auth.type = jwt}: Bearer tokens signed with RS256 by an identity provider (played
 * by Vert.x's own token signer with a key pair made here), checked for signature, expiry, issuer and
 * audience.
 */
class JwtAuthTest extends SecureGatewayTestBase {

  private static final KeyPair PROVIDER = rsa();
  private static final KeyPair IMPOSTOR = rsa();

  private JWTAuth provider;
  private JWTAuth impostor;

  @Override
  protected Map<String, String> warmUpHeaders() {
    return Map.of("Authorization", "Bearer " + token(signer(PROVIDER), "warm-up", "https://idp.example.com", "sparkgate",
        inAnHour()));
  }

  @Override
  protected Map<String, String> settings() {
    Path dir = tempDir("sparkgate-jwt");
    Path key;
    try {
      key = Files.writeString(dir.resolve("issuer.pem"), pem("PUBLIC KEY", PROVIDER.getPublic().getEncoded()));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return Map.of("sparkgate.auth.type", "jwt", "sparkgate.auth.jwt.key-file", key.toString(),
        "sparkgate.auth.jwt.algorithm", "RS256", "sparkgate.auth.jwt.issuer", "https://idp.example.com",
        "sparkgate.auth.jwt.audience", "sparkgate");
  }

  private static KeyPair rsa() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("RSA");
      g.initialize(2048);
      return g.generateKeyPair();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  private JWTAuth signer(KeyPair keys) {
    return JWTAuth.create(vertx, new JWTAuthOptions().addPubSecKey(new PubSecKeyOptions().setAlgorithm("RS256")
        .setBuffer(Buffer.buffer(pem("PRIVATE KEY", keys.getPrivate().getEncoded())))));
  }

  private String token(JWTAuth signer, String user, String issuer, String audience, long expiresAtSeconds) {
    JsonObject claims = new JsonObject().put("sub", user).put("exp", expiresAtSeconds);
    JWTOptions options = new JWTOptions().setAlgorithm("RS256").setIssuer(issuer).addAudience(audience);
    return signer.generateToken(claims, options);
  }

  private long inAnHour() {
    return System.currentTimeMillis() / 1000 + 3600;
  }

  private Response as(String token, HttpMethod method, String path, String body) {
    return call(method, path, body, Map.of("Authorization", "Bearer " + token));
  }

  @Test
  void aValidTokenAuthenticatesItsSubjectWhoOwnsWhatItCreates() {
    provider = signer(PROVIDER);
    String t = token(provider, "carol", "https://idp.example.com", "sparkgate", inAnHour());
    Response created = as(t, HttpMethod.POST, "/sessions", "{\"kind\":\"sql\"}");
    assertEquals(201, created.status(), created.body());
    assertEquals("carol", created.json().getString("owner"));
    assertEquals(200, as(t, HttpMethod.DELETE, "/sessions/" + created.json().getInteger("id"), null).status());
  }

  @Test
  void noTokenWrongSignatureExpiredOtherAudienceOrIssuerAre401WithTheBearerChallenge() {
    provider = signer(PROVIDER);
    impostor = signer(IMPOSTOR);
    long past = System.currentTimeMillis() / 1000 - 600;
    Map<String, String> bad = Map.of(
        "forged", token(impostor, "carol", "https://idp.example.com", "sparkgate", inAnHour()),
        "expired", token(provider, "carol", "https://idp.example.com", "sparkgate", past),
        "other audience", token(provider, "carol", "https://idp.example.com", "another-app", inAnHour()),
        "other issuer", token(provider, "carol", "https://evil.example.com", "sparkgate", inAnHour()),
        "garbage", "not.a.token");
    bad.forEach((what, t) -> {
      Response r = as(t, HttpMethod.GET, "/sessions", null);
      assertEquals(401, r.status(), what + ": " + r.body());
      assertEquals("Bearer realm=\"sparkgate\"", r.headers().get("WWW-Authenticate"), what);
      assertTrue(r.msg().startsWith("Invalid token"), what + ": " + r.body());
      assertTrue(!r.body().contains(t), what + ": the answer never repeats the token");
    });
    Response none = get("/sessions");
    assertEquals(401, none.status());
    assertEquals("Bearer realm=\"sparkgate\"", none.headers().get("WWW-Authenticate"));
    Response basic = call(HttpMethod.GET, "/sessions", null, Map.of("Authorization", basic("carol", "x")));
    assertEquals(401, basic.status());
  }
}
