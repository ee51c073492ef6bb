package io.sparkgate.gateway.api;

import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * One HTTP server instance of the REST API. Deploy one per event loop on the same port: Vert.x
 * spreads connections over them.
 */
public final class ApiVerticle extends VerticleBase {

  private final Supplier<RestApi> api;
  private final String host;
  private final int port;
  private final int maxWebSocketMessage;
  private final io.vertx.core.net.KeyCertOptions tls;
  private HttpServer server;

  /**
   * @param port the port to listen on; a negative port makes every instance given the same one
   *     share one free port
   */
  public ApiVerticle(Supplier<RestApi> api, String host, int port) {
    this(api, host, port, HttpServerOptions.DEFAULT_MAX_WEBSOCKET_MESSAGE_SIZE);
  }

  /** @param maxWebSocketMessage largest WebSocket message a client may send (a bigger one closes it, 1009) */
  public ApiVerticle(Supplier<RestApi> api, String host, int port, int maxWebSocketMessage) {
    this(api, host, port, maxWebSocketMessage, null);
  }

  /**
   * @param maxWebSocketMessage largest WebSocket message a client may send (a bigger one closes it, 1009)
   * @param tls the certificate and key of HTTPS (and WSS), or null for plain HTTP
   */
  public ApiVerticle(Supplier<RestApi> api, String host, int port, int maxWebSocketMessage,
      io.vertx.core.net.KeyCertOptions tls) {
    this.tls = tls;
    this.api = Objects.requireNonNull(api, "api");
    this.host = Objects.requireNonNull(host, "host");
    this.port = port;
    this.maxWebSocketMessage = maxWebSocketMessage;
  }

  @Override
  public Future<?> start() {
    HttpServerOptions options = new HttpServerOptions()
        .setHost(host)
        .setPort(port)
        .setTcpNoDelay(true)
        .setMaxWebSocketMessageSize(maxWebSocketMessage);
    if (tls != null) {
      options.setSsl(true).setKeyCertOptions(tls);
    }
    RestApi rest = api.get();
    return vertx.createHttpServer(options)
        .requestHandler(rest.router())
        .webSocketHandshakeHandler(rest::webSocketHandshake)
        .webSocketHandler(rest::webSocket)
        .listen()
        .onSuccess(s -> server = s);
  }

  /** The port this instance listens on (for a shared free port, only the instance that bound it knows). */
  public int actualPort() {
    return server.actualPort();
  }
}
