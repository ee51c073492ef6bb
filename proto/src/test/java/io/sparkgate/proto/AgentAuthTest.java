package io.sparkgate.proto;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class AgentAuthTest {
  private final byte[] secret = AgentAuth.newSecret();
  private final byte[] nonce = AgentAuth.newNonce();

  @Test
  void secretsAndNoncesAreFreshRandomBytesOfTheDocumentedLength() {
    assertEquals(AgentAuth.SECRET_LENGTH, secret.length);
    assertEquals(ProtocolVersion.NONCE_LENGTH, nonce.length);
    assertFalse(java.util.Arrays.equals(secret, AgentAuth.newSecret()));
    assertFalse(java.util.Arrays.equals(nonce, AgentAuth.newNonce()));
  }

  @Test
  void aSecretSurvivesItsTripThroughASparkConf() {
    String encoded = AgentAuth.encodeSecret(secret);
    assertTrue(encoded.matches("[A-Za-z0-9_-]+"), "URL-safe, no padding: " + encoded);
    assertArrayEquals(secret, AgentAuth.decodeSecret(encoded));
    assertArrayEquals(secret, AgentAuth.decodeSecret(encoded + "=\n"), "padding and a newline are tolerated");
  }

  @Test
  void aMalformedOrShortSecretIsRefused() {
    assertThrows(IllegalArgumentException.class, () -> AgentAuth.decodeSecret("not base64!"));
    assertThrows(IllegalArgumentException.class, () -> AgentAuth.decodeSecret(AgentAuth.encodeSecret(new byte[8])));
  }

  @Test
  void theProofIsAnHmacOverTheLabelVersionSessionAndNonce() throws Exception {
    // Recompute independently, as an implementer in another language would from the README.
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(secret, "HmacSHA256"));
    mac.update("sparkgate/agent-auth\0".getBytes(StandardCharsets.US_ASCII));
    mac.update(HexFormat.of().parseHex("00000001" + "00000007"));
    mac.update(nonce);
    byte[] expected = mac.doFinal();
    assertArrayEquals(expected, AgentAuth.proof(secret, 1, 7, nonce));
    assertEquals(AgentAuth.PROOF_LENGTH, expected.length);
  }

  @Test
  void aProofVerifiesOnlyForItsOwnSecretVersionSessionAndNonce() {
    byte[] proof = AgentAuth.proof(secret, 1, 7, nonce);
    assertTrue(AgentAuth.verify(secret, 1, 7, nonce, proof));
    assertFalse(AgentAuth.verify(AgentAuth.newSecret(), 1, 7, nonce, proof), "other secret");
    assertFalse(AgentAuth.verify(secret, 2, 7, nonce, proof), "other version");
    assertFalse(AgentAuth.verify(secret, 1, 8, nonce, proof), "other session");
    assertFalse(AgentAuth.verify(secret, 1, 7, AgentAuth.newNonce(), proof), "other nonce (replay)");
    byte[] tampered = proof.clone();
    tampered[31] ^= 1;
    assertFalse(AgentAuth.verify(secret, 1, 7, nonce, tampered));
    assertFalse(AgentAuth.verify(secret, 1, 7, nonce, new byte[0]));
  }
}
