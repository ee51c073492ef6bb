package io.sparkgate.agent;

import io.sparkgate.agent.interp.CapturedOutput;
import io.sparkgate.agent.interp.ExecuteResult;
import io.sparkgate.agent.interp.Interpreter;
import io.sparkgate.agent.interp.InterpreterRegistry;
import io.sparkgate.agent.interp.InterpreterUnavailableException;
import io.sparkgate.proto.Command;
import io.sparkgate.proto.Event;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.apache.spark.SparkContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a session's statements, one at a time in arrival order, and reports each as events: one
 * {@link Event.StatementStarted}, then {@link Event.StatementOutput} and
 * {@link Event.StatementProgress} while it runs, then exactly one {@link Event.StatementResult}
 * (with the time from leaving the queue to the result as {@code executionMicros}). A statement
 * cancelled while queued gets only its CANCELLED result.
 *
 * <h2>Threads</h2>
 * The methods taking commands ({@link #execute}, {@link #cancel}, {@link #complete},
 * {@link #handle}) never block and may be called from an I/O thread. Events are sent from three
 * threads of the runner, never from the caller's thread or Spark's listener bus, one at a time
 * (the consumer may block briefly):
 * <ul>
 *   <li>the statement thread runs statements and sends their start and result, with the output and
 *       progress not yet sent just before the result;
 *   <li>the event thread sends output at most every {@code outputFlushInterval} (sooner once
 *       {@code outputFlushChars} wait), progress at most every {@code progressInterval}, early
 *       results (a queued statement cancelled, a statement refused because the queue is full), and
 *       carries out cancellation;
 *   <li>the completion thread answers completion requests, so that they do not wait behind a
 *       running statement (see each interpreter for what it can answer meanwhile).
 * </ul>
 *
 * <h2>Spark jobs</h2>
 * A statement runs with job group {@code sparkgate-<statementId>} (interrupting tasks on cancel) on
 * the statement thread; threads it starts inherit it. Progress counts the tasks of that group's
 * jobs. Jobs submitted from threads that existed before the statement (a shared thread pool) are
 * outside the group: neither counted nor cancelled.
 *
 * <h2>Cancel</h2>
 * A queued statement is dropped. A running one has its job group's jobs cancelled (again, at most
 * every 250 ms, for jobs it submits meanwhile) and its thread interrupted; it ends CANCELLED as
 * soon as its code returns, whatever the code returned. Code that ignores interruption (a busy
 * loop) keeps running: after {@code forceStopAfter}, the interpreter is asked to stop the thread
 * ({@link Interpreter#forceStop}: the Python and R interpreters kill their process, the Scala
 * interpreter stops the thread while the JVM supports {@code Thread.stop}, that is up to Java 19).
 * A statement still running {@code giveUpAfter} after its cancel ends CANCELLED anyway and the
 * runner's {@code unstoppable} callback is told why: its thread cannot be ended and would hold
 * every later statement, so the agent exits (the session is never left cancelling).
 */
public final class StatementRunner implements AutoCloseable {
  /** Prefix of the Spark job group of each statement: {@code sparkgate-<statementId>}. */
  public static final String JOB_GROUP_PREFIX = "sparkgate-";

  private static final Logger log = LoggerFactory.getLogger(StatementRunner.class);
  private static final int COMPLETION_QUEUE = 32;
  static final int MAX_COMPLETIONS = 1000;
  static final int MAX_COMPLETION_CHARS = 1024;
  private static final int OUTBOX_SLACK = 256;
  private static final long FORCE_STOP_RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);
  private static final long JOB_CANCEL_RETRY_NANOS = TimeUnit.MILLISECONDS.toNanos(250);

  /**
   * Tunables.
   *
   * @param queueCapacity statements waiting to run, beyond which new ones are refused with an error
   * @param outputLimitBytes cap on one statement's output (UTF-8 bytes); the rest is dropped and marked
   * @param outputFlushInterval how often output is sent while a statement runs
   * @param outputFlushChars output waiting to be sent that triggers a send before the interval
   * @param progressInterval how often progress is checked (and sent when it changed)
   * @param forceStopAfter how long after a cancel the statement thread is force-stopped if still
   *     running; null never
   * @param giveUpAfter how long after a cancel a statement that still runs (a stop could not be
   *     delivered, as on Java 20+ for Scala, or did not end it) makes the runner give up: the
   *     statement ends CANCELLED and the runner's {@code unstoppable} callback is called (the agent
   *     exits); null never
   */
  public record Settings(
      int queueCapacity,
      int outputLimitBytes,
      Duration outputFlushInterval,
      int outputFlushChars,
      Duration progressInterval,
      Duration forceStopAfter,
      Duration giveUpAfter) {

    public Settings {
      if (queueCapacity <= 0 || outputLimitBytes <= 0 || outputFlushChars <= 0) {
        throw new IllegalArgumentException("capacities must be positive");
      }
      Objects.requireNonNull(outputFlushInterval, "outputFlushInterval");
      Objects.requireNonNull(progressInterval, "progressInterval");
    }

    public static Settings defaults() {
      return new Settings(1000, CapturedOutput.DEFAULT_LIMIT_BYTES, Duration.ofMillis(50), 64 * 1024,
          Duration.ofMillis(100), Duration.ofSeconds(15), Duration.ofSeconds(30));
    }

    public Settings withQueueCapacity(int value) {
      return new Settings(value, outputLimitBytes, outputFlushInterval, outputFlushChars, progressInterval, forceStopAfter, giveUpAfter);
    }

    public Settings withOutputLimitBytes(int value) {
      return new Settings(queueCapacity, value, outputFlushInterval, outputFlushChars, progressInterval, forceStopAfter, giveUpAfter);
    }

    public Settings withForceStopAfter(Duration value) {
      return new Settings(queueCapacity, outputLimitBytes, outputFlushInterval, outputFlushChars, progressInterval, value, giveUpAfter);
    }

    /** A cancel grace: the thread is stopped after {@code grace}, and the runner gives up after twice that. */
    public Settings withCancelGrace(Duration grace) {
      return new Settings(queueCapacity, outputLimitBytes, outputFlushInterval, outputFlushChars, progressInterval,
          grace, grace.multipliedBy(2));
    }
  }

  private final SparkContext sc;
  private final InterpreterRegistry interpreters;
  private final Consumer<Event> events;
  private final Consumer<String> unstoppable;
  private final Settings settings;
  private final JobGroupProgress progress = new JobGroupProgress();

  private final Object stateLock = new Object();
  private final ArrayDeque<Command.Execute> queue = new ArrayDeque<>(); // guarded by stateLock
  private Running current; // guarded by stateLock
  private boolean started; // guarded by stateLock
  private volatile boolean closed;

  /** Serializes calls to the consumer and orders a statement's events. */
  private final Object emitLock = new Object();
  /** Results decided off the statement thread, sent by the event thread. */
  private final BlockingQueue<Event> outbox;
  private final BlockingQueue<Command.Complete> completions = new ArrayBlockingQueue<>(COMPLETION_QUEUE);

  private final Thread statementThread;
  private final Thread eventThread;
  private final Thread completionThread;

  public StatementRunner(SparkContext sc, InterpreterRegistry interpreters, Consumer<Event> events) {
    this(sc, interpreters, events, Settings.defaults());
  }

  public StatementRunner(SparkContext sc, InterpreterRegistry interpreters, Consumer<Event> events, Settings settings) {
    this(sc, interpreters, events, settings, reason -> {});
  }

  /**
   * @param unstoppable told (on the runner's event thread, with the reason) when a cancelled
   *     statement could not be ended within {@link Settings#giveUpAfter}: its thread runs on and no
   *     later statement can run, so the agent should exit
   */
  public StatementRunner(SparkContext sc, InterpreterRegistry interpreters, Consumer<Event> events, Settings settings,
      Consumer<String> unstoppable) {
    this.unstoppable = Objects.requireNonNull(unstoppable, "unstoppable");
    this.sc = Objects.requireNonNull(sc, "sc");
    this.interpreters = Objects.requireNonNull(interpreters, "interpreters");
    this.events = Objects.requireNonNull(events, "events");
    this.settings = Objects.requireNonNull(settings, "settings");
    this.outbox = new LinkedBlockingQueue<>(settings.queueCapacity() + COMPLETION_QUEUE + OUTBOX_SLACK);
    this.statementThread = daemon("sparkgate-statements", this::runStatements);
    this.eventThread = daemon("sparkgate-statement-events", this::pumpEvents);
    this.completionThread = daemon("sparkgate-completions", this::answerCompletions);
  }

  /** Registers the progress listener and starts the runner's threads. */
  public void start() {
    synchronized (stateLock) {
      if (started || closed) {
        throw new IllegalStateException(closed ? "closed" : "already started");
      }
      started = true;
    }
    sc.addSparkListener(progress);
    statementThread.start();
    eventThread.start();
    completionThread.start();
  }

  /**
   * Takes an {@link Command.Execute}, {@link Command.Cancel} or {@link Command.Complete}.
   *
   * @throws IllegalArgumentException for other commands (the agent handles {@link Command.Shutdown})
   */
  public void handle(Command command) {
    if (command instanceof Command.Execute e) {
      execute(e.statementId(), e.kind(), e.code());
    } else if (command instanceof Command.Cancel c) {
      cancel(c.statementId());
    } else if (command instanceof Command.Complete c) {
      complete(c.requestId(), c.kind(), c.code(), c.cursor());
    } else {
      throw new IllegalArgumentException("not a statement command: " + command);
    }
  }

  /** Queues statement {@code statementId}; refused with an error result when the queue is full. */
  public void execute(int statementId, String kind, String code) {
    Command.Execute statement = new Command.Execute(statementId, kind, code);
    boolean queued;
    synchronized (stateLock) {
      if (closed) {
        return;
      }
      queued = queue.size() < settings.queueCapacity();
      if (queued) {
        queue.addLast(statement);
        stateLock.notifyAll();
      }
    }
    if (!queued) {
      post(Event.StatementResult.error(statementId, "StatementRejected",
          "the session already has " + settings.queueCapacity() + " statements waiting", List.of()));
    }
  }

  /** Cancels statement {@code statementId} if it is queued or running; otherwise does nothing. */
  public void cancel(int statementId) {
    synchronized (stateLock) {
      for (Iterator<Command.Execute> it = queue.iterator(); it.hasNext(); ) {
        if (it.next().statementId() == statementId) {
          it.remove();
          post(Event.StatementResult.cancelled(statementId));
          return;
        }
      }
      Running running = current;
      if (running != null && running.id == statementId && !running.cancelRequested) {
        running.cancelRequestedNanos = System.nanoTime();
        running.cancelRequested = true;
      }
    }
    LockSupport.unpark(eventThread);
  }

  /** Asks the interpreter of {@code kind} for completions; answered by an {@link Event.Completion}. */
  public void complete(int requestId, String kind, String code, int cursor) {
    if (closed) {
      return;
    }
    if (!completions.offer(new Command.Complete(requestId, kind, code, cursor))) {
      post(new Event.Completion(requestId, List.of()));
    }
  }

  /**
   * Stops the runner: queued statements are dropped without results, the running one has its jobs
   * cancelled and its thread interrupted. Does not close the interpreters.
   */
  @Override
  public void close() {
    synchronized (stateLock) {
      if (closed) {
        return;
      }
      closed = true;
      queue.clear();
      if (current != null && current.started) {
        sc.cancelJobGroup(current.group, "the Sparkgate agent is stopping");
        Interpreter interpreter = current.interpreter;
        if (interpreter != null) {
          interpreter.interrupt(statementThread);
        }
      }
      stateLock.notifyAll();
    }
    eventThread.interrupt();
    completionThread.interrupt();
    sc.removeSparkListener(progress);
    for (Thread thread : List.of(eventThread, completionThread, statementThread)) {
      try {
        thread.join(2_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  // ---------------------------------------------------------------- statement thread

  private void runStatements() {
    while (true) {
      Running running;
      synchronized (stateLock) {
        while (queue.isEmpty() && !closed) {
          try {
            stateLock.wait();
          } catch (InterruptedException e) {
            // closing, or a stale interrupt: the loop condition decides
          }
        }
        if (closed) {
          return;
        }
        running = new Running(queue.pollFirst());
        current = running;
      }
      try {
        run(running);
      } catch (Throwable t) { // includes a forced stop landing outside the statement's code
        log.error("statement {} failed in the runner", running.id, t);
        finish(running, running.cancelRequested
            ? Event.StatementResult.cancelled(running.id)
            : Event.StatementResult.error(running.id, "Internal Error: " + t.getClass().getName(),
                String.valueOf(t.getMessage()), List.of()));
      }
    }
  }

  private void run(Running running) {
    synchronized (emitLock) {
      if (running.cancelRequested) {
        endOfStatement(running);
        emit(Event.StatementResult.cancelled(running.id)); // never ran: no execution time
        running.resultSent = true;
        return;
      }
      emit(new Event.StatementStarted(running.id));
      running.started = true;
    }
    progress.watch(running.group);
    ExecuteResult result = null;
    Throwable failure = null;
    sc.setJobGroup(running.group, "Sparkgate statement " + running.id, true);
    try {
      Interpreter interpreter = interpreters.get(running.kind);
      running.interpreter = interpreter;
      if (!running.cancelRequested) {
        result = interpreter.execute(running.code, running.output);
      }
    } catch (InterpreterUnavailableException e) {
      result = ExecuteResult.failure("InterpreterError", e.getMessage(), List.of());
    } catch (Throwable t) { // a forced stop (ThreadDeath) lands here too
      failure = t;
    } finally {
      sc.clearJobGroup();
    }
    endOfStatement(running); // from here on no cancel can arrive: decide the outcome
    Event.StatementResult outcome;
    if (running.cancelRequested) {
      outcome = Event.StatementResult.cancelled(running.id);
    } else if (result instanceof ExecuteResult.Ok ok) {
      outcome = Event.StatementResult.ok(running.id, ok.dataJson(), ok.truncated());
    } else if (result instanceof ExecuteResult.Failure f) {
      outcome = Event.StatementResult.error(running.id, f.ename(), f.evalue(), f.traceback());
    } else {
      log.error("statement {} failed in its interpreter", running.id, failure);
      outcome = Event.StatementResult.error(running.id,
          "Internal Error: " + (failure == null ? "no result" : failure.getClass().getName()),
          failure == null ? "" : String.valueOf(failure.getMessage()), List.of());
    }
    finish(running, outcome);
  }

  /** Sends what is left of the statement's output and progress, then its result (once). */
  private void finish(Running running, Event.StatementResult outcome) {
    endOfStatement(running);
    long micros = TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - running.dequeuedNanos);
    synchronized (emitLock) {
      if (!running.resultSent) {
        if (running.started) {
          sendOutput(running, true);
          sendProgress(running);
        }
        emit(outcome.withExecutionMicros(micros));
        running.resultSent = true;
      }
    }
    progress.forget(running.group);
  }

  /** After this, nothing interrupts or stops the statement thread on behalf of {@code running}. */
  private void endOfStatement(Running running) {
    synchronized (stateLock) {
      if (current == running) {
        current = null;
      }
    }
    Thread.interrupted(); // a cancel's interrupt must not leak into the next statement
  }

  // ---------------------------------------------------------------- event thread

  private void pumpEvents() {
    long flushNanos = settings.outputFlushInterval().toNanos();
    long progressNanos = settings.progressInterval().toNanos();
    long lastProgress = System.nanoTime();
    while (!closed) {
      LockSupport.parkNanos(this, flushNanos);
      if (closed) {
        return;
      }
      for (Event early; (early = outbox.poll()) != null; ) {
        emit(early);
      }
      Running running;
      synchronized (stateLock) {
        running = current;
      }
      if (running == null || !running.started) {
        continue;
      }
      carryOutCancel(running);
      boolean progressDue = System.nanoTime() - lastProgress >= progressNanos;
      synchronized (emitLock) {
        if (running.resultSent) {
          continue;
        }
        sendOutput(running, false);
        if (progressDue) {
          sendProgress(running);
        }
      }
      if (progressDue) {
        lastProgress = System.nanoTime();
      }
    }
  }

  private void carryOutCancel(Running running) {
    if (!running.cancelRequested) {
      return;
    }
    String givenUp = null;
    synchronized (stateLock) {
      if (current == running && !running.gaveUp && settings.giveUpAfter() != null
          && System.nanoTime() - running.cancelRequestedNanos >= settings.giveUpAfter().toNanos()) {
        running.gaveUp = true;
        givenUp = "statement " + running.id + " ignored its cancel for " + settings.giveUpAfter().toSeconds() + " s and "
            + (running.stopDelivered ? "went on after its thread was stopped"
                : "its thread cannot be stopped (the " + running.kind + " interpreter cannot stop a thread on Java "
                    + Runtime.version().feature() + ")")
            + "; the driver exits, and the session's variables with it";
      }
    }
    if (givenUp != null) {
      log.error("Giving up on {}", givenUp);
      finish(running, Event.StatementResult.cancelled(running.id));
      unstoppable.accept(givenUp);
      return;
    }
    synchronized (stateLock) {
      if (current != running) {
        return;
      }
      long now = System.nanoTime();
      Interpreter interpreter = running.interpreter;
      if (!running.cancelIssued) {
        running.cancelIssued = true;
        running.lastJobCancelNanos = now;
        running.lastStopAttemptNanos = now - FORCE_STOP_RETRY_NANOS;
        log.info("cancelling statement {}", running.id);
        sc.cancelJobGroup(running.group, "Sparkgate statement " + running.id + " was cancelled");
      }
      if (!running.interruptIssued && interpreter != null) {
        // Not before the interpreter is known: an interpreter being started is not interrupted.
        running.interruptIssued = true;
        interpreter.interrupt(statementThread);
        return;
      }
      if (now - running.lastJobCancelNanos >= JOB_CANCEL_RETRY_NANOS && progress.hasRunningJobs(running.group)) {
        // Jobs the statement submitted since (say, in a loop that swallows the failure) go too.
        running.lastJobCancelNanos = now;
        sc.cancelJobGroup(running.group, "Sparkgate statement " + running.id + " was cancelled");
      }
      Duration stopAfter = settings.forceStopAfter();
      if (stopAfter != null && interpreter != null && !running.stopDelivered
          && now - running.cancelRequestedNanos >= stopAfter.toNanos()
          && now - running.lastStopAttemptNanos >= FORCE_STOP_RETRY_NANOS) {
        running.lastStopAttemptNanos = now;
        running.stopDelivered = interpreter.forceStop(statementThread);
        if (running.stopDelivered) {
          log.warn("statement {} ignored its cancel for {} s: its thread was stopped", running.id, stopAfter.toSeconds());
        }
      }
    }
  }

  // ---------------------------------------------------------------- completion thread

  private void answerCompletions() {
    while (!closed) {
      Command.Complete request;
      try {
        request = completions.take();
      } catch (InterruptedException e) {
        continue;
      }
      List<String> candidates;
      try {
        candidates = interpreters.get(request.kind()).complete(request.code(), request.cursor());
      } catch (InterpreterUnavailableException e) {
        candidates = List.of();
      } catch (RuntimeException | LinkageError e) {
        log.warn("completion {} failed", request.requestId(), e);
        candidates = List.of();
      }
      emit(new Event.Completion(request.requestId(), capped(candidates)));
    }
  }

  /** At most {@value #MAX_COMPLETIONS} candidates, none longer than {@value #MAX_COMPLETION_CHARS} characters. */
  static List<String> capped(List<String> candidates) {
    return candidates.stream()
        .filter(c -> c != null && c.length() <= MAX_COMPLETION_CHARS)
        .limit(MAX_COMPLETIONS)
        .toList();
  }

  // ---------------------------------------------------------------- sending

  /** Call with emitLock held. */
  private void sendOutput(Running running, boolean last) {
    int chunk = settings.outputFlushChars();
    for (CapturedOutput.Piece piece : running.output.drain(last)) {
      String text = piece.text();
      for (int start = 0; start < text.length(); ) {
        int end = Math.min(text.length(), start + chunk);
        if (end < text.length() && Character.isHighSurrogate(text.charAt(end - 1))) {
          end--;
        }
        emit(new Event.StatementOutput(running.id, piece.stream(), text.substring(start, end)));
        start = end;
      }
    }
  }

  /** Call with emitLock held. Sends the progress of the statement's jobs if it changed. */
  private void sendProgress(Running running) {
    JobGroupProgress.Snapshot now = progress.snapshot(running.group);
    if (now.totalTasks() > 0 && !now.equals(running.lastProgress)) {
      emit(new Event.StatementProgress(running.id, now.completedTasks(), now.totalTasks()));
      running.lastProgress = now;
    }
  }

  private void emit(Event event) {
    synchronized (emitLock) {
      try {
        events.accept(event);
      } catch (RuntimeException e) {
        log.error("could not hand over {}", event.getClass().getSimpleName(), e);
      }
    }
  }

  /** An event decided on a caller's thread: the event thread sends it. */
  private void post(Event event) {
    if (!outbox.offer(event)) {
      log.error("event outbox full: dropping {}", event);
    }
    LockSupport.unpark(eventThread);
  }

  private static Thread daemon(String name, Runnable body) {
    Thread thread = new Thread(body, name);
    thread.setDaemon(true);
    return thread;
  }

  /** A statement that left the queue. */
  private final class Running {
    final int id;
    final String kind;
    final String code;
    final String group;
    final CapturedOutput output;
    final long dequeuedNanos = System.nanoTime();
    volatile boolean cancelRequested;
    volatile long cancelRequestedNanos;
    volatile boolean started;
    volatile Interpreter interpreter;
    // Event thread only, under stateLock:
    boolean cancelIssued;
    boolean interruptIssued;
    long lastJobCancelNanos;
    boolean stopDelivered;
    long lastStopAttemptNanos;
    boolean gaveUp;
    // Under emitLock:
    boolean resultSent;
    JobGroupProgress.Snapshot lastProgress;

    Running(Command.Execute statement) {
      this.id = statement.statementId();
      this.kind = statement.kind();
      this.code = statement.code();
      this.group = JOB_GROUP_PREFIX + statement.statementId();
      this.output = new CapturedOutput(settings.outputLimitBytes(), settings.outputFlushChars(),
          () -> LockSupport.unpark(eventThread));
    }
  }
}
