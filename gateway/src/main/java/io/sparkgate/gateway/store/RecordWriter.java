package io.sparkgate.gateway.store;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes records to a {@link StateStore} off the event loops, in order within a group (one group per
 * session), groups in parallel on a small pool of its own threads.
 *
 * <p>Callers on an event loop queue a write and get a {@link Future} that completes, on a store
 * thread, once the write is durable. Writes of one group are applied in the order queued; when a
 * group falls behind, a put superseded by a later put or delete of the same key in the same backlog
 * is skipped (its future completes with the later one), so a burst of changes to one session costs
 * one write, not one per change.
 *
 * <p>Bounded: a group's backlog is whatever its callers queued since the last drain; sessions queue a
 * handful of records per agent event, and a drain takes them all at once.
 */
public final class RecordWriter {

  private static final Logger LOG = LoggerFactory.getLogger(RecordWriter.class);

  private record Op(String key, byte[] value, Promise<Void> done) {
    boolean isDelete() {
      return value == null;
    }
  }

  private final StateStore store;
  private final ExecutorService pool;
  private final java.util.concurrent.ConcurrentMap<String, Group> groups = new java.util.concurrent.ConcurrentHashMap<>();
  private final AtomicInteger failures = new AtomicInteger();

  /**
   * One group's backlog, drained by at most one store thread at a time. Lock-free, so that an event
   * loop queueing a write never waits for a store thread (which a busy machine may have descheduled).
   */
  private static final class Group {
    final String name;
    final java.util.concurrent.ConcurrentLinkedQueue<Op> queue = new java.util.concurrent.ConcurrentLinkedQueue<>();
    final java.util.concurrent.atomic.AtomicBoolean draining = new java.util.concurrent.atomic.AtomicBoolean();

    Group(String name) {
      this.name = name;
    }
  }

  public RecordWriter(StateStore store, int threads) {
    this.store = Objects.requireNonNull(store, "store");
    AtomicInteger n = new AtomicInteger();
    this.pool = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "sparkgate-store-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
  }

  public StateStore store() {
    return store;
  }

  /** Queues {@code value} under {@code key}; completes once it is durable (or fails with the IO error). */
  public Future<Void> put(String group, String key, byte[] value) {
    return enqueue(group, new Op(StateStore.checkKey(key), Objects.requireNonNull(value, "value"), Promise.promise()));
  }

  /**
   * Queues the removal of {@code key} and everything below it. The group is forgotten once this is
   * done: nothing may be queued in it afterwards (a removed session stores nothing more).
   */
  public Future<Void> delete(String group, String key) {
    return enqueue(group, new Op(StateStore.checkKey(key), null, Promise.promise()));
  }

  /** Completes once every write queued so far in {@code group} is done. */
  public Future<Void> barrier(String group) {
    Promise<Void> p = Promise.promise();
    enqueue(group, new Op(null, null, p));
    return p.future();
  }

  /** How many writes failed since start (for tests and the soak report). */
  public int failures() {
    return failures.get();
  }

  private Future<Void> enqueue(String groupName, Op op) {
    Group g = groups.computeIfAbsent(groupName, Group::new);
    g.queue.add(op);
    schedule(g);
    return op.done().future();
  }

  private void schedule(Group g) {
    if (g.draining.compareAndSet(false, true)) {
      try {
        pool.execute(() -> drain(g));
      } catch (RejectedExecutionException e) {
        Op op;
        while ((op = g.queue.poll()) != null) {
          op.done().tryFail(new IllegalStateException("the state store is closed"));
        }
        g.draining.set(false);
      }
    }
  }

  private void drain(Group g) {
    while (true) {
      List<Op> batch = new ArrayList<>();
      Op op;
      while ((op = g.queue.poll()) != null) {
        batch.add(op);
      }
      if (batch.isEmpty()) {
        g.draining.set(false);
        // An op queued after the poll and before the flag dropped would wait forever: look again.
        if (g.queue.isEmpty() || !g.draining.compareAndSet(false, true)) {
          return;
        }
        continue;
      }
      write(batch);
      if (batch.stream().anyMatch(o -> o.key() != null && o.isDelete())) {
        groups.remove(g.name, g); // The session is gone; its group would only take memory.
      }
    }
  }

  private void write(List<Op> batch) {
    // The last op touching each key wins; earlier puts of that key are skipped.
    Map<String, Integer> last = new HashMap<>();
    for (int i = 0; i < batch.size(); i++) {
      if (batch.get(i).key() != null) {
        last.put(batch.get(i).key(), i);
      }
    }
    List<Runnable> completions = new ArrayList<>(batch.size());
    for (int i = 0; i < batch.size(); i++) {
      Op op = batch.get(i);
      if (op.key() == null || (!op.isDelete() && last.get(op.key()) != i)) {
        completions.add(op.done()::tryComplete);
        continue;
      }
      try {
        if (op.isDelete()) {
          store.delete(op.key());
        } else {
          store.put(op.key(), op.value());
        }
        completions.add(op.done()::tryComplete);
      } catch (Exception e) {
        failures.incrementAndGet();
        LOG.error("State store: could not {} {}: {}", op.isDelete() ? "delete" : "write", op.key(), e.toString());
        completions.add(() -> op.done().tryFail(e));
      }
    }
    // Complete in order, after the writes before them: a future completes only once everything
    // queued before it in the group is durable too.
    for (Runnable r : completions) {
      r.run();
    }
  }

  /** Finishes what is queued (waiting up to {@code millis}) and stops the store threads; closes the store. */
  public void close(long millis) {
    pool.shutdown();
    try {
      if (!pool.awaitTermination(millis, TimeUnit.MILLISECONDS)) {
        LOG.warn("State store: writes still queued after {} ms at shutdown", millis);
        pool.shutdownNow();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    store.close();
  }
}
