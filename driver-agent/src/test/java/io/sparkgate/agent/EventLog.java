package io.sparkgate.agent;

import io.sparkgate.proto.Event;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Predicate;

/** Records the events a runner sends, in order, and lets a test wait for one. */
public final class EventLog implements Consumer<Event> {
  private final List<Event> events = new ArrayList<>();

  @Override
  public synchronized void accept(Event event) {
    events.add(event);
    notifyAll();
  }

  public synchronized List<Event> all() {
    return List.copyOf(events);
  }

  /** The events about statement {@code id}, in order. */
  public synchronized List<Event> of(int id) {
    List<Event> mine = new ArrayList<>();
    for (Event event : events) {
      if (statementOf(event) == id) {
        mine.add(event);
      }
    }
    return mine;
  }

  public synchronized <T extends Event> T await(Class<T> type, Predicate<T> matching, Duration timeout)
      throws InterruptedException, TimeoutException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      for (Event event : events) {
        if (type.isInstance(event) && matching.test(type.cast(event))) {
          return type.cast(event);
        }
      }
      long left = deadline - System.nanoTime();
      if (left <= 0) {
        throw new TimeoutException("no " + type.getSimpleName() + " as expected within " + timeout + "; events: " + events);
      }
      wait(Math.max(1, left / 1_000_000));
    }
  }

  public Event.StatementResult result(int id) throws InterruptedException, TimeoutException {
    return await(Event.StatementResult.class, r -> r.statementId() == id, Duration.ofSeconds(90));
  }

  /** Index of the first event about statement {@code id} of the given type, or -1. */
  public synchronized int indexOf(Class<? extends Event> type, int id) {
    for (int i = 0; i < events.size(); i++) {
      if (type.isInstance(events.get(i)) && statementOf(events.get(i)) == id) {
        return i;
      }
    }
    return -1;
  }

  /** The statement's streamed output of one stream, concatenated. */
  public synchronized String streamed(int id, Event.Stream stream) {
    StringBuilder text = new StringBuilder();
    for (Event event : events) {
      if (event instanceof Event.StatementOutput out && out.statementId() == id && out.stream() == stream) {
        text.append(out.text());
      }
    }
    return text.toString();
  }

  private static int statementOf(Event event) {
    if (event instanceof Event.StatementStarted e) {
      return e.statementId();
    }
    if (event instanceof Event.StatementOutput e) {
      return e.statementId();
    }
    if (event instanceof Event.StatementProgress e) {
      return e.statementId();
    }
    if (event instanceof Event.StatementResult e) {
      return e.statementId();
    }
    return Integer.MIN_VALUE;
  }
}
