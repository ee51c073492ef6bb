package io.sparkgate.agent.interp;

import com.fasterxml.jackson.core.json.JsonWriteFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkgate.proto.Event;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.Reader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import py4j.ClientServer;

/**
 * One Python REPL process ({@code sparkgate_repl.py}) and what attaches it to this JVM: its own py4j
 * gateway, a {@link ClientServer} on a loopback port with a secret (pyspark's pinned-thread mode,
 * its default, in which each Python thread has its own JVM thread), and its channel, a loopback TCP
 * connection that the process dials and opens with another secret.
 *
 * <p>The channel carries JSON lines (the program's docstring lists the messages); each line is at
 * most {@code maxResultBytes} plus some slack, or the channel is judged broken. A reader thread
 * hands stream messages to the running {@link Statement}'s listener as they arrive and completes it
 * with its result. The process's own stdout and stderr are read by two more threads and logged;
 * the last lines of stderr explain a death.
 *
 * <p>When the channel ends (the process exited, was killed, or broke the protocol), the running
 * statement and the start-up fail with a {@link DiedException} whose message says how it ended.
 * An instance is never restarted: the interpreter starts a new one.
 */
final class PythonProcess {
  private static final Logger log = LoggerFactory.getLogger(PythonProcess.class);
  static final int PROTOCOL_VERSION = 1;
  /** Room above the result cap for stream messages (16 Ki characters, at most 6 bytes each) and framing. */
  private static final int MESSAGE_SLACK_BYTES = 256 * 1024;
  private static final ObjectWriter WRITER = Json.MAPPER.writer().with(JsonWriteFeature.ESCAPE_NON_ASCII);

  /** Receives a statement's output, on the reader thread; must not block. */
  interface OutputListener {
    void output(Event.Stream stream, String text);
  }

  /** A statement sent to the process. */
  record Statement(long id, OutputListener listener, CompletableFuture<JsonNode> result) {}

  /** The process is gone (or its channel broke); the message says how, with its last stderr lines. */
  static final class DiedException extends Exception {
    private static final long serialVersionUID = 1L;

    DiedException(String message) {
      super(message, null, false, false);
    }
  }

  private final Process process;
  private final ClientServer gateway;
  private final int maxMessageBytes;
  private final ChildProcesses.LastLines stderrTail = new ChildProcesses.LastLines();
  private final Thread stdoutPump;
  private final Thread stderrPump;
  private final CompletableFuture<JsonNode> ready = new CompletableFuture<>();
  private final Map<Long, CompletableFuture<List<String>>> completions = new ConcurrentHashMap<>();
  private final AtomicLong completionIds = new AtomicLong();
  private final AtomicBoolean released = new AtomicBoolean();
  private final Object sendLock = new Object();

  private Socket socket; // set once, before the reader starts
  private OutputStream out; // guarded by sendLock
  private volatile Statement current;
  private volatile boolean ended;
  private volatile String stopReason;
  private String deathReport; // guarded by this

  private PythonProcess(Process process, ClientServer gateway, int maxMessageBytes) {
    this.process = process;
    this.gateway = gateway;
    this.maxMessageBytes = maxMessageBytes;
    this.stdoutPump = ChildProcesses.daemon("sparkgate-python-stdout-" + process.pid(),
        () -> pump(process.getInputStream(), "stdout", false));
    this.stderrPump = ChildProcesses.daemon("sparkgate-python-stderr-" + process.pid(),
        () -> pump(process.getErrorStream(), "stderr", true));
    stdoutPump.start();
    stderrPump.start();
  }

