package io.sparkgate.gateway.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.testing.GatewayTestBase;
import io.vertx.core.Future;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.apache.curator.test.TestingServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Both state stores behave alike: the file store on a real directory and the ZooKeeper store
 * against a real ZooKeeper server (Curator's TestingServer runs one in this JVM).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StateStoreTest {

  private TestingServer zookeeper;
  private Path dir;
  private final List<StateStore> opened = new ArrayList<>();

  @BeforeAll
  void start() throws Exception {
    zookeeper = new TestingServer(true);
    dir = Files.createTempDirectory("sparkgate-store-test");
  }

  @AfterAll
  void stop() throws Exception {
    opened.forEach(StateStore::close);
    zookeeper.close();
    GatewayTestBase.deleteTree(dir);
  }

  Stream<StateStore> stores() throws Exception {
    StateStore files = new FileStateStore(Files.createTempDirectory(dir, "files"));
    StateStore zk = new ZooKeeperStateStore(zookeeper.getConnectString(), "/sparkgate-" + opened.size(), 20_000);
    opened.add(files);
    opened.add(zk);
    return Stream.of(files, zk);
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  @ParameterizedTest
  @MethodSource("stores")
  void putGetChildrenDelete(StateStore store) throws Exception {
    assertNull(store.get("sessions/1"));
    assertEquals(List.of(), store.children("sessions"));
    store.put("sessions/1", bytes("one"));
    store.put("sessions/1/statements/0", bytes("s0"));
    store.put("sessions/1/statements/1", bytes("s1"));
    store.put("sessions/2", bytes("two"));
    store.put("sessions/1", bytes("one, again"));
    assertArrayEquals(bytes("one, again"), store.get("sessions/1"));
    assertEquals(Set.of("1", "2"), Set.copyOf(store.children("sessions")));
    assertEquals(Set.of("0", "1"), Set.copyOf(store.children("sessions/1/statements")));
    store.delete("sessions/1");
    assertNull(store.get("sessions/1"));
    assertNull(store.get("sessions/1/statements/0"));
    assertEquals(List.of("2"), store.children("sessions"));
    store.delete("sessions/1"); // absent: nothing happens
    assertThrows(IllegalArgumentException.class, () -> store.put("../escape", bytes("x")));
    assertThrows(IllegalArgumentException.class, () -> store.put("sessions//3", bytes("x")));
  }

  @Test
  void fileRecordsAreReadableByTheOwnerOnlyAndNoTemporaryFileIsLeft() throws Exception {
    Path root = Files.createTempDirectory(dir, "perm");
    FileStateStore store = new FileStateStore(root.resolve("state"));
    store.put("sessions/7", bytes("{\"secret\":\"...\"}"));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve("state/sessions/7.rec"))));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve("state"))));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(root.resolve("state/sessions"))));
    try (Stream<Path> files = Files.list(root.resolve("state/sessions"))) {
      assertEquals(List.of("7.rec"), files.map(p -> p.getFileName().toString()).toList());
    }
    // A temporary file left by a crash between write and rename is cleared at the next start.
    Files.writeString(root.resolve("state/sessions/.tmp-crashed"), "half");
    store = new FileStateStore(root.resolve("state"));
    assertEquals(List.of("7"), store.children("sessions"));
    assertTrue(Files.notExists(root.resolve("state/sessions/.tmp-crashed")));
  }

  @Test
  void theWriterAppliesAGroupsWritesInOrderAndSkipsSupersededOnes() throws Exception {
    Path root = Files.createTempDirectory(dir, "writer");
    FailingStore store = new FailingStore(new FileStateStore(root));
    RecordWriter writer = new RecordWriter(store, 2);
    List<Future<Void>> done = new ArrayList<>();
    for (int i = 0; i < 500; i++) {
      done.add(writer.put("session-1", "sessions/1", bytes("v" + i)));
      done.add(writer.put("session-2", "sessions/2", bytes("w" + i)));
    }
    done.add(writer.put("session-1", "sessions/1/statements/0", bytes("s")));
    done.add(writer.delete("session-1", "sessions/1"));
    done.add(writer.put("session-3", "sessions/3", bytes("x")));
    GatewayTestBase.await(Future.all(done));
    GatewayTestBase.await(writer.barrier("session-2"));
    assertNull(store.get("sessions/1"));
    assertNull(store.get("sessions/1/statements/0"));
    assertArrayEquals(bytes("w499"), store.get("sessions/2"));
    assertArrayEquals(bytes("x"), store.get("sessions/3"));
    assertEquals(0, writer.failures());
    // A write the store refuses fails its own future only; the group goes on.
    Future<Void> refused = writer.put("session-4", "bad/4", bytes("x"));
    Future<Void> after = writer.put("session-4", "sessions/4", bytes("y"));
    assertThrows(AssertionError.class, () -> GatewayTestBase.await(refused));
    GatewayTestBase.await(after);
    assertArrayEquals(bytes("y"), store.get("sessions/4"));
    assertEquals(1, writer.failures());
    writer.close(5_000);
  }

  /** A store whose disk refuses every key under {@code bad/} (a full disk, say). */
  private static final class FailingStore implements StateStore {
    private final StateStore inner;

    FailingStore(StateStore inner) {
      this.inner = inner;
    }

    @Override
    public void put(String key, byte[] value) throws java.io.IOException {
      if (key.startsWith("bad/")) {
        throw new java.io.IOException("No space left on device");
      }
      inner.put(key, value);
    }

    @Override
    public byte[] get(String key) throws java.io.IOException {
      return inner.get(key);
    }

    @Override
    public List<String> children(String key) throws java.io.IOException {
      return inner.children(key);
    }

    @Override
    public void delete(String key) throws java.io.IOException {
      inner.delete(key);
    }

    @Override
    public String describe() {
      return inner.describe();
    }

    @Override
    public void close() {
      inner.close();
    }
  }
}
