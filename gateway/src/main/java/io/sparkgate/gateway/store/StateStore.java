package io.sparkgate.gateway.store;

import java.io.IOException;
import java.util.List;

/**
 * Where the gateway keeps what must outlive it: a tree of small records, each a byte array under a
 * slash-separated key ({@code sessions/3}, {@code sessions/3/statements/7}, {@code ids/sessions}).
 * A key can hold a record and have children at the same time, as a ZooKeeper node does.
 *
 * <p>Every method blocks on IO: call them on a worker thread (the {@link RecordWriter} does), never
 * on an event loop. A {@link #put} that returned is durable: it survives a crash of the gateway
 * (and, for the file store, of the machine).
 */
public interface StateStore extends AutoCloseable {

  /** Stores {@code value} under {@code key}, replacing what was there, atomically. */
  void put(String key, byte[] value) throws IOException;

  /** The record under {@code key}, or null. */
  byte[] get(String key) throws IOException;

  /** The names of the keys directly under {@code key} (holding a record or children), unordered. */
  List<String> children(String key) throws IOException;

  /** Removes the record under {@code key} and everything below it; nothing when absent. */
  void delete(String key) throws IOException;

  /** A description for the start-up log (the directory, the ZooKeeper address). */
  String describe();

  @Override
  void close();

  /** Checks a key: non-empty segments of letters, digits, '-', '_' and '.', not "." or "..". */
  static String checkKey(String key) {
    if (key == null || key.isEmpty()) {
      throw new IllegalArgumentException("empty key");
    }
    for (String segment : key.split("/", -1)) {
      if (segment.isEmpty() || segment.equals(".") || segment.equals("..")
          || !segment.chars().allMatch(c -> Character.isLetterOrDigit(c) && c < 128 || c == '-' || c == '_' || c == '.')) {
        throw new IllegalArgumentException("bad key: " + key);
      }
    }
    return key;
  }
}