  /**
   * Starts the process and waits until pyspark is attached in it.
   *
   * @throws IOException the process could not be started, died or failed to attach; the message
   *     says why
   * @throws InterruptedException the calling thread was interrupted; the process is stopped
   */
  static PythonProcess start(PythonLaunch launch, Path script, PythonEntryPoint entryPoint, int maxResultBytes, Duration timeout)
      throws IOException, InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    InetAddress loopback = InetAddress.getLoopbackAddress();
    String gatewaySecret = ChildProcesses.token(32);
    ClientServer gateway = startGateway(new ClientServer.ClientServerBuilder(entryPoint)
        .authToken(gatewaySecret)
        .javaPort(0)
        .javaAddress(loopback));
    PythonProcess python = null;
    try (ServerSocket server = new ServerSocket(0, 1, loopback)) {
      String channelSecret = ChildProcesses.token(32);
      ProcessBuilder builder = new ProcessBuilder(launch.driverPython(), script.toAbsolutePath().toString());
      builder.environment().clear();
      builder.environment().putAll(launch.environment(
          new PythonLaunch.PythonChannelAddress(loopback.getHostAddress(), server.getLocalPort(), channelSecret),
          gateway.getJavaServer().getListeningPort(), gatewaySecret, maxResultBytes));
      Process process;
      try {
        process = builder.start();
      } catch (IOException e) {
        throw new IOException("cannot run " + launch.driverPython() + ": " + e.getMessage(), e);
      }
      python = new PythonProcess(process, gateway, maxResultBytes + MESSAGE_SLACK_BYTES);
      process.getOutputStream().close(); // the REPL reads nothing from stdin
      python.connect(server, channelSecret, deadline);
      python.awaitReady(deadline, timeout);
      return python;
    } catch (IOException | InterruptedException | RuntimeException e) {
      if (python != null) {
        python.kill("the Python process failed to start");
      } else {
        gateway.shutdown();
      }
      throw e;
    }
  }

  /**
   * Builds (and so starts) the gateway on a daemon thread: py4j's server thread, and the connection
   * threads it starts, inherit the daemon flag of the thread that builds it, and must never keep the
   * driver JVM alive.
   */
  private static ClientServer startGateway(ClientServer.ClientServerBuilder builder) throws IOException, InterruptedException {
    CompletableFuture<ClientServer> built = new CompletableFuture<>();
    ChildProcesses.daemon("sparkgate-py4j-start", () -> {
      try {
        built.complete(builder.build());
      } catch (RuntimeException e) {
        built.completeExceptionally(e);
      }
    }).start();
    try {
      return built.get();
    } catch (ExecutionException e) {
      throw new IOException("cannot start the py4j gateway: " + e.getCause(), e.getCause());
    } catch (InterruptedException e) {
      built.thenAccept(ClientServer::shutdown);
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

  /**
   * Sends a statement; its output goes to {@code listener} until its result completes the returned
   * statement's future (or fails it with a {@link DiedException}).
   *
   * @param properties Spark local properties for the Python thread's JVM side; null values clear
   */
  Statement execute(long id, String code, Map<String, String> properties, OutputListener listener) throws DiedException {
    Statement statement = new Statement(id, listener, new CompletableFuture<>());
    stderrTail.clear(); // a death report shows what the dying statement wrote, not older noise
    current = statement; // before checking ended: the reader fails whichever it sees when the channel ends
    if (ended) {
      throw new DiedException(awaitDeathReport());
    }
    ObjectNode message = Json.NODES.objectNode()
        .put("type", "execute")
        .put("id", id)
        .put("code", code);
    ObjectNode props = message.putObject("properties");
    properties.forEach(props::put);
    try {
      send(message);
    } catch (IOException e) {
      kill("the channel to the Python process failed: " + e.getMessage());
      throw new DiedException(awaitDeathReport());
    }
    return statement;
  }

  /** Asks for KeyboardInterrupt in statement {@code id}, if it still runs. */
  void interrupt(long id) {
    try {
      send(Json.NODES.objectNode().put("type", "interrupt").put("id", id));
    } catch (IOException e) {
      log.debug("cannot send an interrupt to the Python process", e);
    }
  }

  /** Completion candidates; answered by the process even while a statement runs. */
  CompletableFuture<List<String>> complete(String code, int cursorCodePoints) {
    long id = completionIds.incrementAndGet();
    CompletableFuture<List<String>> answer = new CompletableFuture<>();
    completions.put(id, answer);
    if (ended) {
      completions.remove(id);
      answer.complete(List.of());
      return answer;
    }
    try {
      send(Json.NODES.objectNode().put("type", "complete").put("id", id).put("code", code).put("cursor", cursorCodePoints));
    } catch (IOException e) {
      completions.remove(id);
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
    if (socket == null) {
      release(); // no reader thread to do it
    }
  }

  /** Asks the process to exit, waits up to {@code grace}, then kills it; releases the gateway. */
  void shutdown(Duration grace) {
    if (!ended) {
      stopReason = "the Python interpreter was closed";
      try {
        send(Json.NODES.objectNode().put("type", "shutdown"));
      } catch (IOException e) {
        log.debug("cannot ask the Python process to exit", e);
      }
    }
    ChildProcesses.stop(process, grace);
    closeSocket();
    release();
  }

  // ---------------------------------------------------------------- start-up

  /** Accepts the process's connection: the first one that opens with the secret. */
  private void connect(ServerSocket server, String secret, long deadline) throws IOException, InterruptedException {
    byte[] expected = secret.getBytes(StandardCharsets.UTF_8);
    ChildProcesses.Connection<LineReader> connection = ChildProcesses.accept(server, process, deadline, "Python",
        this::awaitDeathReport, candidate -> {
          LineReader lines = new LineReader(candidate.getInputStream(), 4096);
          byte[] line = lines.next();
          JsonNode hello = line == null ? Json.NODES.nullNode() : Json.MAPPER.readTree(line);
          if (!"hello".equals(hello.path("type").asText())
              || !MessageDigest.isEqual(expected, hello.path("secret").asText().getBytes(StandardCharsets.UTF_8))) {
            return null;
          }
          if (hello.path("protocol").asInt() != PROTOCOL_VERSION) {
            throw new ChildProcesses.ProtocolMismatchException(
                "the Python REPL speaks protocol " + hello.path("protocol") + ", not " + PROTOCOL_VERSION);
          }
          return lines;
        });
    socket = connection.socket();
    synchronized (sendLock) {
      out = new BufferedOutputStream(socket.getOutputStream(), 64 * 1024);
    }
    ChildProcesses.daemon("sparkgate-python-channel-" + process.pid(), () -> read(connection.reader())).start();
  }

  private void awaitReady(long deadline, Duration timeout) throws IOException, InterruptedException {
    JsonNode message;
    try {
      message = ready.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      throw new IOException("pyspark did not attach to the driver within " + timeout.toSeconds() + " s");
    } catch (ExecutionException e) {
      throw new IOException(e.getCause().getMessage(), e.getCause());
    }
    if (!"ready".equals(message.path("type").asText())) {
      StringBuilder text = new StringBuilder("pyspark could not attach to the driver: ")
          .append(message.path("ename").asText()).append(": ").append(message.path("evalue").asText());
      for (JsonNode line : message.path("traceback")) {
        text.append('\n').append(line.asText().stripTrailing());
      }
      throw new IOException(text.toString());
    }
    log.info("Python REPL process {} attached: Python {}", process.pid(), message.path("python").asText().lines().findFirst().orElse("?"));
  }

  // ---------------------------------------------------------------- the channel

  private void send(JsonNode message) throws IOException {
    byte[] bytes = WRITER.writeValueAsBytes(message);
    synchronized (sendLock) {
      if (out == null || ended) {
        throw new IOException("the channel is closed");
      }
      out.write(bytes);
      out.write('\n');
      out.flush();
    }
  }

  /** The reader thread. */
  private void read(LineReader lines) {
    String failure = null;
    try {
      lines.maxLine = maxMessageBytes;
      for (byte[] line; (line = lines.next()) != null; ) {
        dispatch(Json.MAPPER.readTree(line));
      }
    } catch (IOException | RuntimeException e) {
      if (stopReason == null) {
        failure = "the channel to the Python process failed: " + e.getMessage();
        log.warn("Python process {}: {}", process.pid(), failure);
      }
    }
    if (failure != null && stopReason == null) {
      stopReason = failure;
      process.destroyForcibly();
    }
    ended = true;
    closeSocket();
    String report = awaitDeathReport();
    log.info("Python process {} ended: {}", process.pid(), report);
    DiedException died = new DiedException(report);
    ready.completeExceptionally(died);
    Statement statement = current;
    if (statement != null) {
      statement.result().completeExceptionally(died);
    }
    completions.values().forEach(answer -> answer.complete(List.of()));
    completions.clear();
    release();
  }

  private void dispatch(JsonNode message) {
    String type = message.path("type").asText();
    switch (type) {
      case "ready", "init_error" -> ready.complete(message);
      case "stream" -> {
        Statement statement = current;
        if (statement != null && statement.id() == message.path("id").asLong(-1)) {
          Event.Stream stream = "stderr".equals(message.path("name").asText()) ? Event.Stream.STDERR : Event.Stream.STDOUT;
          statement.listener().output(stream, message.path("text").asText());
        }
      }
      case "result" -> {
        Statement statement = current;
        if (statement != null && statement.id() == message.path("id").asLong(-1)) {
          current = null;
          statement.result().complete(message);
        } else {
          log.warn("Python process {} answered a statement not running: {}", process.pid(), message.path("id"));
        }
      }
      case "completions" -> {
        CompletableFuture<List<String>> answer = completions.remove(message.path("id").asLong(-1));
        if (answer != null) {
          List<String> candidates = new ArrayList<>();
          message.path("candidates").forEach(c -> candidates.add(c.asText()));
          answer.complete(List.copyOf(candidates));
        }
      }
      default -> log.warn("Python process {} sent an unknown message type '{}'", process.pid(), type);
    }
  }

  /**
   * How the process ended: waits (bounded) for it to exit and for its last stderr lines. The first
   * caller computes it; later ones get the same text.
   */
  /** How the process ended (waits, bounded, for its exit); for a process that is no longer {@link #isAlive()}. */
  String deathReport() {
    return awaitDeathReport();
  }

  private synchronized String awaitDeathReport() {
    if (deathReport == null) {
      deathReport = ChildProcesses.deathReport(process, "Python", stopReason, stderrPump, stderrTail, true);
    }
    return deathReport;
  }

  private void closeSocket() {
    Socket s = socket;
    if (s != null) {
      try {
        s.close();
      } catch (IOException e) {
        log.debug("closing the Python channel", e);
      }
    }
  }

  /** Shuts the py4j gateway down: the process's JVM-side objects are released with it. */
  private void release() {
    if (released.compareAndSet(false, true)) {
      try {
        gateway.shutdown();
      } catch (RuntimeException e) {
        log.warn("stopping the py4j gateway of Python process {} failed", process.pid(), e);
      }
    }
  }

  /** Logs what the process writes to its own stdout or stderr, line by line; keeps stderr's last lines. */
  private void pump(InputStream stream, String name, boolean keepTail) {
    Consumer<String> sink = line -> {
      log.info("python[{}] {}: {}", process.pid(), name, line);
      if (keepTail) {
        stderrTail.add(line);
      }
    };
    ChildProcesses.LineBuffer lines = new ChildProcesses.LineBuffer();
    try (Reader reader = new InputStreamReader(stream, StandardCharsets.UTF_8)) {
      char[] buffer = new char[4096];
      for (int n; (n = reader.read(buffer)) >= 0; ) {
        lines.append(CharBuffer.wrap(buffer, 0, n), sink);
      }
      lines.flush(sink);
    } catch (IOException e) {
      log.debug("reading the Python process's {} ended: {}", name, e.toString());
    }
  }

  /** Reads lines of bytes, each at most {@code maxLine} long (without its newline). */
  static final class LineReader {
    private final InputStream in;
    private final byte[] buffer = new byte[64 * 1024];
    private int position;
    private int limit;
    int maxLine;

    LineReader(InputStream in, int maxLine) {
      this.in = Objects.requireNonNull(in, "in");
      this.maxLine = maxLine;
    }

    /** The next line, or null at the end of the stream. */
    byte[] next() throws IOException {
      ByteArrayOutputStream partial = null;
      while (true) {
        for (int i = position; i < limit; i++) {
          if (buffer[i] == '\n') {
            int length = i - position;
            byte[] line;
            if (partial == null) {
              checkLength(length);
              line = java.util.Arrays.copyOfRange(buffer, position, i);
            } else {
              checkLength(partial.size() + length);
              partial.write(buffer, position, length);
              line = partial.toByteArray();
            }
            position = i + 1;
            return line;
          }
        }
        if (limit > position) {
          if (partial == null) {
            partial = new ByteArrayOutputStream();
          }
          checkLength(partial.size() + limit - position);
          partial.write(buffer, position, limit - position);
        }
        position = 0;
        limit = in.read(buffer);
        if (limit < 0) {
          limit = 0;
          if (partial != null && partial.size() > 0) {
            throw new EOFException("the channel ended in the middle of a message");
          }
          return null;
        }
      }
    }

    private void checkLength(int length) throws IOException {
      if (length > maxLine) {
        throw new IOException("a message longer than " + maxLine + " bytes");
      }
    }
  }
}
