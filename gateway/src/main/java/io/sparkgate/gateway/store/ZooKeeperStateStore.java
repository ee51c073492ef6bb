package io.sparkgate.gateway.store;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.ExponentialBackoffRetry;
import org.apache.zookeeper.KeeperException;

/**
 * The state store in ZooKeeper, through Apache Curator, for gateways that share state: key
 * {@code a/b} is the znode {@code <base>/a/b}. A put is one {@code create-or-setData}, atomic and
 * durable once ZooKeeper's quorum has it.
 *
 * <p>ZooKeeper holds records of at most about 1 MB ({@code jute.maxbuffer}): a statement whose
 * output is larger fails to be stored (the error is logged; the statement still completes in
 * memory). Records hold per-session secrets: restrict the base path with ZooKeeper ACLs where the
 * ensemble is shared.
 */
public final class ZooKeeperStateStore implements StateStore {

  private final CuratorFramework client;
  private final String base;
  private final String connect;

  /**
   * Connects to {@code connectString} (host:port[,host:port...]) and waits up to
   * {@code connectTimeoutMillis} for the first connection.
   *
   * @param base the znode all records live under, e.g. {@code /sparkgate}
   */
  public ZooKeeperStateStore(String connectString, String base, long connectTimeoutMillis) throws IOException {
    if (!base.startsWith("/") || base.endsWith("/") && base.length() > 1) {
      throw new IllegalArgumentException("the ZooKeeper base path must start with / and not end with one: " + base);
    }
    this.connect = connectString;
    this.base = base.equals("/") ? "" : base;
    this.client = CuratorFrameworkFactory.builder()
        .connectString(connectString)
        .retryPolicy(new ExponentialBackoffRetry(200, 5))
        .connectionTimeoutMs((int) Math.min(Integer.MAX_VALUE, connectTimeoutMillis))
        .build();
    client.start();
    try {
      if (!client.blockUntilConnected((int) Math.min(Integer.MAX_VALUE, connectTimeoutMillis), TimeUnit.MILLISECONDS)) {
        client.close();
        throw new IOException("could not reach ZooKeeper at " + connectString + " within " + connectTimeoutMillis + " ms");
      }
    } catch (InterruptedException e) {
      client.close();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while connecting to ZooKeeper", e);
    }
  }

  @Override
  public void put(String key, byte[] value) throws IOException {
    String path = path(key);
    try {
      client.create().orSetData().creatingParentsIfNeeded().forPath(path, value);
    } catch (Exception e) {
      throw wrap("store " + key, e);
    }
  }

  @Override
  public byte[] get(String key) throws IOException {
    String path = path(key);
    try {
      byte[] data = client.getData().forPath(path);
      // A node made only as a parent of others holds no record.
      return data == null || data.length == 0 ? null : data;
    } catch (KeeperException.NoNodeException e) {
      return null;
    } catch (Exception e) {
      throw wrap("read " + key, e);
    }
  }

  @Override
  public List<String> children(String key) throws IOException {
    String path = path(key);
    try {
      return client.getChildren().forPath(path);
    } catch (KeeperException.NoNodeException e) {
      return List.of();
    } catch (Exception e) {
      throw wrap("list " + key, e);
    }
  }

  @Override
  public void delete(String key) throws IOException {
    String path = path(key);
    try {
      client.delete().deletingChildrenIfNeeded().forPath(path);
    } catch (KeeperException.NoNodeException e) {
      // Already gone.
    } catch (Exception e) {
      throw wrap("delete " + key, e);
    }
  }

  @Override
  public String describe() {
    return "ZooKeeper at " + connect + ", under " + (base.isEmpty() ? "/" : base);
  }

  @Override
  public void close() {
    client.close();
  }

  private String path(String key) {
    return base + "/" + StateStore.checkKey(key);
  }

  private static IOException wrap(String what, Exception e) {
    if (e instanceof InterruptedException) {
      Thread.currentThread().interrupt();
    }
    return e instanceof IOException io ? io : new IOException("ZooKeeper: could not " + what + ": " + e, e);
  }
}
