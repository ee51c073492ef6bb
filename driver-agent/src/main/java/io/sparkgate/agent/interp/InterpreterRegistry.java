package io.sparkgate.agent.interp;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The interpreters of one session, by kind. The session's own kind is registered already started
 * (the agent starts it before saying it is ready); other kinds are registered as factories and
 * started on first use, once: a kind that failed to start keeps failing with the same message
 * rather than retrying a slow start on every statement.
 *
 * <p>Thread-safe; a kind being started makes other callers for the same kind wait for it.
 */
public final class InterpreterRegistry implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(InterpreterRegistry.class);

  private final Map<String, Slot> slots = new LinkedHashMap<>();

  /** Registers a kind to be started on first use; the supplier returns an interpreter not yet started. */
  public synchronized InterpreterRegistry register(String kind, Supplier<? extends Interpreter> factory) {
    Objects.requireNonNull(factory, "factory");
    put(kind, new Slot(kind, factory, null));
    return this;
  }

  /** Registers an interpreter that is already started, under its {@link Interpreter#kind()}. */
  public synchronized InterpreterRegistry registerStarted(Interpreter started) {
    put(started.kind(), new Slot(started.kind(), null, started));
    return this;
  }

  private void put(String kind, Slot slot) {
    Objects.requireNonNull(kind, "kind");
    if (slots.putIfAbsent(kind, slot) != null) {
      throw new IllegalArgumentException("kind already registered: " + kind);
    }
  }

  /** The registered kinds. */
  public synchronized Set<String> kinds() {
    return Set.copyOf(slots.keySet());
  }

  /**
   * The started interpreter of {@code kind}, starting it now if this is its first use.
   *
   * @throws InterpreterUnavailableException unknown kind, or its start failed (now or before)
   */
  public Interpreter get(String kind) throws InterpreterUnavailableException {
    Slot slot;
    List<String> known;
    synchronized (this) {
      slot = slots.get(kind);
      known = new ArrayList<>(slots.keySet());
    }
    if (slot == null) {
      throw new InterpreterUnavailableException(kind,
          "unknown kind '" + kind + "'; this session runs " + String.join(", ", known));
    }
    return slot.get();
  }

  /** Closes every started interpreter. */
  @Override
  public void close() {
    List<Slot> all;
    synchronized (this) {
      all = new ArrayList<>(slots.values());
    }
    for (Slot slot : all) {
      slot.close();
    }
  }

  private static final class Slot {
    private final String kind;
    private final Supplier<? extends Interpreter> factory;
    private Interpreter interpreter;
    private String failure;
    private boolean closed;

    Slot(String kind, Supplier<? extends Interpreter> factory, Interpreter started) {
      this.kind = kind;
      this.factory = factory;
      this.interpreter = started;
    }

    synchronized Interpreter get() throws InterpreterUnavailableException {
      if (interpreter != null) {
        return interpreter;
      }
      if (closed) {
        throw new InterpreterUnavailableException(kind, "the " + kind + " interpreter is closed");
      }
      if (failure != null) {
        throw new InterpreterUnavailableException(kind, failure);
      }
      Interpreter created = null;
      try {
        created = factory.get();
        created.start();
        interpreter = created;
        log.info("{} interpreter started", kind);
        return created;
      } catch (Exception | LinkageError e) {
        String why = e instanceof InterpreterUnavailableException
            ? e.getMessage()
            : "the " + kind + " interpreter failed to start: " + e;
        if (interruptedBy(e)) {
          // A cancel of the first statement interrupted the start: not the interpreter's fault,
          // the next statement tries again.
          log.info("{} interpreter start interrupted", kind);
        } else {
          failure = why;
          log.error("{} interpreter failed to start", kind, e);
        }
        if (created != null) {
          try {
            created.close();
          } catch (RuntimeException closing) {
            e.addSuppressed(closing);
          }
        }
        throw new InterpreterUnavailableException(kind, why);
      }
    }

    private static boolean interruptedBy(Throwable e) {
      if (Thread.currentThread().isInterrupted()) {
        return true;
      }
      for (Throwable t = e; t != null; t = t.getCause()) {
        if (t instanceof InterruptedException || t instanceof java.nio.channels.ClosedByInterruptException) {
          return true;
        }
      }
      return false;
    }

    synchronized void close() {
      closed = true;
      if (interpreter != null) {
        try {
          interpreter.close();
        } catch (RuntimeException e) {
          log.warn("closing the {} interpreter failed", kind, e);
        }
        interpreter = null;
      }
    }
  }
}
