package io.sparkgate.proto;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Proof that an agent holds its session's secret, without the secret ever crossing the wire.
 *
 * <p>The gateway creates a {@link #newSecret() secret} per session and hands it to the agent at
 * launch (as a Spark conf, {@link #encodeSecret encoded}). On every connection the gateway sends
 * a fresh {@link #newNonce() nonce}; the agent answers with
 *
 * <pre>
 * proof = HMAC-SHA256(secret, DOMAIN_LABEL || int32 version || int32 sessionId || nonce)
 * </pre>
 *
 * and the gateway {@link #verify verifies} it in constant time. Binding the version and the
 * session id means a proof seen on one connection is worthless for another session, another
 * version or (because the nonce is fresh) another connection. All inputs but the nonce have a
 * fixed length, so the concatenation is unambiguous.
 *
 * <p>Stateless and thread-safe.
 */
public final class AgentAuth {
  /** Bytes of a secret made by {@link #newSecret()}. */
  public static final int SECRET_LENGTH = 32;
  /** Shortest secret {@link #decodeSecret} accepts. */
  public static final int MIN_SECRET_LENGTH = 16;
  /** Bytes of an HMAC-SHA256 proof. */
  public static final int PROOF_LENGTH = 32;

  private static final String HMAC = "HmacSHA256";
  private static final byte[] DOMAIN_LABEL =
      "sparkgate/agent-auth\0".getBytes(StandardCharsets.US_ASCII);
  private static final SecureRandom RANDOM = new SecureRandom();

  private AgentAuth() {}

  /** A fresh random session secret of {@link #SECRET_LENGTH} bytes. */
  public static byte[] newSecret() {
    return randomBytes(SECRET_LENGTH);
  }

  /** A fresh random handshake nonce of {@link ProtocolVersion#NONCE_LENGTH} bytes. */
  public static byte[] newNonce() {
    return randomBytes(ProtocolVersion.NONCE_LENGTH);
  }

  /** The secret as URL-safe base64 without padding, fit for a Spark conf or an environment variable. */
  public static String encodeSecret(byte[] secret) {
    return Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
  }

  /**
   * The secret from {@link #encodeSecret}'s form (padding optional).
   *
   * @throws IllegalArgumentException if it is not URL-safe base64 or shorter than
   *     {@link #MIN_SECRET_LENGTH} bytes
   */
  public static byte[] decodeSecret(String encoded) {
    byte[] secret = Base64.getUrlDecoder().decode(encoded.strip());
    if (secret.length < MIN_SECRET_LENGTH) {
      throw new IllegalArgumentException(
          "secret has " + secret.length + " bytes, at least " + MIN_SECRET_LENGTH + " are required");
    }
    return secret;
  }

  /** The agent's answer to a challenge; see the class comment for what it covers. */
  public static byte[] proof(byte[] secret, int version, int sessionId, byte[] nonce) {
    if (secret.length == 0) {
      throw new IllegalArgumentException("empty secret");
    }
    try {
      Mac mac = Mac.getInstance(HMAC);
      mac.init(new SecretKeySpec(secret, HMAC));
      mac.update(DOMAIN_LABEL);
      mac.update(ByteBuffer.allocate(8).putInt(version).putInt(sessionId).array());
      mac.update(nonce);
      return mac.doFinal();
    } catch (GeneralSecurityException e) {
      // HmacSHA256 is mandatory in every Java platform; this cannot happen on a conforming JVM.
      throw new IllegalStateException("HmacSHA256 unavailable", e);
    }
  }

  /** Whether {@code proof} answers the challenge; compares in time independent of where they differ. */
  public static boolean verify(byte[] secret, int version, int sessionId, byte[] nonce, byte[] proof) {
    return MessageDigest.isEqual(proof(secret, version, sessionId, nonce), proof);
  }

  private static byte[] randomBytes(int n) {
    byte[] bytes = new byte[n];
    RANDOM.nextBytes(bytes);
    return bytes;
  }
}
