package io.sparkgate.gateway.auth;

import io.sparkgate.gateway.GatewayConfig;
import io.vertx.core.net.KeyCertOptions;
import io.vertx.core.net.KeyStoreOptions;
import io.vertx.core.net.PemKeyCertOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The REST API's certificate and key from the config: a keystore ({@code sparkgate.server.tls.keystore},
 * Livy's {@code livy.keystore}; PKCS#12 for {@code .p12}/{@code .pfx}, else JKS) or a PEM pair
 * ({@code cert-file} and {@code key-file}). With either, the API speaks HTTPS only.
 */
public final class ServerTls {

  private ServerTls() {
  }

  /**
   * The key material {@code config} names, or null for plain HTTP.
   *
   * @throws IllegalArgumentException when the settings are incomplete or a file is unreadable
   */
  public static KeyCertOptions keyCert(GatewayConfig config) {
    String keystore = config.get(GatewayConfig.TLS_KEYSTORE);
    String cert = config.get(GatewayConfig.TLS_CERT_FILE);
    String key = config.get(GatewayConfig.TLS_KEY_FILE);
    if (!keystore.isEmpty()) {
      if (!cert.isEmpty() || !key.isEmpty()) {
        throw new IllegalArgumentException("set either " + GatewayConfig.TLS_KEYSTORE.key() + " or "
            + GatewayConfig.TLS_CERT_FILE.key() + " and " + GatewayConfig.TLS_KEY_FILE.key() + ", not both");
      }
      readable(keystore);
      String lower = keystore.toLowerCase(Locale.ROOT);
      String type = lower.endsWith(".p12") || lower.endsWith(".pfx") ? "PKCS12" : "JKS";
      String password = config.get(GatewayConfig.TLS_KEYSTORE_PASSWORD);
      return new KeyStoreOptions().setType(type).setPath(keystore).setPassword(password.isEmpty() ? null : password);
    }
    if (cert.isEmpty() != key.isEmpty()) {
      throw new IllegalArgumentException(GatewayConfig.TLS_CERT_FILE.key() + " and " + GatewayConfig.TLS_KEY_FILE.key()
          + " go together");
    }
    if (cert.isEmpty()) {
      return null;
    }
    readable(cert);
    readable(key);
    return new PemKeyCertOptions().setCertPath(cert).setKeyPath(key);
  }

  private static void readable(String file) {
    if (!Files.isReadable(Path.of(file))) {
      throw new IllegalArgumentException("TLS file " + file + " is not readable");
    }
  }
}
