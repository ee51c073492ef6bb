package io.sparkgate.gateway.stream;

import io.sparkgate.gateway.session.SessionEvent;
import io.sparkgate.gateway.session.SessionEventLog;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

/**
 * One client reading a session's events over one connection (an SSE response, a WebSocket): the
 * part shared by the transports. It subscribes to the session's {@link SessionEventLog} on the
 * session's context and hands events to its connection's context through a bounded queue, so that
 * the session (and through it the agent) never waits for a client, and each client's writes happen
 * on its own connection's event loop.
 *
 * <p><b>Back-pressure.</b> Events wait in the queue while the connection cannot take more
 * ({@link #transportFull()}: the socket's write buffer is above its high-water mark). The queue is
 * bounded by a count and a byte size; an event that does not fit overflows the subscriber: it is
 * unsubscribed, what waits is dropped, and the client gets a last message naming the id of the
 * last event it was sent (resume from there) before the transport is closed. Memory per subscriber
 * is thus at most the queue's bounds plus the socket's write buffer.
 *
 * <p><b>Threading.</b> {@link #onEvent} and the subscription run on the session's context; the
 * writes ({@link #writeEvents}, {@link #writeReset}, {@link #writeOverflow}, {@link #endTransport})
 * and {@link #close()} on the connection's context, the one the subscriber was created on.
 */
public abstract class Subscriber implements SessionEventLog.Listener {

  /** {@link #begin} from the oldest event kept, without a reset for older ones. */
  public static final long FROM_OLDEST = -1;

  /** Bounds of the queue between the session's context and the connection's. */
  public record Limits(int maxEvents, long maxBytes) {
    public Limits {
      if (maxEvents < 1 || maxBytes < 1) {
        throw new IllegalArgumentException("limits must be positive");
      }
    }
  }

  /** How often a subscriber waiting for room on its connection looks whether there is some. */
  private static final long ROOM_CHECK_MILLIS = 50;

  /** Events read from the log per page of a backlog. */
  private static final int PAGE = 64;

  /** A statement event that answers a client's submit: sent with the client's reference. */
  private record Answer(SessionEvent event, String refJson) {}

  /** Subscribers open now in this JVM, by transport (the sparkgate.stream.subscribers gauge). */
  private static final java.util.concurrent.atomic.LongAdder OPEN_SSE = new java.util.concurrent.atomic.LongAdder();
  private static final java.util.concurrent.atomic.LongAdder OPEN_WEBSOCKET = new java.util.concurrent.atomic.LongAdder();

  private final ContextInternal home;
  private final SessionEventLog log;
  private final int statement;
  private final Limits limits;
  private final ConcurrentLinkedQueue<Object> queue = new ConcurrentLinkedQueue<>();
  private final AtomicInteger queuedEvents = new AtomicInteger();
  private final AtomicLong queuedBytes = new AtomicLong();
  private final AtomicBoolean drainScheduled = new AtomicBoolean();
  private volatile boolean overflowed;
  private volatile boolean closed;

  // Session's context only.
  private String nextRef;

  // Set on the session's context by begin, before the first drain is scheduled.
  private volatile long resetOldest = -1;
  private volatile long backlogAfter;
  private volatile long backlogEnd;
  private volatile boolean endAfterBacklog;

  // Connection's context only.
  private long lastSentId;
  private boolean ended;
  private boolean waitingForDrain;

  /**
   * Created on the connection's context.
   *
   * @param statement the statement whose events to send (ending after its last), or
   *     {@link SessionEvent#NO_STATEMENT} for every event of the session
   */
  Subscriber(SessionEventLog log, int statement, Limits limits) {
    this.home = (ContextInternal) Objects.requireNonNull(Vertx.currentContext(),
        "a subscriber is created on its connection's context");
    this.log = Objects.requireNonNull(log, "log");
    this.statement = statement;
    this.limits = Objects.requireNonNull(limits, "limits");
    open().increment();
  }

  /** How many subscribers of {@code transport} ("sse" or "websocket") are open now. */
  public static long open(String transport) {
    return ("sse".equals(transport) ? OPEN_SSE : OPEN_WEBSOCKET).sum();
  }

  private java.util.concurrent.atomic.LongAdder open() {
    return this instanceof SseSubscriber ? OPEN_SSE : OPEN_WEBSOCKET;
  }

  /** The id of the last event written to the client (0 before any). Connection's context. */
  public long lastSentId() {
    return lastSentId;
  }

