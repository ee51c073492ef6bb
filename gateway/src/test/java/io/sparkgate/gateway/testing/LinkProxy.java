package io.sparkgate.gateway.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A TCP proxy for tests, put between the agents and the gateway's agent server to make network
 * faults happen on demand (as vertx-sql-client's ProxyServer does for databases):
 *
 * <ul>
 *   <li>{@link #cut()}: closes every connection through it, as a reset would;
 *   <li>{@link #down(boolean)}: while down, new connections are accepted and closed at once (the
 *       peer's host is unreachable), and going down cuts the current ones;
 *   <li>{@link #halfOpen(boolean)}: bytes stop flowing both ways but the sockets stay open (a
 *       silent network; only heartbeats can tell);
 *   <li>{@link #delayMillis(long)}: each chunk is forwarded after a delay;
 *   <li>{@link #drop(boolean)}: bytes are read and thrown away.
 * </ul>
 *
 * Test code only: it uses blocking sockets, two daemon threads per connection and one to accept.
 */
public final class LinkProxy implements AutoCloseable {
  private final String targetHost;
  private final int targetPort;
  private final ServerSocket server;
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final AtomicLong connections = new AtomicLong();
  private volatile boolean down;
  private volatile boolean halfOpen;
  private volatile boolean drop;
  private volatile long delayMillis;
  private volatile boolean closed;

  /** Starts a proxy on a free loopback port, forwarding to {@code targetHost:targetPort}. */
  public LinkProxy(String targetHost, int targetPort) throws IOException {
    this.targetHost = targetHost;
    this.targetPort = targetPort;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    daemon("link-proxy-accept", this::acceptLoop).start();
  }

  public int port() {
    return server.getLocalPort();
  }

  /** Connections forwarded so far (not counting those refused while down). */
  public long connections() {
    return connections.get();
  }

  public void cut() {
    for (Socket s : sockets) {
      closeQuietly(s);
    }
    sockets.clear();
  }

  public void down(boolean value) {
    down = value;
    if (value) {
      cut();
    }
  }

  public void halfOpen(boolean value) {
    halfOpen = value;
  }

  public void drop(boolean value) {
    drop = value;
  }

  public void delayMillis(long value) {
    delayMillis = value;
  }

  @Override
  public void close() {
    closed = true;
    closeQuietly(server);
    cut();
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return; // closed
      }
      if (down) {
        closeQuietly(client);
        continue;
      }
      Socket target = new Socket();
      try {
        target.connect(new InetSocketAddress(targetHost, targetPort), 5_000);
      } catch (IOException e) {
        closeQuietly(client);
        closeQuietly(target);
        continue;
      }
      connections.incrementAndGet();
      sockets.add(client);
      sockets.add(target);
      daemon("link-proxy-up", () -> pump(client, target)).start();
      daemon("link-proxy-down", () -> pump(target, client)).start();
    }
  }

  private void pump(Socket from, Socket to) {
    byte[] buffer = new byte[16 * 1024];
    try {
      InputStream in = from.getInputStream();
      OutputStream out = to.getOutputStream();
      while (true) {
        while (halfOpen && !from.isClosed()) {
          Thread.sleep(10); // hold everything, keep the sockets open
        }
        int n = in.read(buffer);
        if (n < 0) {
          break;
        }
        long delay = delayMillis;
        if (delay > 0) {
          Thread.sleep(delay);
        }
        while (halfOpen && !from.isClosed()) {
          Thread.sleep(10);
        }
        if (!drop) {
          out.write(buffer, 0, n);
          out.flush();
        }
      }
    } catch (SocketException e) {
      // cut
    } catch (IOException e) {
      // the other side went away
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      closeQuietly(from);
      closeQuietly(to);
      sockets.remove(from);
      sockets.remove(to);
    }
  }

  private static Thread daemon(String name, Runnable body) {
    Thread t = new Thread(body, name);
    t.setDaemon(true);
    return t;
  }

  private static void closeQuietly(java.io.Closeable c) {
    try {
      c.close();
    } catch (IOException e) {
      // closing anyway
    }
  }
}
