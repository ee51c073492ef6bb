package io.sparkgate.gateway.session;

import io.vertx.core.buffer.Buffer;
import io.vertx.core.internal.ContextInternal;
import io.vertx.core.Context;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The numbered changes of one session: every change is appended once, as a {@link SessionEvent}
 * with the next id (strictly increasing, from {@code firstId}), and kept in a window bounded by an
 * event count and a byte size; the oldest fall off. It is the one source the push streams (SSE,
 * WebSocket), the long-poll and, later, recovery read. It knows nothing of what a session is, so
 * interactive sessions and batches alike can keep one.
 *
 * <p><b>Threading.</b> {@link #append} and {@link #subscribe}/{@link #unsubscribe} are made on the
 * owner's context (the session's); listeners are called there, synchronously, in id order, right
 * after each append. A reader that needs the kept events and every later one without a gap or a
 * repeat does both on that context: {@link #readAfter} then {@link #subscribe}. {@link #readAfter},
 * {@link #oldestId} and {@link #newestId} may also be called from any thread (they take a short
 * lock shared only with {@link #append}).
 */
public final class SessionEventLog {

  private static final Logger LOG = LoggerFactory.getLogger(SessionEventLog.class);

  /** Told of every event appended, on the log's context. */
  @FunctionalInterface
  public interface Listener {
    /** Must not block or throw; a listener that throws is unsubscribed. */
    void onEvent(SessionEvent event);
  }

  /** What {@link #readAfter} found. */
  public sealed interface Read {}

  /** The kept events after the id asked for, oldest first (none when it was the newest). */
  public record Events(List<SessionEvent> events) implements Read {}

  /**
   * Some events after the id asked for are no longer kept: the reader has missed changes and should
   * re-read the whole state (REST). {@code events} are the kept ones, from {@code oldestId}.
   */
  public record Reset(long oldestId, List<SessionEvent> events) implements Read {}

  private final ContextInternal context;
  private final int maxEvents;
  private final long maxBytes;
  private final ArrayDeque<SessionEvent> window = new ArrayDeque<>();
  private final List<Listener> listeners = new ArrayList<>();
  /** Guards window, bytes and nextId against readers off the context. */
  private final Object lock = new Object();
  private long bytes;
  private long nextId;
  private boolean notifying;
  /** Listeners that left during a notification; removed together after it (a set: many leave at once). */
  private final java.util.Set<Listener> removedWhileNotifying =
      java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());

  /**
   * @param context the owner's context: appends, subscriptions and listener calls happen there
   * @param maxEvents most events kept
   * @param maxBytes most bytes kept ({@link SessionEvent#size()}); the newest event is always kept
   * @param firstId the id of the first event appended (1 for a new session; more when a recovered
   *     session continues its numbering)
   */
  public SessionEventLog(Context context, int maxEvents, long maxBytes, long firstId) {
    this.context = (ContextInternal) Objects.requireNonNull(context, "context");
    if (maxEvents < 1 || maxBytes < 1 || firstId < 1) {
      throw new IllegalArgumentException("maxEvents, maxBytes and firstId must be positive");
    }
    this.maxEvents = maxEvents;
    this.maxBytes = maxBytes;
    this.nextId = firstId;
  }

  /**
   * Loads and runs once what appending and rendering events needs, so that the first event of a
   * session does not load classes on an event loop. Call off the event loops.
   */
  public static void warmUp() {
    SessionEvent e = new SessionEvent(1, SessionEvent.LOG, SessionEvent.NO_STATEMENT, SessionEvent.Mark.NONE,
        EventData.log(List.of("warm")));
    e.sseFrame();
    e.webSocketText();
    EventData.output(0, "stdout", "warm");
    new Events(List.of(e)).events();
    new Reset(1, List.of()).events();
  }

  /** The context appends and listener calls happen on. */
  public Context context() {
    return context;
  }

  /**
   * Appends an event with the next id and tells every listener. Context only.
   *
   * @param type the event's type (see {@link SessionEvent})
   * @param statement the statement it belongs to, or {@link SessionEvent#NO_STATEMENT}
   * @param data its data: one JSON value on one line
   * @return the event
   */
  public SessionEvent append(String type, int statement, SessionEvent.Mark mark, Buffer data) {
    checkContext();
    SessionEvent event;
    synchronized (lock) {
      event = new SessionEvent(nextId++, type, statement, mark, data);
      window.addLast(event);
      bytes += event.size();
      while (window.size() > 1 && (window.size() > maxEvents || bytes > maxBytes)) {
        bytes -= window.removeFirst().size();
      }
    }
    notifying = true;
    try {
      for (int i = 0; i < listeners.size(); i++) {
        Listener l = listeners.get(i);
        try {
          l.onEvent(event);
        } catch (RuntimeException e) {
          LOG.warn("An event listener failed on {}; unsubscribing it", event, e);
          removedWhileNotifying.add(l);
        }
      }
    } finally {
      notifying = false;
      if (!removedWhileNotifying.isEmpty()) {
        listeners.removeIf(removedWhileNotifying::contains);
        removedWhileNotifying.clear();
      }
    }
    return event;
  }

  /**
   * The kept events with an id greater than {@code afterId}: all of them when the window still
   * reaches back that far, else a {@link Reset} (also for an id past the newest: the reader's
   * numbering is not this log's).
   * {@code afterId} 0 asks for everything since the first event. Any thread.
   */
  public Read readAfter(long afterId) {
    synchronized (lock) {
      long oldest = window.isEmpty() ? nextId : window.peekFirst().id();
      List<SessionEvent> out = new ArrayList<>();
      if ((afterId + 1 < oldest && afterId < nextId - 1) || afterId > nextId - 1) {
        // Events afterId+1 .. oldest-1 are gone, or the reader's id is from another numbering.
        out.addAll(window);
        return new Reset(oldest, out);
      }
      if (afterId == nextId - 1) {
        return new Events(List.of());
      }
      // Walk back from the newest: readers usually ask for the last few.
      Iterator<SessionEvent> it = window.descendingIterator();
      while (it.hasNext()) {
        SessionEvent e = it.next();
        if (e.id() <= afterId) {
          break;
        }
        out.add(e);
      }
      java.util.Collections.reverse(out);
      return new Events(out);
    }
  }

  /** The id of the oldest event kept; {@link #newestId()} + 1 while none is kept. Any thread. */
  public long oldestId() {
    synchronized (lock) {
      return window.isEmpty() ? nextId : window.peekFirst().id();
    }
  }

  /** The id of the newest event, kept or not; {@code firstId - 1} before the first. Any thread. */
  public long newestId() {
    synchronized (lock) {
      return nextId - 1;
    }
  }

  /** How many events are kept now. Any thread. */
  public int size() {
    synchronized (lock) {
      return window.size();
    }
  }

  /** Calls {@code listener} for every event appended from now on. Context only. */
  public void subscribe(Listener listener) {
    checkContext();
    listeners.add(Objects.requireNonNull(listener, "listener"));
  }

  /** Stops calling {@code listener}; safe from within a listener call. Context only. */
  public void unsubscribe(Listener listener) {
    checkContext();
    if (notifying) {
      removedWhileNotifying.add(listener);
    } else {
      listeners.remove(listener);
    }
  }

  /** How many listeners are subscribed. Context only. */
  public int listeners() {
    checkContext();
    return listeners.size();
  }

  private void checkContext() {
    if (!context.nettyEventLoop().inEventLoop()) {
      throw new IllegalStateException("session event log used off its context");
    }
  }
}
