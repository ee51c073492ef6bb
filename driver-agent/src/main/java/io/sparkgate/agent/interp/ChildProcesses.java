package io.sparkgate.agent.interp;

import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What the child-REPL interpreters ({@link PythonProcess}, {@link RProcess} and their interpreters)
 * do alike: accepting the child's authenticated loopback channel, stopping it, explaining its death
 * with its last stderr lines, and the small pieces around them. Each child keeps its own protocol.
 */
final class ChildProcesses {
  private static final Logger log = LoggerFactory.getLogger(ChildProcesses.class);
  /** How long a fresh connection may take to send its opening message. */
  static final long HELLO_TIMEOUT_MILLIS = 10_000;
  /** How long a death report waits for the process to exit, before and after killing it. */
  static final long EXIT_WAIT_MILLIS = 3_000;
  /** How many of its last stderr lines a death report shows. */
  static final int STDERR_TAIL_LINES = 20;
  /** Longest line logged or kept from a child's stdout or stderr; a longer one is cut in pieces. */
  static final int LOG_LINE_MAX_CHARS = 4096;

  /**
   * The statement error for a child REPL that died (during the statement, or before it while no
   * statement ran): how it ended, and that its variables are gone. Also written to the driver's log,
   * which is the session's log, so that the loss is seen there too and is never silent.
   *
   * @param language "Python" or "R"
   */
  static ExecuteResult.Failure died(String language, long pid, String report, boolean whileIdle) {
    String gone = "The " + language + " interpreter's variables are gone: the next statement starts a new "
        + language + " process.";
    log.warn("The {} process {} died{}: {}. {}", language, pid, whileIdle ? " while no statement ran" : "",
        report, gone);
    return ExecuteResult.failure("Error", "Interpreter died" + (whileIdle ? " while no statement ran" : "")
        + ":\n" + report + "\n" + gone, List.of());
  }
  private static final SecureRandom RANDOM = new SecureRandom();

  private ChildProcesses() {}

  /** Reads a fresh connection's opening message and says whether it is the child's. */
  interface Opening<C> {
    /**
     * @return what to read the channel with from now on, or null when the opening is not the
     *     child's (the connection is refused and another awaited)
     * @throws ProtocolMismatchException the child is authentic but speaks another protocol
     * @throws IOException the opening could not be read (the connection is refused)
     */
    C read(Socket candidate) throws IOException;
  }

  /** The child opened its channel with the right secret but speaks another protocol version. */
  static final class ProtocolMismatchException extends IOException {
    private static final long serialVersionUID = 1L;

    ProtocolMismatchException(String message) {
      super(message);
    }
  }

  /** The accepted channel: its socket (read timeout cleared) and what the opening returned. */
  record Connection<C>(Socket socket, C reader) {}

  /**
   * Accepts the child's channel: the first connection whose opening {@code opening} accepts;
   * others are logged and closed.
   *
   * @param name the child, as in "the {@code name} process" ({@code Python}, {@code R})
   * @param deathReport how the process ended, should it end before it connects
   * @throws IOException the process ended, did not connect before {@code deadline} (a
   *     {@link System#nanoTime()}), or speaks another protocol
   */
  static <C> Connection<C> accept(ServerSocket server, Process process, long deadline, String name,
      Supplier<String> deathReport, Opening<C> opening) throws IOException, InterruptedException {
    server.setSoTimeout(200);
    while (true) {
      if (Thread.interrupted()) {
        throw new InterruptedException();
      }
      if (!process.isAlive()) {
        throw new IOException("the " + name + " process ended before it connected: " + deathReport.get());
      }
      if (System.nanoTime() > deadline) {
        throw new IOException("the " + name + " process did not connect in time");
      }
      Socket candidate;
      try {
        candidate = server.accept();
      } catch (SocketTimeoutException e) {
        continue;
      }
      C reader;
      try {
        candidate.setSoTimeout((int) HELLO_TIMEOUT_MILLIS);
        candidate.setTcpNoDelay(true);
        reader = opening.read(candidate);
      } catch (ProtocolMismatchException e) {
        candidate.close();
        throw e;
      } catch (IOException | RuntimeException e) {
        log.warn("refused a connection to the {} REPL channel from {}: {}", name, candidate.getRemoteSocketAddress(), e.toString());
        candidate.close();
        continue;
      }
      if (reader == null) {
        log.warn("refused a connection to the {} REPL channel from {}: wrong opening", name, candidate.getRemoteSocketAddress());
        candidate.close();
        continue;
      }
      candidate.setSoTimeout(0);
      return new Connection<>(candidate, reader);
    }
  }

