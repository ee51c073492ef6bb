package io.sparkgate.agent.interp;

import io.sparkgate.proto.Event;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One R REPL process ({@code sparkgate_repl.R}, run by Rscript) and its channel: a loopback TCP
 * connection that the process dials and opens with a secret, carrying {@link RFrames}.
 *
 * <p>A statement's output is the process's own stdout and stderr, read by two {@link ROutputPump}s
 * and handed to the running {@link Statement}'s listener as it arrives; so everything the statement
 * prints reaches it, from {@code cat} to the programs {@code system()} runs. When the statement
 * ends, the REPL writes a per-process random marker to both streams and then sends its result; the
 * statement completes once all three have arrived (or {@value #MARKER_GRACE_MILLIS} ms after the
 * result, should a stream have been closed). Output outside any statement is logged.
 *
 * <p>When the channel ends (the process exited, was killed, or broke the protocol), the running
 * statement and the start-up fail with a {@link DiedException} whose message says how it ended,
 * with the last lines the process wrote to stderr. An instance is never restarted: the interpreter
 * starts a new one.
 */
final class RProcess {
  private static final Logger log = LoggerFactory.getLogger(RProcess.class);
  static final String PROTOCOL_VERSION = "1";
  /** Room above the result cap for the rest of a result: traceback, completions and framing. */
  private static final int MESSAGE_SLACK_BYTES = 256 * 1024;
  private static final long MARKER_GRACE_MILLIS = 2_000;
  private static final long SIGNAL_WAIT_MILLIS = 2_000;

  /** Receives a statement's output, on a pump thread; must not block. */
  interface OutputListener {
    void output(Event.Stream stream, String text);
  }

  /**
   * A statement sent to the process. Its result completes with the REPL's result fields (after
   * {@code result ID}) once its output is complete, or fails with a {@link DiedException}.
   */
  static final class Statement {
    final long id;
    final OutputListener listener;
    final CompletableFuture<List<String>> result = new CompletableFuture<>();
    private List<String> reply; // guarded by this
    private boolean stdoutEnded; // guarded by this
    private boolean stderrEnded; // guarded by this

    Statement(long id, OutputListener listener) {
      this.id = id;
      this.listener = listener;
    }

    synchronized boolean ended(Event.Stream stream) {
      return stream == Event.Stream.STDOUT ? stdoutEnded : stderrEnded;
    }

    synchronized void streamEnded(Event.Stream stream) {
      if (stream == Event.Stream.STDOUT) {
        stdoutEnded = true;
      } else {
        stderrEnded = true;
      }
      completeIfDone();
    }

    /** @return whether both streams have ended too */
    synchronized boolean replied(List<String> fields) {
      reply = fields;
      completeIfDone();
      return result.isDone();
    }

    synchronized void completeDespiteStreams() {
      if (reply != null && !result.isDone()) {
        log.warn("statement {}: the R process's output did not end within {} ms of its result", id, MARKER_GRACE_MILLIS);
        result.complete(reply);
      }
    }

    private void completeIfDone() {
      if (reply != null && stdoutEnded && stderrEnded) {
        result.complete(reply);
      }
    }
  }

  /** The process is gone (or its channel broke); the message says how, with its last stderr lines. */
  static final class DiedException extends Exception {
    private static final long serialVersionUID = 1L;

    DiedException(String message) {
      super(message, null, false, false);
    }
  }

  private final Process process;
  private final int maxMessageBytes;
  private final ChildProcesses.LastLines stderrTail = new ChildProcesses.LastLines();
  private final Thread stdoutPump;
  private final Thread stderrPump;
  private final CompletableFuture<List<String>> ready = new CompletableFuture<>();
  private final AtomicReference<Statement> current = new AtomicReference<>();
  private final Map<Long, CompletableFuture<List<String>>> completions = new ConcurrentHashMap<>();
  private final AtomicLong completionIds = new AtomicLong();
  private final Object sendLock = new Object();

  private Socket socket; // set once, before the reader starts
  private OutputStream out; // guarded by sendLock
  private volatile boolean ended;
  private volatile boolean closing; // asked to exit: its stderr explains nothing
  private volatile String stopReason;
  private String deathReport; // guarded by this

  private RProcess(Process process, byte[] marker, int maxMessageBytes) {
    this.process = process;
    this.maxMessageBytes = maxMessageBytes;
    this.stdoutPump = ChildProcesses.daemon("sparkgate-r-stdout-" + process.pid(),
        new ROutputPump(process.getInputStream(), marker, new StreamRouter(Event.Stream.STDOUT)));
    this.stderrPump = ChildProcesses.daemon("sparkgate-r-stderr-" + process.pid(),
        new ROutputPump(process.getErrorStream(), marker, new StreamRouter(Event.Stream.STDERR)));
    stdoutPump.start();
    stderrPump.start();
  }

  /**
   * Starts the process and waits until it is ready (SparkR attached, when asked for).
   *
   * @param sparkR what attaches SparkR to the driver; null for a plain R REPL
   * @throws IOException the process could not be started, died or failed to initialise; the
   *     message says why
   * @throws InterruptedException the calling thread was interrupted; the process is stopped
   */
  static RProcess start(RLaunch launch, Path script, RLaunch.SparkRAttachment sparkR, int maxResultBytes, Duration timeout)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    InetAddress loopback = InetAddress.getLoopbackAddress();
    String marker = "\u0001sparkgate-end-" + ChildProcesses.token(16);
    RProcess r = null;
    try (ServerSocket server = new ServerSocket(0, 1, loopback)) {
      String secret = ChildProcesses.token(16);
      ProcessBuilder builder = new ProcessBuilder(launch.rCommand(), "--vanilla", script.toAbsolutePath().toString());
      builder.environment().clear();
      builder.environment().putAll(launch.environment(
          new RLaunch.ChannelAddress(loopback.getHostAddress(), server.getLocalPort(), secret), sparkR));
      Process process;
      try {
        process = builder.start();
      } catch (IOException e) {
        throw new IOException("cannot run " + launch.rCommand() + " (" + e.getMessage() + "); install R"
            + " (scripts/provision-r does) or point " + RLaunch.DRIVER_COMMAND_CONF + " at an Rscript", e);
      }
      r = new RProcess(process, marker.getBytes(StandardCharsets.US_ASCII), maxResultBytes + MESSAGE_SLACK_BYTES);
      process.getOutputStream().close(); // user code that reads stdin gets end of input
      r.connect(server, secret, deadline);
      r.send(List.of("init", marker, Integer.toString(maxResultBytes)));
      r.awaitReady(deadline, timeout);
      return r;
    } catch (IOException | InterruptedException | RuntimeException e) {
      if (r != null) {
        r.kill("the R process failed to start");
      }
      throw e;
    }
  }

  long pid() {
    return process.pid();
  }

  /** Whether the process runs and its channel is open: it can take statements. */
  boolean isAlive() {
    return !ended && process.isAlive(); // the process may be gone before its channel's end is read
  }

  /** Whether a statement is running (its result has not completed). */
  boolean busy() {
    Statement statement = current.get();
    return statement != null && !statement.result.isDone();
  }

  /**
   * Sends a statement; its output goes to {@code listener} until its result completes the
   * returned statement's future (or fails it with a {@link DiedException}).
   *
   * @param properties Spark local properties for the JVM thread that serves the process's SparkR
   *     calls; a null value clears one
   */
  Statement execute(long id, String code, Map<String, String> properties, OutputListener listener) throws DiedException {
    Statement statement = new Statement(id, listener);
    stderrTail.clear(); // a death report shows what the dying statement wrote, not older noise
    Statement previous = current.get();
    if (previous != null && !previous.result.isDone()) {
      throw new IllegalStateException("a statement is already running in R process " + process.pid());
    }
    current.set(statement); // one statement thread at a time: no race with another execute
    statement.result.whenComplete((fields, failure) -> current.compareAndSet(statement, null));
    if (ended) { // after setting current: the reader fails whichever statement it sees when the channel ends
      statement.result.completeExceptionally(new DiedException(awaitDeathReport()));
      throw new DiedException(awaitDeathReport());
    }
    List<String> message = new ArrayList<>();
    message.add("execute");
    message.add(Long.toString(id));
    message.add(code);
    properties.forEach((key, value) -> {
      message.add(key);
      message.add(value == null ? "" : value);
    });
    try {
      send(message);
    } catch (IOException e) {
      kill("the channel to the R process failed: " + e.getMessage());
      throw new DiedException(awaitDeathReport());
    }
    return statement;
  }

  /**
   * Sends SIGINT, which R turns into an interrupt of the running statement, and waits until it is
   * delivered: a later statement is sent only after it, and the REPL discards an interrupt that
   * arrives between statements.
   */
  void interrupt() {
    if (ended || !process.isAlive()) {
      return;
    }
    try {
      Process kill = new ProcessBuilder("kill", "-INT", Long.toString(process.pid()))
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .redirectError(ProcessBuilder.Redirect.DISCARD)
          .start();
      if (!kill.waitFor(SIGNAL_WAIT_MILLIS, TimeUnit.MILLISECONDS)) {
        kill.destroyForcibly();
        log.warn("sending SIGINT to R process {} did not finish in {} ms", process.pid(), SIGNAL_WAIT_MILLIS);
      }
    } catch (IOException e) {
      log.warn("cannot send SIGINT to R process {}: {}", process.pid(), e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Completion candidates; answered only between statements (R runs one thing at a time). */
  CompletableFuture<List<String>> complete(String line, int cursorCodePoints) {
    long id = completionIds.incrementAndGet();
    CompletableFuture<List<String>> answer = new CompletableFuture<>();
    if (ended) {
      answer.complete(List.of());
      return answer;
    }
    completions.put(id, answer);
    answer.whenComplete((candidates, failure) -> completions.remove(id));
    try {
      send(List.of("complete", Long.toString(id), line, Integer.toString(cursorCodePoints)));
    } catch (IOException e) {
      answer.complete(List.of());
    }
    return answer;
  }

  /** Stops the process at once (SIGKILL); {@code reason} becomes the start of its death report. */
  void kill(String reason) {
    if (!ended && stopReason == null) {
      stopReason = reason;
    }
    process.destroyForcibly();
    closeSocket();
  }

  /** Asks the process to exit, waits up to {@code grace}, then kills it. */
  void shutdown(Duration grace) {
    closing = true;
    if (!ended) {
      stopReason = "the R interpreter was closed";
      try {
        send(List.of("shutdown"));
      } catch (IOException e) {
        log.debug("cannot ask the R process to exit", e);
      }
    }
    ChildProcesses.stop(process, grace);
    closeSocket();
  }

  // ---------------------------------------------------------------- start-up

  /** Accepts the process's connection: the first one that opens with the secret. */
  private void connect(ServerSocket server, String secret, long deadline) throws IOException, InterruptedException {
    byte[] expected = secret.getBytes(StandardCharsets.UTF_8);
    ChildProcesses.Connection<DataInputStream> connection = ChildProcesses.accept(server, process, deadline, "R",
        this::awaitDeathReport, candidate -> {
          DataInputStream in = new DataInputStream(new BufferedInputStream(candidate.getInputStream(), 64 * 1024));
          List<String> hello = RFrames.read(in, 4096);
          if (hello == null || hello.size() < 3 || !hello.get(0).equals("hello")
              || !MessageDigest.isEqual(expected, hello.get(1).getBytes(StandardCharsets.UTF_8))) {
            return null;
          }
          if (!PROTOCOL_VERSION.equals(hello.get(2))) {
            throw new ChildProcesses.ProtocolMismatchException(
                "the R REPL speaks protocol " + hello.get(2) + ", not " + PROTOCOL_VERSION);
          }
          return in;
        });
    socket = connection.socket();
    synchronized (sendLock) {
      out = new BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
    }
    ChildProcesses.daemon("sparkgate-r-channel-" + process.pid(), () -> read(connection.reader())).start();
  }

  private void awaitReady(long deadline, Duration timeout) throws IOException, InterruptedException {
    List<String> message;
    try {
      message = ready.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      throw new IOException("the R process was not ready within " + timeout.toSeconds() + " s");
    } catch (ExecutionException e) {
      throw new IOException(e.getCause().getMessage(), e.getCause());
    }
    if (!message.get(0).equals("ready")) {
      StringBuilder text = new StringBuilder("SparkR could not attach to the driver: ")
          .append(message.size() > 1 ? message.get(1) : "(no message)");
      for (String line : message.subList(Math.min(2, message.size()), message.size())) {
        text.append("\n  ").append(line);
      }
      throw new IOException(text.toString());
    }
    String sparkR = message.size() > 2 && !message.get(2).isEmpty() ? ", SparkR " + message.get(2) : "";
    log.info("R REPL process {} ready: {}{}", process.pid(), message.size() > 1 ? message.get(1) : "?", sparkR);
  }

  // ---------------------------------------------------------------- the channel

  private void send(List<String> fields) throws IOException {
    byte[] frame = RFrames.encode(fields);
    synchronized (sendLock) {
      if (out == null || ended) {
        throw new IOException("the channel is closed");
      }
      out.write(frame);
      out.flush();
    }
  }

  /** The reader thread. */
  private void read(DataInputStream in) {
    String failure = null;
    try {
      for (List<String> message; (message = RFrames.read(in, maxMessageBytes)) != null; ) {
        dispatch(message);
      }
    } catch (IOException | RuntimeException e) {
      if (stopReason == null) {
        failure = "the channel to the R process failed: " + e.getMessage();
        log.warn("R process {}: {}", process.pid(), failure);
      }
    }
    if (failure != null && stopReason == null) {
      stopReason = failure;
      process.destroyForcibly();
    }
    ended = true;
    closeSocket();
    String report = awaitDeathReport();
    log.info("R process {} ended: {}", process.pid(), report);
    DiedException died = new DiedException(report);
    ready.completeExceptionally(died);
    Statement statement = current.get();
    if (statement != null) {
      statement.result.completeExceptionally(died);
    }
    completions.values().forEach(answer -> answer.complete(List.of()));
  }

  private void dispatch(List<String> message) {
    String type = message.get(0);
    switch (type) {
      case "ready", "init_error" -> ready.complete(message);
      case "result" -> {
        Statement statement = current.get();
        long id = message.size() > 2 ? parseId(message.get(1)) : -1;
        if (statement == null || statement.id != id) {
          log.warn("R process {} answered a statement that is not running: {}", process.pid(), id);
        } else if (!statement.replied(List.copyOf(message.subList(2, message.size())))) {
          CompletableFuture.delayedExecutor(MARKER_GRACE_MILLIS, TimeUnit.MILLISECONDS)
              .execute(statement::completeDespiteStreams);
        }
      }
      case "completions" -> {
        CompletableFuture<List<String>> answer = message.size() > 1 ? completions.get(parseId(message.get(1))) : null;
        if (answer != null) {
          answer.complete(List.copyOf(message.subList(2, message.size())));
        }
      }
      default -> log.warn("R process {} sent an unknown message type '{}'", process.pid(), type);
    }
  }

  private static long parseId(String text) {
    try {
      return Long.parseLong(text);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * How the process ended: waits (bounded) for it to exit and for its last stderr lines (left out
   * when it was asked to exit). The first caller computes it; later ones get the same text.
   */
  /** How the process ended (waits, bounded, for its exit); for a process that is no longer {@link #isAlive()}. */
  String deathReport() {
    return awaitDeathReport();
  }

  private synchronized String awaitDeathReport() {
    if (deathReport == null) {
      deathReport = ChildProcesses.deathReport(process, "R", stopReason, stderrPump, stderrTail, !closing);
    }
    return deathReport;
  }

  private void closeSocket() {
    Socket s = socket;
    if (s != null) {
      try {
        s.close();
      } catch (IOException e) {
        log.debug("closing the R channel", e);
      }
    }
  }

  /**
   * Routes one stream's text: to the running statement until its marker, otherwise to the log;
   * keeps stderr's last lines for a death report.
   */
  private final class StreamRouter implements ROutputPump.Listener {
    private final Event.Stream stream;
    private final String name;
    private final ChildProcesses.LineBuffer logLines = new ChildProcesses.LineBuffer();
    private final ChildProcesses.LineBuffer tailLines = new ChildProcesses.LineBuffer();

    StreamRouter(Event.Stream stream) {
      this.stream = stream;
      this.name = stream == Event.Stream.STDOUT ? "stdout" : "stderr";
    }

    @Override
    public void text(String text) {
      if (stream == Event.Stream.STDERR) {
        tailLines.append(text, stderrTail::add);
      }
      Statement statement = current.get();
      if (statement != null && !statement.result.isDone() && !statement.ended(stream)) {
        statement.listener.output(stream, text);
      } else {
        logLines.append(text, this::logLine);
      }
    }

    @Override
    public void marker() {
      flushLines();
      Statement statement = current.get();
      if (statement != null) {
        statement.streamEnded(stream);
      }
    }

    @Override
    public void ended(IOException failure) {
      flushLines();
      if (failure != null) {
        log.debug("reading the R process's {} ended: {}", name, failure.toString());
      }
    }

    private void flushLines() {
      logLines.flush(this::logLine);
      if (stream == Event.Stream.STDERR) {
        tailLines.flush(stderrTail::add);
      }
    }

    private void logLine(String line) {
      if (!line.isEmpty()) {
        log.info("r[{}] {}: {}", process.pid(), name, line);
      }
    }
  }
}