  /**
   * Starts delivery (connection's context; once). On the session's context it notes where the
   * kept events after {@code afterId} end (the backlog, which the connection then reads from the log
   * page by page as fast as the client takes it, so a long backlog is never copied or queued) and
   * subscribes for the later ones: no gap and no repeat between the two. A {@code reset} goes first
   * when some of the events asked for are gone.
   *
   * @param afterId the id the client has (0 for everything), or {@link #FROM_OLDEST}
   * @param statementEnded for a statement stream: whether the statement has ended (read on the
   *     session's context); the stream then ends after what is kept of it
   */
  public void begin(long afterId, BooleanSupplier statementEnded) {
    lastSentId = Math.max(0, afterId);
    log.context().runOnContext(v -> {
      if (closed) {
        return;
      }
      long after = afterId == FROM_OLDEST ? Math.max(0, log.oldestId() - 1) : afterId;
      SessionEventLog.Read read = log.readAfter(after);
      List<SessionEvent> backlog;
      if (read instanceof SessionEventLog.Reset reset) {
        backlog = reset.events();
        after = reset.oldestId() - 1;
        // A statement's events are all kept when its first one is: then nothing of it was missed.
        boolean missed = statement == SessionEvent.NO_STATEMENT || backlog.stream()
            .noneMatch(e -> e.of(statement) && e.mark() == SessionEvent.Mark.FIRST);
        if (missed) {
          resetOldest = reset.oldestId();
        }
      } else {
        backlog = ((SessionEventLog.Events) read).events();
      }
      // A statement stream whose last event is in the backlog needs nothing live; a session
      // stream always does (its statements' last events end nothing).
      boolean sawLast = false;
      if (statement != SessionEvent.NO_STATEMENT) {
        for (SessionEvent e : backlog) {
          sawLast |= e.of(statement) && e.mark() == SessionEvent.Mark.LAST;
        }
      }
      backlogAfter = after;
      backlogEnd = backlog.isEmpty() ? after : backlog.get(backlog.size() - 1).id();
      if (statement != SessionEvent.NO_STATEMENT && !sawLast && statementEnded.getAsBoolean()) {
        endAfterBacklog = true; // Its last event is gone: nothing more will come.
      } else if (!sawLast) {
        log.subscribe(this);
      }
      scheduleDrain(); // Also when nothing is to be sent: the transport opens.
    });
  }

  private boolean matches(SessionEvent e) {
    return statement == SessionEvent.NO_STATEMENT || e.of(statement);
  }

  @Override
  public void onEvent(SessionEvent e) {
    if (closed || overflowed) {
      log.unsubscribe(this);
      return;
    }
    if (matches(e)) {
      if (e.mark() == SessionEvent.Mark.LAST && statement != SessionEvent.NO_STATEMENT) {
        log.unsubscribe(this); // Nothing more of this statement will come.
      }
      if (nextRef != null && e.mark() == SessionEvent.Mark.FIRST && SessionEvent.STATEMENT.equals(e.type())) {
        offer(new Answer(e, nextRef), e.size());
        nextRef = null;
      } else {
        offer(e, e.size());
      }
    }
  }

  /**
   * The next statement submitted carries {@code refJson} (a JSON value) in the event this
   * subscriber gets for it: set it on the session's context right before submitting there, and
   * clear it (null) right after.
   */
  public void answerNextSubmitWith(String refJson) {
    nextRef = refJson;
  }

  /** Queues an item for the connection, or overflows. Session's context. */
  private void offer(Object item, long size) {
    if (overflowed) {
      return;
    }
    int waiting = queuedEvents.get();
    // One event bigger than the byte bound still goes through an empty queue.
    if (waiting >= limits.maxEvents() || (waiting > 0 && queuedBytes.get() + size > limits.maxBytes())) {
      overflowed = true;
      log.unsubscribe(this);
    } else {
      queuedEvents.incrementAndGet();
      queuedBytes.addAndGet(size);
      queue.add(item);
    }
    scheduleDrain();
  }

  private void scheduleDrain() {
    if (drainScheduled.compareAndSet(false, true)) {
      home.runOnContext(v -> drain());
    }
  }

