package io.sparkgate.gateway.auth;

import io.sparkgate.gateway.testing.GatewayTestBase;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.client.HttpResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Map;

/**
 * A {@link GatewayTestBase} whose requests carry headers of the test's choosing (credentials, CSRF),
 * and helpers that make the files a secured gateway reads (an htpasswd file).
 */
abstract class SecureGatewayTestBase extends GatewayTestBase {

  /** Whether the base class's start-up requests are over. */
  private volatile boolean started;

  /**
   * Headers of the base class's start-up requests (its warm-up creates a session), asked once per
   * request: credentials the gateway accepts. Afterwards the base's helpers send none.
   */
  protected Map<String, String> warmUpHeaders() {
    return Map.of();
  }

  @Override
  protected void warmUp() {
    started = true;
  }

  @Override
  public Response request(HttpMethod method, String path, Buffer body, String contentType) {
    if (started) {
      return super.request(method, path, body, contentType);
    }
    Map<String, String> headers = new java.util.HashMap<>(warmUpHeaders());
    if (contentType != null) {
      headers.put("Content-Type", contentType);
    }
    return call(method, path, body == null ? null : body.toString(), headers);
  }

  /** A request with {@code headers} (name to value; none when empty). */
  Response call(HttpMethod method, String path, String body, Map<String, String> headers) {
    var req = client.request(method, gateway.port(), "127.0.0.1", path).timeout(10_000);
    headers.forEach(req::putHeader);
    if (body != null) {
      req.putHeader("Content-Type", "application/json");
    }
    Future<HttpResponse<Buffer>> f = body == null ? req.send() : req.sendBuffer(Buffer.buffer(body));
    HttpResponse<Buffer> r = await(f);
    return new Response(r.statusCode(), r.headers(), r.bodyAsString() == null ? "" : r.bodyAsString());
  }

  /** The Authorization value of HTTP Basic. */
  static String basic(String user, String password) {
    return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
  }

  /** Writes an htpasswd file with {SHA} hashes (htpasswd -s) of {@code users} (name to password). */
  static Path htpasswd(Path dir, Map<String, String> users) {
    StringBuilder b = new StringBuilder();
    users.forEach((u, p) -> b.append(u).append(":{SHA}").append(sha1(p)).append('\n'));
    try {
      return Files.writeString(dir.resolve("users.htpasswd"), b.toString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String sha1(String password) {
    try {
      return Base64.getEncoder().encodeToString(
          MessageDigest.getInstance("SHA-1").digest(password.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static Path tempDir(String prefix) {
    try {
      Path d = Files.createTempDirectory(prefix);
      d.toFile().deleteOnExit();
      return d;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
