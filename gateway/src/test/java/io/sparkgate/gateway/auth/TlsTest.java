package io.sparkgate.gateway.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.Gateway;
import io.sparkgate.gateway.GatewayConfig;
import io.sparkgate.gateway.testing.FakeAgents;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.net.KeyStoreOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SelfSignedCertificate;
import io.vertx.ext.web.client.HttpResponse;
import io.vertx.ext.web.client.WebClient;
import io.vertx.ext.web.client.WebClientOptions;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * HTTPS for the REST API: a PKCS#12 keystore made by the JDK's keytool (Livy's {@code livy.keystore}
 * and {@code livy.keystore.password}), and a PEM pair made by Vert.x's SelfSignedCertificate. A
 * client that trusts the certificate gets the API; plain HTTP gets nothing.
 */
class TlsTest extends SecureGatewayTestBase {

  private Path keystore;

  @Override
  protected Map<String, String> settings() {
    Path dir = tempDir("sparkgate-tls");
    keystore = dir.resolve("gateway.p12");
    try {
      Process keytool = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
          "-genkeypair", "-alias", "gateway", "-keyalg", "RSA", "-keysize", "2048", "-validity", "2",
          "-dname", "CN=localhost", "-ext", "SAN=dns:localhost,ip:127.0.0.1", "-storetype", "PKCS12",
          "-keystore", keystore.toString(), "-storepass", "keystore-pw", "-keypass", "keystore-pw")
          .redirectErrorStream(true).start();
      String out = new String(keytool.getInputStream().readAllBytes());
      if (!keytool.waitFor(60, TimeUnit.SECONDS) || keytool.exitValue() != 0) {
        throw new IllegalStateException("keytool failed: " + out);
      }
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
    return Map.of("livy.keystore", keystore.toString(), "livy.keystore.password", "keystore-pw");
  }

  private WebClient https;

  /** A client that trusts the keystore's certificate and checks the host name. */
  private WebClient https() {
    if (https == null) {
      https = WebClient.create(vertx, new WebClientOptions().setSsl(true).setVerifyHost(true)
          .setSslHandshakeTimeout(60).setSslHandshakeTimeoutUnit(TimeUnit.SECONDS)
          .setTrustOptions(new KeyStoreOptions().setType("PKCS12").setPath(keystore.toString())
              .setPassword("keystore-pw")));
    }
    return https;
  }

  /** Every request of the base class (its warm-up too) over HTTPS, to localhost as the certificate names. */
  @Override
  public Response request(HttpMethod method, String path, Buffer body, String contentType) {
    // The first handshake loads and initializes the JDK's TLS on both sides: generous on a busy machine.
    var req = https().request(method, gateway.port(), "localhost", path).timeout(60_000);
    HttpResponse<Buffer> r = await(body == null ? req.send() : req.sendBuffer(body));
    return new Response(r.statusCode(), r.headers(), r.bodyAsString() == null ? "" : r.bodyAsString());
  }

  @Test
  void aClientTrustingTheKeystoresCertificateSpeaksHttpsAndPlainHttpGetsNothing() {
    Response r = get("/version");
    assertEquals(200, r.status());
    assertTrue(r.json().containsKey("version"));
    Response created = post("/sessions", "{\"kind\":\"spark\"}");
    assertEquals(201, created.status(), created.body());

    // Plain HTTP to the HTTPS port: no answer the client can read as HTTP.
    WebClient plain = WebClient.create(vertx);
    assertThrows(AssertionError.class, () -> await(plain.get(gateway.port(), "127.0.0.1", "/version").timeout(5000).send()));
    // A client that does not trust the certificate: refused in the handshake.
    WebClient untrusting = WebClient.create(vertx, new WebClientOptions().setSsl(true));
    assertThrows(AssertionError.class,
        () -> await(untrusting.get(gateway.port(), "localhost", "/version").timeout(5000).send()));
    plain.close();
    untrusting.close();
  }

  @Test
  void aPemCertificateAndKeyServeHttpsToo() throws Exception {
    SelfSignedCertificate cert = SelfSignedCertificate.create("localhost");
    Map<String, String> s = new HashMap<>();
    s.put("sparkgate.server.host", "127.0.0.1");
    s.put("sparkgate.server.port", "0");
    s.put("sparkgate.server.event-loops", "1");
    s.put("sparkgate.spark.home", spark.home.toString());
    s.put("sparkgate.agent.jar", spark.agentJar.toString());
    s.put("sparkgate.server.tls.cert-file", cert.certificatePath());
    s.put("sparkgate.server.tls.key-file", cert.privateKeyPath());
    // A Vert.x of its own: servers of one Vert.x asking for a random port share one (with the
    // class's keystore certificate).
    io.vertx.core.Vertx own = io.vertx.core.Vertx.vertx(strictOptions());
    Gateway pem = await(Gateway.start(own, GatewayConfig.of(s, Map.of()), new FakeAgents(), 45_998));
    try {
      // The self-signed certificate names the host in its CN only: the trust is checked, not the name.
      WebClient https = WebClient.create(own, new WebClientOptions().setSsl(true).setVerifyHost(false)
          .setSslHandshakeTimeout(60).setSslHandshakeTimeoutUnit(TimeUnit.SECONDS)
          .setTrustOptions(new PemTrustOptions().addCertPath(cert.certificatePath())));
      HttpResponse<Buffer> r = await(https.get(pem.port(), "localhost", "/version").send());
      assertEquals(200, r.statusCode());
      https.close();
    } finally {
      await(pem.stop());
      await(own.close());
      cert.delete();
    }
  }
}
