package io.sparkgate.gateway.session;

import io.sparkgate.gateway.agent.AgentEndpoint;
import io.sparkgate.gateway.agent.AgentSessionHandler;
import io.sparkgate.gateway.launch.DriverLauncher;
import io.sparkgate.gateway.launch.DriverProcess;
import io.sparkgate.gateway.launch.LaunchSpec;
import io.sparkgate.gateway.launch.LogRing;
import io.sparkgate.gateway.launch.SparkApplication;
import io.sparkgate.proto.AgentAuth;
import io.sparkgate.proto.Command;
import io.sparkgate.proto.Event;
import io.sparkgate.proto.LaunchContract;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.internal.ContextInternal;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An interactive session: one Spark driver running the driver-agent, the statements sent to it,
 * and its log. The domain record and its behaviour; the REST shapes live in the api package.
 *
 * <p><b>Threading.</b> All state changes happen on one Vert.x context, the session's, captured at
 * creation: the methods below marked "context only" must be called there (the
 * {@link SessionManager} hops for callers elsewhere), and the agent server delivers agent events
 * there. Readers on any thread use {@link #status()}, {@link #statement(int)},
 * {@link #statements()} and {@link #log()}: immutable values published through volatile fields
 * and lock-free structures, so a GET never locks or waits.
 *
 * <p><b>Events.</b> Every change (its state, each statement's, live output, new log lines) is
 * appended once to the session's {@link #events() event log}, which the push streams read. The
 * statements and the agent events that change them live in {@link SessionStatements}.
 *
 * <p><b>Lifecycle.</b> Created {@code starting}; the driver is launched and the agent dials back and
 * reports {@code Ready}: {@code idle}, {@code busy} while statements wait or run. A driver that
 * fails or exits before it was ever idle leaves the session in {@code error}; one that dies later,
 * or whose agent does not dial back within the reconnect grace, in {@code dead}. Stopping (delete,
 * timeouts, gateway shutdown) goes through {@code shutting_down}: the agent is told to shut down,
 * the driver is terminated after a grace and killed after another.
 */
public final class InteractiveSession {

  private static final Logger LOG = LoggerFactory.getLogger(InteractiveSession.class);

  private static final String NOTE = "[sparkgate] ";

  private final int id;
  private final String name;
  private final Kind kind;
  private final String owner;
  private final SessionRequest request;
  private final Vertx vertx;
  private final Context context;
  private final SessionSettings settings;
  private final SparkApplication app;
  private final AgentRegistry agents;
  private final SessionObserver observer;
  private final long createdNanos = System.nanoTime();
  private final LogRing log;
  private final SessionEventLog events;
  private final SessionViews views;
  private final SessionStatements statements;
  private final Promise<Void> terminated = Promise.promise();
  /** Whether a task that publishes new log lines is on its way to the context. */
  private final AtomicBoolean logPending = new AtomicBoolean();

  private final long createdAt;
  private volatile SessionStatus status;
  private volatile long lastTouched;
  private volatile long lastActivity;
  private volatile long finishedAt;
  private volatile boolean agentLinked;

  // Context only.
  private AgentEndpoint endpoint;
  private boolean stopping;
  private boolean everIdle;
  private boolean everConnected;
  private long startTimer = -1;
  private long reconnectTimer = -1;
  private long stopTimer = -1;
  private int nextCompletionId;
  /** Log lines up to this one (LogRing numbering) are in the event log. */
  private long logPublished;
  private final Map<Integer, PendingCompletion> completions = new HashMap<>();

  private record PendingCompletion(Promise<List<String>> promise, long timer) {}

  /**
   * A session in {@code not_started}; {@link #start()} launches it. Any thread: nothing happens
   * until {@link #start()}, which runs on {@code context}.
   *
   * @param owner the authenticated user who created it, or null without authentication
   * @param context the session's own event-loop context: every change happens there
   */
  InteractiveSession(int id, String owner, SessionRequest request, Vertx vertx, Context context,
      SessionSettings settings, DriverLauncher launcher, AgentRegistry agents, SessionViews views,
      SessionObserver observer) {
    this.id = id;
    this.name = request.name();
    this.kind = request.kind();
    this.owner = owner;
    this.request = request;
    this.vertx = Objects.requireNonNull(vertx, "vertx");
    this.context = Objects.requireNonNull(context, "context");
    this.settings = Objects.requireNonNull(settings, "settings");
    this.app = new SparkApplication("Session " + id, context, launcher, new AppEvents());
    this.agents = Objects.requireNonNull(agents, "agents");
    this.observer = Objects.requireNonNull(observer, "observer");
    this.views = Objects.requireNonNull(views, "views");
    if (!context.isEventLoopContext()) {
      throw new IllegalArgumentException("a session lives on an event-loop context");
    }
    this.log = new LogRing(settings.logLines(), this::logAppended);
    this.events = new SessionEventLog(context, settings.eventLogEvents(), settings.eventLogBytes(), 1);
    this.statements = new SessionStatements(settings.retainedStatements(), events, views.statement(),
        observer::statementEnded);
    long now = System.currentTimeMillis();
    this.createdAt = now;
    this.lastTouched = now;
    this.lastActivity = now;
    this.status = new SessionStatus(SessionState.NOT_STARTED, null, null, null);
  }

  // --- Reads, any thread ------------------------------------------------------------------------

  public int id() {
    return id;
  }

  /** The client's name for the session, or null. */
  public String name() {
    return name;
  }

  /** The default kind of its statements, or null for a shared session. */
  public Kind kind() {
    return kind;
  }

  /** Who created it; null without authentication. */
  public String owner() {
    return owner;
  }

  /** The user the driver runs as, or null. */
  public String proxyUser() {
    return request.app().proxyUser();
  }

  /** The create request, as validated. */
  public SessionRequest request() {
    return request;
  }

  /** State and application facts, consistent with each other. */
  public SessionStatus status() {
    return status;
  }

  public SessionState state() {
    return status.state();
  }

  /** The session log: driver output and the gateway's notes. */
  public LogRing log() {
    return log;
  }

  /** Statement {@code statementId}, or null when it does not exist or is no longer kept. */
  public Statement statement(int statementId) {
    return statements.get(statementId);
  }

  /** The kept statements, oldest first. */
  public List<Statement> statements() {
    return statements.list();
  }

  /** The context the session's state lives on; agent events must arrive there. */
  public Context context() {
    return context;
  }

  /**
   * The session's numbered changes, for the push streams: append and subscribe on {@link #context()},
   * read from anywhere.
   */
  public SessionEventLog events() {
    return events;
  }

  /** Records that a client called the session (any REST call on it); see heartbeatTimeoutInSecond. */
  public void touch() {
    lastTouched = System.currentTimeMillis();
  }

  /** Epoch millis when the session was created; its ttl counts from here. */
  public long createdAt() {
    return createdAt;
  }

  /** Epoch millis of the last client call on the session. */
  public long lastTouched() {
    return lastTouched;
  }

  /** Epoch millis of the last statement submitted, cancelled, completed or ended. */
  public long lastActivity() {
    return lastActivity;
  }

  /** Epoch millis when the session reached a finished state; 0 while it has not. */
  public long finishedAt() {
    return finishedAt;
  }

  /** Whether its driver's agent is connected now. */
  public boolean agentConnected() {
    return agentLinked;
  }

  /** Completes when no driver process of this session is left. */
  public Future<Void> terminated() {
    return terminated.future();
  }

  // --- Lifecycle, context only ------------------------------------------------------------------

  /** Registers with the agent server and launches the driver. Context only. */
  void start() {
    checkContext();
    byte[] secret = AgentAuth.newSecret();
    endpoint = agents.register(id, secret, context, new AgentEvents());
    transition(SessionState.STARTING);
    startTimer = vertx.setTimer(settings.startTimeout().toMillis(), t -> onStartTimeout());

    Map<String, String> conf = new LinkedHashMap<>();
    conf.put(LaunchContract.GATEWAY_HOST, settings.agentHost());
    conf.put(LaunchContract.GATEWAY_PORT, Integer.toString(settings.agentPort()));
    conf.put(LaunchContract.SESSION_ID, Integer.toString(id));
    conf.put(LaunchContract.SESSION_KIND, kind == null ? "" : kind.livyName());
    conf.put(LaunchContract.MAX_OUTPUT_BYTES, Long.toString(settings.maxOutputBytes()));
    conf.put(LaunchContract.SQL_MAX_ROWS, Integer.toString(settings.sqlMaxRows()));
    conf.put(LaunchContract.CANCEL_GRACE_SECONDS, Long.toString(Math.max(1, settings.cancelGrace().toSeconds())));
    conf.put(LaunchContract.IDLE_EXIT_SECONDS, Long.toString(settings.agentIdleExit().toSeconds()));
    String encoded = AgentAuth.encodeSecret(secret);
    LaunchSpec spec = new LaunchSpec(id, name != null ? name : "sparkgate-session-" + id,
        LaunchContract.AGENT_MAIN_CLASS, settings.agentJar(), request.app(), conf,
        Map.of(LaunchContract.SECRET_ENV, encoded), log);
    app.launch(spec);
  }

  /** Receives the application supervisor's calls, on the session's context. */
  private final class AppEvents implements SparkApplication.Listener {
    @Override
    public void launched(DriverProcess process) {
      LOG.info("Session {}: driver started ({})", id, process.describe());
    }

    @Override
    public void launchFailed(Throwable cause) {
      String why = cause.getMessage() != null ? cause.getMessage() : cause.toString();
      LOG.warn("Session {}: could not launch the driver: {}", id, why);
      note("Could not launch the driver: " + why);
      finish(stopping ? SessionState.DEAD : SessionState.ERROR, "the driver could not be launched");
      release();
    }

    @Override
    public void exited(int code, boolean killedByGateway) {
      onDriverExit(code, killedByGateway);
    }

    @Override
    public void infoChanged(io.sparkgate.gateway.launch.AppInfo info) {
      // YARN's facts about the application: its id before the agent reports, the driver's log.
      SessionStatus now = status;
      status = new SessionStatus(now.state(), info.appId(), info.driverLogUrl(),
          now.sparkUiUrl() != null ? now.sparkUiUrl() : info.sparkUiUrl());
    }
  }

  private void onStartTimeout() {
    startTimer = -1;
    if (status.state() == SessionState.STARTING) {
      note("The session did not start within " + settings.startTimeout().toSeconds() + "s; stopping its driver.");
      LOG.warn("Session {}: start timed out after {}", id, settings.startTimeout());
      finish(SessionState.ERROR, "the session did not start in time");
      killDriver(settings.stopGrace());
    }
  }

  private void onDriverExit(int code, boolean killedByGateway) {
    cancelTimer(startTimer);
    cancelTimer(reconnectTimer);
    cancelTimer(stopTimer);
    startTimer = reconnectTimer = stopTimer = -1;
    note("The driver exited with code " + code + ".");
    SessionState state = status.state();
    if (state == SessionState.SHUTTING_DOWN) {
      // As Livy's InteractiveSession: a stopped session is dead whatever its driver's exit (Livy
      // keeps success and killed for batches).
      finish(SessionState.DEAD, "the session was stopped");
    } else if (!state.isFinished()) {
      LOG.warn("Session {}: driver exited with code {} while the session was {}", id, code, state);
      finish(everIdle ? SessionState.DEAD : SessionState.ERROR, "the driver exited (code " + code + ")");
    }
    release();
  }

  /**
   * Stops the session: tells the agent to shut down, then terminates the driver after the stop
   * grace and kills it after another. Idempotent. Context only.
   *
   * @return completes when no driver process is left
   */
  Future<Void> stop(String reason) {
    checkContext();
    if (stopping) {
      return terminated.future();
    }
    stopping = true;
    LOG.info("Session {}: stopping ({})", id, reason);
    if (!status.state().isFinished()) {
      note("Stopping the session: " + reason + ".");
      transition(SessionState.SHUTTING_DOWN);
    }
    failCompletions("the session is stopping");
    if (app.isIdle()) {
      release();
    } else if (endpoint != null && endpoint.connected() && app.isRunning()) {
      endpoint.send(new Command.Shutdown(reason));
      cancelTimer(stopTimer);
      stopTimer = vertx.setTimer(Math.max(1, settings.stopGrace().toMillis()), t -> {
        stopTimer = -1;
        killDriver(settings.stopGrace());
      });
    } else {
      killDriver(settings.stopGrace());
    }
    return terminated.future();
  }

  /** Ends the driver (once it exists, when it is still being launched). */
  private void killDriver(Duration grace) {
    app.kill(grace);
  }

  /** The driver is gone (or never came): forget the agent and report termination. */
  private void release() {
    agentLinked = false;
    if (endpoint != null) {
      agents.unregister(id);
      endpoint = null;
    }
    failCompletions("the session ended");
    terminated.tryComplete();
  }

  // --- Statements, context only -----------------------------------------------------------------

  /**
   * Queues {@code code} to run; the statement starts {@code waiting}. Context only.
   *
   * @param statementKind the statement's kind, or null for the session's
   * @throws SessionException when the session cannot take it
   */
  Statement submit(String code, Kind statementKind) {
    checkContext();
    Kind k = resolveKind(statementKind);
    requireAcceptsStatements();
    if (!statements.hasRoom()) {
      throw new SessionException(SessionException.Reason.TOO_MANY, "Session " + id + " already has "
          + settings.retainedStatements() + " statements waiting or running; wait for some to finish");
    }
    int statementId = statements.nextId();
    if (!endpoint.send(new Command.Execute(statementId, k.livyName(), code))) {
      throw new SessionException(SessionException.Reason.UNAVAILABLE,
          "Session " + id + " cannot queue more work for its driver right now; retry later");
    }
    Statement s = statements.add(statementId, code, k);
    lastActivity = System.currentTimeMillis();
    if (status.state() == SessionState.IDLE) {
      transition(SessionState.BUSY);
    }
    return s;
  }

  /**
   * Cancels statement {@code statementId}: a waiting one at once, a running one once the driver
   * confirms. A statement that already ended is left as it is. Context only.
   *
   * @throws SessionException NOT_FOUND for an unknown statement
   */
  void cancel(int statementId) {
    checkContext();
    Statement s = statements.get(statementId);
    if (s == null) {
      throw SessionException.notFound("Statement " + statementId + " not found in session " + id + ".");
    }
    if (s.state() != StatementState.WAITING && s.state() != StatementState.RUNNING) {
      return;
    }
    if (endpoint == null || !endpoint.send(new Command.Cancel(statementId))) {
      throw new SessionException(SessionException.Reason.UNAVAILABLE,
          "Session " + id + " cannot reach its driver to cancel statement " + statementId);
    }
    long now = System.currentTimeMillis();
    lastActivity = now;
    if (s.state() == StatementState.WAITING) {
      statements.put(s.ended(StatementState.CANCELLED, null, now));
      settleBusy();
    } else {
      statements.put(s.to(StatementState.CANCELLING));
    }
  }

  /**
   * Asks the driver for completion candidates of {@code code} at {@code cursor}. Context only.
   *
   * @return the candidates, or a SessionException (TIMEOUT when the driver does not answer in time)
   */
  Future<List<String>> complete(String code, Kind codeKind, int cursor) {
    checkContext();
    Kind k = resolveKind(codeKind);
    requireAcceptsStatements();
    if (completions.size() >= SessionSettings.MAX_PENDING_COMPLETIONS) {
      throw new SessionException(SessionException.Reason.TOO_MANY,
          "Session " + id + " already has " + completions.size() + " completion requests waiting; retry later");
    }
    int requestId = nextCompletionId++;
    if (!endpoint.send(new Command.Complete(requestId, k.livyName(), code, cursor))) {
      throw new SessionException(SessionException.Reason.UNAVAILABLE,
          "Session " + id + " cannot reach its driver right now; retry later");
    }
    lastActivity = System.currentTimeMillis();
    Promise<List<String>> promise = Promise.promise();
    long timer = vertx.setTimer(settings.completionTimeout().toMillis(), t -> {
      PendingCompletion p = completions.remove(requestId);
      if (p != null) {
        p.promise().fail(new SessionException(SessionException.Reason.TIMEOUT, "Session " + id
            + "'s driver gave no completion within " + settings.completionTimeout().toMillis() + " ms"));
      }
    });
    completions.put(requestId, new PendingCompletion(promise, timer));
    return promise.future();
  }

  private Kind resolveKind(Kind requested) {
    if (requested != null) {
      return requested;
    }
    if (kind != null) {
      return kind;
    }
    throw SessionException.badRequest("Session " + id + " is shared (created without a kind), so the code"
        + " needs a kind: one of spark, pyspark, sparkr, sql");
  }

  private void requireAcceptsStatements() {
    SessionState state = status.state();
    if (!state.acceptsStatements() || endpoint == null) {
      throw SessionException.badRequest("Session " + id + " is " + state.livyName()
          + " and cannot run code; create a new session");
    }
  }

  private void failCompletions(String why) {
    if (completions.isEmpty()) {
      return;
    }
    List<PendingCompletion> pending = List.copyOf(completions.values());
    completions.clear();
    for (PendingCompletion p : pending) {
      vertx.cancelTimer(p.timer());
      p.promise().tryFail(new SessionException(SessionException.Reason.UNAVAILABLE,
          "Session " + id + " could not complete the code: " + why));
    }
  }

  // --- Agent events, on the session's context ---------------------------------------------------

  /** Receives the agent server's calls; kept private so the session's public face has no callbacks. */
  private final class AgentEvents implements AgentSessionHandler {
    @Override
    public void agentConnected() {
      checkContext();
      cancelTimer(reconnectTimer);
      reconnectTimer = -1;
      observer.agentConnected(everConnected);
      everConnected = true;
      agentLinked = true;
      LOG.info("Session {}: agent connected", id);
    }

    @Override
    public void agentDisconnected(Throwable cause) {
      checkContext();
      agentLinked = false;
      SessionState state = status.state();
      if (stopping || state.isFinished()) {
        return;
      }
      LOG.warn("Session {}: agent connection lost ({}); waiting {} for it to dial back", id,
          cause == null ? "closed" : cause.getMessage(), settings.reconnectGrace());
      cancelTimer(reconnectTimer);
      reconnectTimer = vertx.setTimer(Math.max(1, settings.reconnectGrace().toMillis()), t -> onReconnectGraceOver());
    }

    @Override
    public void agentFailed(String reason) {
      checkContext();
      if (stopping || status.state().isFinished()) {
        return;
      }
      LOG.warn("Session {}: {}; stopping the driver", id, reason);
      note("The gateway gave up on the driver's agent: " + reason + ".");
      finish(SessionState.ERROR, reason);
      killDriver(settings.stopGrace());
    }

    @Override
    public void agentEvent(Event event) {
      checkContext();
      if (event instanceof Event.Ready r) {
        onReady(r);
      } else if (event instanceof Event.StartFailed f) {
        onStartFailed(f);
      } else if (event instanceof Event.Completion c) {
        onCompletion(c);
      } else {
        long now = System.currentTimeMillis();
        statements.apply(event, now);
        if (event instanceof Event.StatementResult) {
          lastActivity = now;
        }
        settleBusy();
      }
    }
  }

  private void onReconnectGraceOver() {
    reconnectTimer = -1;
    if (stopping || status.state().isFinished() || (endpoint != null && endpoint.connected())) {
      return;
    }
    note("The driver's agent did not reconnect within " + settings.reconnectGrace().toSeconds()
        + "s; stopping the driver.");
    finish(everIdle ? SessionState.DEAD : SessionState.ERROR, "the driver's agent is gone");
    killDriver(settings.stopGrace());
  }

  private void onReady(Event.Ready ready) {
    SessionState state = status.state();
    if (state != SessionState.STARTING && state != SessionState.RECOVERING) {
      return;
    }
    cancelTimer(startTimer);
    startTimer = -1;
    if (!everIdle) {
      observer.sessionReady(kind, (System.nanoTime() - createdNanos) / 1_000_000);
    }
    everIdle = true;
    lastActivity = System.currentTimeMillis();
    String ui = ready.sparkUiUrl().isEmpty() ? null : ready.sparkUiUrl();
    SessionStatus next = new SessionStatus(SessionState.IDLE, ready.appId(), status.driverLogUrl(), ui);
    SessionState.validate(state, SessionState.IDLE);
    status = next;
    LOG.info("Session {}: ready, application {}", id, ready.appId());
    publishSession();
    settleBusy();
  }

  private void onStartFailed(Event.StartFailed failed) {
    note("The driver could not start: " + failed.message());
    LOG.warn("Session {}: agent reported start failure: {}", id, failed.message());
    SessionState state = status.state();
    if (state == SessionState.STARTING || state == SessionState.RECOVERING) {
      finish(SessionState.ERROR, "the driver could not start");
      // The agent exits by itself after StartFailed; make sure it does.
      stopTimer = vertx.setTimer(Math.max(1, settings.stopGrace().toMillis()), t -> {
        stopTimer = -1;
        killDriver(settings.stopGrace());
      });
    }
  }

  private void onCompletion(Event.Completion c) {
    PendingCompletion p = completions.remove(c.requestId());
    if (p != null) {
      vertx.cancelTimer(p.timer());
      p.promise().tryComplete(c.candidates());
    }
  }

  // --- Helpers ----------------------------------------------------------------------------------

  /** Idle when nothing waits or runs, busy otherwise (only between idle and busy). */
  private void settleBusy() {
    SessionState state = status.state();
    boolean pending = statements.anyPending();
    if (state == SessionState.BUSY && !pending) {
      transition(SessionState.IDLE);
    } else if (state == SessionState.IDLE && pending) {
      transition(SessionState.BUSY);
    }
  }

  private void transition(SessionState next) {
    SessionState state = status.state();
    if (state == next) {
      return;
    }
    SessionState.validate(state, next);
    status = status.withState(next);
    if (next.isFinished()) {
      finishedAt = System.currentTimeMillis();
    }
    LOG.debug("Session {}: {} -> {}", id, state, next);
    publishSession();
  }

  /** Appends a {@code session} event: the session as REST shows it now. */
  private void publishSession() {
    publishLog(); // Lines logged before the change come before it.
    events.append(SessionEvent.SESSION, SessionEvent.NO_STATEMENT, SessionEvent.Mark.NONE, views.session().apply(this));
  }

  /** The log got a line (on any thread): publish it on the context, many lines in one event. */
  private void logAppended() {
    if (logPending.compareAndSet(false, true)) {
      context.runOnContext(v -> {
        logPending.set(false);
        publishLog();
      });
    }
  }

  /** Appends a {@code log} event with the lines logged since the last one, if any. Context only. */
  private void publishLog() {
    long end = log.written();
    List<String> lines = log.range(logPublished, end);
    logPublished = end;
    if (!lines.isEmpty()) {
      events.append(SessionEvent.LOG, SessionEvent.NO_STATEMENT, SessionEvent.Mark.NONE, EventData.log(lines));
    }
  }

  /** Enters a finished state and ends every statement that can no longer complete. */
  private void finish(SessionState next, String why) {
    cancelTimer(startTimer);
    cancelTimer(reconnectTimer);
    startTimer = reconnectTimer = -1;
    if (!status.state().isFinished()) {
      transition(next);
    }
    statements.endAll(why, System.currentTimeMillis());
    failCompletions(why);
  }

  private void note(String message) {
    log.append(NOTE + message);
  }

  private void cancelTimer(long timer) {
    if (timer >= 0) {
      vertx.cancelTimer(timer);
    }
  }

  private void checkContext() {
    // Checking the event-loop thread (rather than the context object) also admits the duplicated
    // contexts Vert.x runs timers and requests on: they share the thread, so cannot race with us.
    if (!((ContextInternal) context).nettyEventLoop().inEventLoop()) {
      throw new IllegalStateException("session " + id + " used off its context");
    }
  }

  @Override
  public String toString() {
    return "InteractiveSession[" + id + ", " + status.state() + "]";
  }
}
