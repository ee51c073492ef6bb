package io.sparkgate.gateway.session;

import io.sparkgate.gateway.launch.DriverLauncher;
import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.internal.VertxInternal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The interactive sessions of the gateway: creation (with the session limit and Livy's unique
 * names), lookup, paging, deletion, and the sweep that stops sessions nobody uses (the idle timeout,
 * each session's heartbeatTimeoutInSecond) and forgets ended ones after a while.
 *
 * <p><b>Threading.</b> The manager's own bookkeeping (ids, names, the limit, the sweep) lives on
 * one Vert.x context, the manager's. Each session lives on an event-loop context of its own, taken
 * round-robin from Vert.x's event loops when it is created, so that sessions (and their agents'
 * connections, which the agent server places on the same loop) spread over every core. Lookups
 * ({@link #get}, {@link #list}, {@link #total}) are lock-free from any thread. Changes are made on
 * the context that owns them: {@link #call} runs a task on the manager's, the session operations
 * on the session's, and each delivers its result back on the caller's context.
 */
public final class SessionManager {

  private static final Logger LOG = LoggerFactory.getLogger(SessionManager.class);

  private final Vertx vertx;
  private final Context context;
  private final SessionSettings settings;
  private final DriverLauncher launcher;
  private final AgentRegistry agents;
  private final SessionViews views;
  private final SessionObserver observer;
  private final SessionJournal journal;

  /** Lock-free lookup by id. */
  private final Map<Integer, InteractiveSession> byId = new ConcurrentHashMap<>();
  /** The listed sessions by id, republished whole on every change (rare next to reads). */
  private volatile List<InteractiveSession> ordered = List.of();

  /** Lock-free lookup by name; changed on the context only. */
  private final Map<String, InteractiveSession> byName = new ConcurrentHashMap<>();

  // Context only.
  /** Deleted sessions: listed (shutting_down) until their driver is gone, then forgotten. */
  private final Set<InteractiveSession> deleting = new HashSet<>();
  private int nextId;
  private volatile CreationLimits limits = CreationLimits.NONE;
  private long sweepTimer = -1;
  private boolean closed;

  /**
   * @param context where the manager's bookkeeping lives; an event-loop context of {@code vertx}
   * @param views how session events render sessions and statements (the REST JSON)
   */
  public SessionManager(Vertx vertx, Context context, SessionSettings settings, DriverLauncher launcher,
      AgentRegistry agents, SessionViews views) {
    this(vertx, context, settings, launcher, agents, views, SessionObserver.NONE, SessionJournal.OFF);
  }

  /** As above, with {@code observer} told what sessions do (metrics). */
  public SessionManager(Vertx vertx, Context context, SessionSettings settings, DriverLauncher launcher,
      AgentRegistry agents, SessionViews views, SessionObserver observer) {
    this(vertx, context, settings, launcher, agents, views, observer, SessionJournal.OFF);
  }

  /** As above, storing every session in {@code journal} so that a restarted gateway recovers it. */
  public SessionManager(Vertx vertx, Context context, SessionSettings settings, DriverLauncher launcher,
      AgentRegistry agents, SessionViews views, SessionObserver observer, SessionJournal journal) {
    this.observer = Objects.requireNonNull(observer, "observer");
    this.journal = Objects.requireNonNull(journal, "journal");
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.context = Objects.requireNonNull(context, "context");
    this.settings = Objects.requireNonNull(settings, "settings");
    this.launcher = Objects.requireNonNull(launcher, "launcher");
    this.agents = Objects.requireNonNull(agents, "agents");
    this.views = Objects.requireNonNull(views, "views");
    context.runOnContext(v -> {
      if (!closed) {
        sweepTimer = vertx.setPeriodic(settings.sweepInterval().toMillis(), t -> sweep());
      }
    });
  }

  /** Limits every creation is checked against from now on (sessions being created, per owner). */
  public void limits(CreationLimits limits) {
    this.limits = Objects.requireNonNull(limits, "limits");
  }

  /** The context of the manager's bookkeeping (sessions each have their own). */
  public Context context() {
    return context;
  }

  public SessionSettings settings() {
    return settings;
  }

  // --- Reads, any thread ------------------------------------------------------------------------

  /** Session {@code id}, or null. */
  public InteractiveSession get(int id) {
    return byId.get(id);
  }

  /** The listed session named {@code name}, or null. */
  public InteractiveSession get(String name) {
    return byName.get(name);
  }

  /** The sessions listed now, by id. */
  public List<InteractiveSession> list() {
    return ordered;
  }

  /** How many sessions are listed. */
  public int total() {
    return ordered.size();
  }

  // --- Changes ----------------------------------------------------------------------------------

  /**
   * Runs {@code task} on the sessions' context and completes, on the caller's context, with what it
   * returns or throws. Runs at once when already on the sessions' context.
   */
  public <T> Future<T> call(Callable<T> task) {
    return callAsync(() -> Future.succeededFuture(task.call()));
  }

  /** Like {@link #call} for a task that itself answers later. */
  public <T> Future<T> callAsync(Callable<Future<T>> task) {
    return callOn(context, task);
  }

  /**
   * Runs {@code task} on {@code target} and completes, on the caller's context, with what it
   * answers. Runs at once when already on {@code target}.
   */
  static <T> Future<T> callOn(Context target, Callable<Future<T>> task) {
    Context caller = Vertx.currentContext();
    if (caller == target) {
      return invoke(task);
    }
    Promise<T> promise = Promise.promise();
    target.runOnContext(v -> invoke(task).onComplete(ar -> deliver(caller, promise, ar)));
    return promise.future();
  }

  /** Runs {@code task} on {@code session}'s context; the result comes back on the caller's. */
  public static <T> Future<T> onSession(InteractiveSession session, Callable<T> task) {
    return callOn(session.context(), () -> Future.succeededFuture(task.call()));
  }

  private static <T> Future<T> invoke(Callable<Future<T>> task) {
    try {
      return task.call();
    } catch (Throwable t) {
      return Future.failedFuture(t);
    }
  }

  private static <T> void deliver(Context caller, Promise<T> promise, AsyncResult<T> ar) {
    if (caller == null) {
      promise.handle(ar);
    } else {
      caller.runOnContext(v -> promise.handle(ar));
    }
  }

  /**
   * Creates a session in {@code starting} and launches its driver.
   *
   * @param owner the authenticated user, or null
   * @return the new session; fails with a SessionException when the limit is reached (UNAVAILABLE)
   *     or the name is taken (BAD_REQUEST, as Livy)
   */
  public Future<InteractiveSession> create(SessionRequest request, String owner) {
    return callAsync(() -> {
      if (closed) {
        throw new SessionException(SessionException.Reason.UNAVAILABLE, "The gateway is shutting down");
      }
      // Deleted sessions stay listed (shutting_down) until their driver is gone: they count.
      int alive = 0;
      for (InteractiveSession s : byId.values()) {
        if (!s.state().isFinished()) {
          alive++;
        }
      }
      if (alive >= settings.maxSessions()) {
        throw new SessionException(SessionException.Reason.SESSION_LIMIT, "Rejected: " + alive
            + " sessions are alive, the most this gateway runs at once; delete one or retry later");
      }
      limits.check(owner, byId.values());
      String unsupported = request.kind() == null ? null : launcher.unsupported(request.kind());
      if (unsupported != null) {
        throw SessionException.badRequest(unsupported);
      }
      if (request.name() != null && byName.containsKey(request.name())) {
        throw SessionException.badRequest("Duplicate session name: " + request.name());
      }
      int id = nextId++;
      // Ids are never reused, across restarts too: the counter is stored before the id is handed out.
      Future<Void> counted = journal.nextSessionId(nextId);
      // A context of its own, on the next event loop: sessions spread over the cores.
      Context home = ((VertxInternal) vertx).createEventLoopContext();
      InteractiveSession session =
          new InteractiveSession(id, owner, request, vertx, home, settings, launcher, agents, views, observer,
              journal);
      LOG.info("Session {} created (kind {}, name {})", id, request.kind() == null ? Kind.SHARED : request.kind(),
          request.name());
      byId.put(id, session);
      if (request.name() != null) {
        byName.put(request.name(), session);
      }
      evictFinishedBeyondLimit();
      republish();
      return onSession(session, () -> {
        session.start();
        return session;
      }).compose(started ->
          // Answered once a restarted gateway would know the session too.
          SessionJournal.on(context, Future.all(counted, journal.flushed(id))).map(started));
    });
  }

  /**
   * Lists the sessions read back from the state store after a restart (live ones {@code recovering}
   * until their agents dial back), each on a context of its own, and continues ids after every id
   * ever handed out.
   */
  public Future<Void> recover(SessionRecords.Loaded loaded) {
    List<Future<InteractiveSession>> restored = new ArrayList<>();
    for (SessionRecords.SessionRecord r : loaded.sessions()) {
      if (r.state() == SessionState.SHUTTING_DOWN) {
        // Deleted before the crash: gone for good. Its agent, if it dials back, is refused and exits.
        journal.removed(r.id());
        continue;
      }
      Context home = ((VertxInternal) vertx).createEventLoopContext();
      restored.add(callOn(home, () -> Future.succeededFuture(
          InteractiveSession.restore(r, vertx, home, settings, launcher, agents, views, observer, journal))));
    }
    return Future.all(restored).compose(all -> call(() -> {
      nextId = Math.max(nextId, loaded.nextSessionId());
      for (Future<InteractiveSession> f : restored) {
        InteractiveSession s = f.result();
        byId.put(s.id(), s);
        if (s.name() != null) {
          byName.put(s.name(), s);
        }
        nextId = Math.max(nextId, s.id() + 1);
      }
      republish();
      LOG.info("Recovered {} session(s) from the state store; new sessions get ids from {}", restored.size(),
          nextId);
      return null;
    }));
  }

  /**
   * Deletes session {@code id}: its driver is told to stop (killed after the stop grace); the
   * session stays listed as {@code shutting_down} until the driver is gone, and is then forgotten
   * (as Livy's SessionManager.delete). Answers at once; the driver ends in the background.
   *
   * @return fails with SessionException NOT_FOUND for an unknown id
   */
  public Future<Void> delete(int id, String reason) {
    return callAsync(() -> {
      InteractiveSession s = byId.get(id);
      if (s == null) {
        throw SessionException.notFound("Session '" + id + "' not found.");
      }
      return remove(s, reason);
    });
  }

  /**
   * Stops session {@code id} as Livy's {@code POST /sessions/{id}/stop}: its driver is told to
   * stop, and the session stays listed in its final state ({@code dead}) for the state-retain time.
   *
   * @return completes when the driver is gone; fails with SessionException NOT_FOUND for an unknown id
   */
  public Future<Void> stop(int id, String reason) {
    return callAsync(() -> {
      InteractiveSession s = byId.get(id);
      if (s == null) {
        throw SessionException.notFound("Session '" + id + "' not found.");
      }
      return callOn(s.context(), () -> s.stop(reason));
    });
  }

  /**
   * Queues {@code code} in {@code session}; the statement starts {@code waiting}.
   *
   * @param kind the statement's kind, or null for the session's
   * @return fails with a SessionException when the session cannot take it
   */
  public Future<Statement> submit(InteractiveSession session, String code, Kind kind) {
    return callOn(session.context(), () -> session.submit(code, kind));
  }

  /** Cancels a statement of {@code session}; fails with SessionException NOT_FOUND for an unknown one. */
  public Future<Void> cancel(InteractiveSession session, int statementId) {
    return onSession(session, () -> {
      session.cancel(statementId);
      return null;
    });
  }

  /** Completion candidates from {@code session}'s driver; fails with SessionException TIMEOUT when it is slow. */
  public Future<List<String>> complete(InteractiveSession session, String code, Kind kind, int cursor) {
    return callOn(session.context(), () -> session.complete(code, kind, cursor));
  }

  /**
   * Stops {@code s} and forgets it once its driver is gone; it is listed until then.
   *
   * @return completes once the session is stopping (shutting_down, its driver told), so that a
   *     client answered after it reads the session as stopping
   */
  private Future<Void> remove(InteractiveSession s, String reason) {
    if (!deleting.add(s)) {
      return Future.succeededFuture();
    }
    Promise<Void> stopping = Promise.promise();
    // Stopping happens on the session's context; forgetting it here, once its driver is gone.
    s.context().runOnContext(v -> {
      Future<Void> gone;
      try {
        gone = s.stop(reason);
      } finally {
        stopping.complete();
      }
      // Once its driver is gone its records go too (after what it queued before); it stores nothing more.
      gone.onComplete(ar -> {
        s.forget();
        journal.removed(s.id());
        context.runOnContext(w -> forget(s));
      });
    });
    return stopping.future();
  }

  /** Manager's context only. */
  private void forget(InteractiveSession s) {
    deleting.remove(s);
    if (byId.remove(s.id(), s)) {
      if (s.name() != null) {
        byName.remove(s.name(), s);
      }
      republish();
    }
  }

  /**
   * Stops every session and the sweep; new sessions are refused from now on.
   *
   * @return completes when every driver has exited
   */
  public Future<Void> shutdown() {
    return callAsync(() -> {
      closed = true;
      if (sweepTimer >= 0) {
        vertx.cancelTimer(sweepTimer);
        sweepTimer = -1;
      }
      for (InteractiveSession s : new ArrayList<>(byId.values())) {
        remove(s, "the gateway is shutting down");
      }
      List<Future<Void>> waiting = new ArrayList<>();
      for (InteractiveSession s : deleting) {
        waiting.add(s.terminated()); // Completed on the session's context; read only here.
      }
      return Future.join(waiting).mapEmpty();
    });
  }

  /** Applies the timeouts; runs on the context every sweep interval. */
  void sweep() {
    long now = System.currentTimeMillis();
    long retain = settings.stateRetain().toMillis();
    long idle = settings.idleTimeout().toMillis();
    for (InteractiveSession s : new ArrayList<>(byId.values())) {
      try {
        sweep(s, now, retain, idle);
      } catch (RuntimeException e) {
        LOG.error("Session {}: sweeping it failed", s.id(), e);
      }
    }
  }

  /**
   * One session's timeouts, as Livy 0.9's SessionManager.collectGarbage and SessionHeartbeatWatchdog:
   * an ended session is forgotten after the state-retain time; a live one is stopped (and then
   * forgotten) when no client called it for its heartbeatTimeoutInSecond, and, when the timeout
   * check is on (and the session is not busy, unless busy sessions are checked too), when it ran no
   * statement for its idleTimeout (else the gateway's idle timeout) or has lived longer than its ttl.
   */
  private void sweep(InteractiveSession s, long now, long retain, long idle) {
    SessionState state = s.state();
    if (state.isFinished()) {
      if (now - s.finishedAt() >= retain) {
        LOG.info("Session {} ended {} ms ago; forgetting it", s.id(), now - s.finishedAt());
        remove(s, "ended");
      }
      return;
    }
    if (state == SessionState.SHUTTING_DOWN) {
      return;
    }
    int heartbeat = s.request().heartbeatTimeoutSeconds();
    if (heartbeat > 0 && now - s.lastTouched() > heartbeat * 1000L) {
      LOG.info("Session {}: no client call for {} s (heartbeatTimeoutInSecond); stopping it", s.id(), heartbeat);
      remove(s, "no client called it for " + heartbeat + "s (heartbeatTimeoutInSecond)");
      return;
    }
    if (!settings.timeoutCheck() || (state == SessionState.BUSY && settings.timeoutCheckSkipBusy())) {
      return;
    }
    SessionTimeout own = s.request().idleTimeout();
    long idleLimit = own != null ? own.duration().toMillis() : idle;
    SessionTimeout ttl = s.request().ttl();
    if (idleLimit > 0 && now - s.lastActivity() > idleLimit) {
      LOG.info("Session {}: idle for {} ms; stopping it", s.id(), now - s.lastActivity());
      remove(s, "idle for longer than " + (own != null ? own.text() + " (idleTimeout)"
          : settings.idleTimeout().toSeconds() + "s"));
    } else if (ttl != null && now - s.createdAt() > ttl.duration().toMillis()) {
      LOG.info("Session {}: older than its ttl {}; stopping it", s.id(), ttl.text());
      remove(s, "its ttl of " + ttl.text() + " is over");
    }
  }

  /** Finished sessions are kept for a while for clients to read; never more than the session limit. */
  private void evictFinishedBeyondLimit() {
    List<InteractiveSession> finished = new ArrayList<>();
    for (InteractiveSession s : byId.values()) {
      if (s.state().isFinished()) {
        finished.add(s);
      }
    }
    if (finished.size() <= settings.maxSessions()) {
      return;
    }
    finished.sort(Comparator.comparingLong(InteractiveSession::finishedAt));
    for (InteractiveSession s : finished.subList(0, finished.size() - settings.maxSessions())) {
      remove(s, "ended");
    }
  }

  private void republish() {
    List<InteractiveSession> list = new ArrayList<>(byId.values());
    list.sort(Comparator.comparingInt(InteractiveSession::id));
    ordered = List.copyOf(list);
  }
}