  /** Writes what waits, as far as the transport takes it. Connection's context. */
  final void drain() {
    drainScheduled.set(false);
    if (ended || closed) {
      return;
    }
    if (overflowed) {
      cutOff();
      return;
    }
    if (resetOldest >= 0) {
      writeReset(resetOldest);
      resetOldest = -1;
    }
    List<SessionEvent> batch = new java.util.ArrayList<>();
    // First the backlog, from the log itself.
    while (backlogAfter < backlogEnd && !transportFull()) {
      SessionEventLog.Read read = log.readAfter(backlogAfter);
      if (read instanceof SessionEventLog.Reset) {
        overflowed = true; // The client read so slowly that the log dropped what it had yet to read.
        log.context().runOnContext(v -> log.unsubscribe(this));
        cutOff();
        return;
      }
      List<SessionEvent> page = ((SessionEventLog.Events) read).events();
      for (int i = 0; i < page.size() && i < PAGE; i++) {
        SessionEvent e = page.get(i);
        if (e.id() > backlogEnd) {
          break;
        }
        backlogAfter = e.id();
        if (matches(e)) {
          batch.add(e);
          if (statement != SessionEvent.NO_STATEMENT && e.mark() == SessionEvent.Mark.LAST) {
            flush(batch);
            finish();
            return;
          }
        }
      }
      flush(batch);
    }
    if (backlogAfter < backlogEnd) {
      waitForRoom();
      return;
    }
    if (endAfterBacklog) {
      finish();
      return;
    }
    // Then what arrived live.
    Object item;
    while (!transportFull() && (item = queue.poll()) != null) {
      queuedEvents.decrementAndGet();
      if (item instanceof SessionEvent e) {
        queuedBytes.addAndGet(-e.size());
        batch.add(e);
        if (statement != SessionEvent.NO_STATEMENT && e.mark() == SessionEvent.Mark.LAST) {
          flush(batch);
          finish();
          return;
        }
        if (batch.size() >= PAGE) {
          flush(batch);
        }
      } else if (item instanceof Answer a) {
        flush(batch);
        queuedBytes.addAndGet(-a.event().size());
        writeAnswer(a.event(), a.refJson());
        lastSentId = a.event().id();
      }
    }
    flush(batch);
    afterDrain();
    if (!queue.isEmpty()) {
      waitForRoom();
    }
  }

  private void waitForRoom() {
    afterDrain();
    if (!waitingForDrain) {
      // The connection is full: continue once it has written enough.
      waitingForDrain = true;
      onTransportDrained(this::roomAgain);
      // Transports do not all call their drain handler when they had room again before it was set:
      // look again now and then while waiting.
      home.owner().setTimer(ROOM_CHECK_MILLIS, t -> checkRoom());
    }
  }

  private void checkRoom() {
    if (!waitingForDrain || ended || closed) {
      return;
    }
    if (transportFull()) {
      home.owner().setTimer(ROOM_CHECK_MILLIS, t -> checkRoom());
    } else {
      roomAgain();
    }
  }

  private void roomAgain() {
    if (waitingForDrain) {
      waitingForDrain = false;
      drain();
    }
  }

  private void cutOff() {
    queue.clear();
    ended = true;
    writeOverflow(lastSentId);
    endTransport();
  }

  private void finish() {
    ended = true;
    endTransport();
  }

  private void flush(List<SessionEvent> batch) {
    if (!batch.isEmpty()) {
      writeEvents(batch);
      lastSentId = batch.get(batch.size() - 1).id();
      batch.clear();
    }
  }

  /** The client went away, or it resumes elsewhere: stop delivering. Connection's context. */
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    open().decrement();
    log.context().runOnContext(v -> log.unsubscribe(this));
    queue.clear();
  }

  public boolean isClosed() {
    return closed;
  }

  // --- The transport, connection's context ------------------------------------------------------

  /** Writes {@code events} in order (one write per batch where the transport allows). */
  abstract void writeEvents(List<SessionEvent> events);

  /** Writes {@code event} with the client's reference {@code refJson} (the answer to its submit). */
  void writeAnswer(SessionEvent event, String refJson) {
    writeEvents(List.of(event));
  }

  /** Called after each drain that did not end the transport (say, to send the headers early). */
  void afterDrain() {}

  /** Tells the client that events older than {@code oldestId} are gone: re-read the state. */
  abstract void writeReset(long oldestId);

  /** Tells the client it fell behind: resume after {@code lastSentId}; the transport ends next. */
  abstract void writeOverflow(long lastSentId);

  /** Whether the connection's write buffer is full. */
  abstract boolean transportFull();

  /** Calls {@code then} once when the connection's write buffer has room again. */
  abstract void onTransportDrained(Runnable then);

  /** Ends the transport (the stream is complete or overflowed). */
  abstract void endTransport();
}