  /** Waits up to {@code grace} for the process to exit (it was asked to), then destroys it, then kills it. */
  static void stop(Process process, Duration grace) {
    try {
      if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroy();
        if (!process.waitFor(1, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  /**
   * How the process ended: waits (bounded) for it to exit, killing it if it does not, and for its
   * stderr reader to finish, then says why it stopped, its exit code and, when {@code withTail},
   * its last stderr lines.
   *
   * @param name the child, as in "the {@code name} process"
   * @param stopReason why this JVM stopped it, or null if it ended on its own
   */
  static String deathReport(Process process, String name, String stopReason, Thread stderrPump, LastLines stderrTail,
      boolean withTail) {
    boolean exited = waitForExit(process, EXIT_WAIT_MILLIS);
    if (!exited) {
      process.destroyForcibly();
      exited = waitForExit(process, EXIT_WAIT_MILLIS);
    }
    try {
      stderrPump.join(1_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    StringBuilder text = new StringBuilder();
    if (stopReason != null) {
      text.append(stopReason);
      if (exited) {
        text.append(" (exit code ").append(process.exitValue()).append(')');
      }
    } else if (exited) {
      text.append("the ").append(name).append(" process exited with code ").append(process.exitValue());
    } else {
      text.append("the ").append(name).append(" process closed its channel and could not be stopped");
    }
    List<String> tail = stderrTail.lines();
    if (!tail.isEmpty() && withTail) {
      text.append("; the last lines it wrote to stderr:\n").append(String.join("\n", tail));
    }
    return text.toString();
  }

  private static boolean waitForExit(Process process, long millis) {
    try {
      return process.waitFor(millis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return !process.isAlive();
    }
  }

  /**
   * Waits up to {@code waitMillis} for completion candidates; none when the child does not answer
   * in time or the wait is interrupted (the interrupt status is kept).
   */
  static List<String> awaitCompletions(CompletableFuture<List<String>> answer, long waitMillis, String name) {
    try {
      return answer.get(waitMillis, TimeUnit.MILLISECONDS);
    } catch (TimeoutException e) {
      log.debug("completion skipped: the {} process did not answer in {} ms", name, waitMillis);
      return List.of();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return List.of();
    } catch (ExecutionException e) {
      return List.of();
    }
  }

  /** Copies the REPL program {@code resource} (a class-path resource) to {@code target}. */
  static void copyScript(String resource, Path target) throws IOException {
    try (InputStream script = ChildProcesses.class.getResourceAsStream(resource)) {
      if (script == null) {
        throw new IllegalStateException("missing resource " + resource);
      }
      Files.copy(script, target);
    }
  }

  /** Deletes the copied REPL program and its private folder; a failure is logged. */
  static void deleteScript(Path script, Path folder) {
    try {
      Files.deleteIfExists(script);
      Files.deleteIfExists(folder);
    } catch (IOException e) {
      log.warn("cannot delete {}", folder, e);
    }
  }

  /** A random secret or marker: {@code bytes} random bytes in hex. */
  static String token(int bytes) {
    byte[] random = new byte[bytes];
    RANDOM.nextBytes(random);
    return HexFormat.of().formatHex(random);
  }

  /** A daemon thread (not started): a child's helper threads must never keep the driver JVM alive. */
  static Thread daemon(String name, Runnable body) {
    Thread thread = new Thread(body, name);
    thread.setDaemon(true);
    return thread;
  }

  /** The last {@value #STDERR_TAIL_LINES} lines of a stream, for a death report; thread-safe. */
  static final class LastLines {
    private final Deque<String> lines = new ArrayDeque<>(); // guarded by itself

    void add(String line) {
      synchronized (lines) {
        if (lines.size() == STDERR_TAIL_LINES) {
          lines.removeFirst();
        }
        lines.addLast(line);
      }
    }

    void clear() {
      synchronized (lines) {
        lines.clear();
      }
    }

    List<String> lines() {
      synchronized (lines) {
        return new ArrayList<>(lines);
      }
    }
  }

  /**
   * Cuts text that arrives in pieces into lines of at most {@value #LOG_LINE_MAX_CHARS} characters
   * (without their newline); a longer line is handed on in pieces. Used by one thread at a time.
   */
  static final class LineBuffer {
    private final StringBuilder line = new StringBuilder();

    /** Hands each line that {@code text} completes to {@code sink}. */
    void append(CharSequence text, Consumer<String> sink) {
      for (int i = 0; i < text.length(); i++) {
        char c = text.charAt(i);
        if (c == '\n' || line.length() >= LOG_LINE_MAX_CHARS) {
          sink.accept(line.toString());
          line.setLength(0);
          if (c == '\n') {
            continue;
          }
        }
        line.append(c);
      }
    }

    /** Hands the unfinished line, if any, to {@code sink}. */
    void flush(Consumer<String> sink) {
      if (line.length() > 0) {
        sink.accept(line.toString());
        line.setLength(0);
      }
    }
  }
}
