package io.sparkgate.agent.interp;

import io.sparkgate.proto.Event;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.Callable;
import scala.Console$;

/**
 * Sends what a statement prints to its {@link OutputSink}, and everything else where it went before.
 *
 * <p>{@link #install()} replaces {@code System.out} and {@code System.err}, once per JVM, with
 * routing streams. {@link #capture} binds a sink to the calling thread for the duration of a
 * statement; threads started meanwhile inherit the binding (an {@link InheritableThreadLocal}), so
 * output of a thread the statement starts is the statement's too. Writes from threads without a
 * binding, and from inheriting threads after the statement ended, go to the original streams. Scala's
 * {@code Console.out} and {@code Console.err} are pointed at the routing streams for the statement as
 * well (they are captured when {@code scala.Console} is first used, not read from {@code System}).
 *
 * <p>Install after the logging system has been configured (after the SparkContext exists): a
 * console appender created later would write through the routing streams, and log lines written on
 * a statement's thread would become the statement's output.
 */
public final class OutputCapture {
  private static final InheritableThreadLocal<Binding> BINDING = new InheritableThreadLocal<>();
  private static PrintStream originalOut;
  private static PrintStream originalErr;
  private static volatile PrintStream routingOut;
  private static volatile PrintStream routingErr;

  private OutputCapture() {}

  /** Installs the routing streams as {@code System.out} and {@code System.err}; idempotent. */
  public static synchronized void install() {
    if (routingOut != null) {
      return;
    }
    originalOut = System.out;
    originalErr = System.err;
    PrintStream out = new PrintStream(new RoutingStream(Event.Stream.STDOUT, originalOut), true, StandardCharsets.UTF_8);
    PrintStream err = new PrintStream(new RoutingStream(Event.Stream.STDERR, originalErr), true, StandardCharsets.UTF_8);
    System.setOut(out);
    System.setErr(err);
    routingErr = err;
    routingOut = out;
  }

  /**
   * Runs {@code body} on the calling thread with its output, and that of threads it starts, going to
   * {@code sink}. Installs the routing streams if needed.
   */
  public static <T> T capture(OutputSink sink, Callable<T> body) throws Exception {
    Objects.requireNonNull(sink, "sink");
    install();
    Binding previous = BINDING.get();
    Binding binding = new Binding(sink);
    BINDING.set(binding);
    try {
      return withConsole(body);
    } finally {
      binding.close();
      if (previous == null) {
        BINDING.remove();
      } else {
        BINDING.set(previous);
      }
    }
  }

  private static <T> T withConsole(Callable<T> body) throws Exception {
    Exception[] failure = new Exception[1];
    T value = Console$.MODULE$.withOut(routingOut, () -> Console$.MODULE$.withErr(routingErr, () -> {
      try {
        return body.call();
      } catch (Exception e) {
        failure[0] = e;
        return null;
      }
    }));
    if (failure[0] != null) {
      throw failure[0];
    }
    return value;
  }

  /**
   * A sink bound to a statement's threads, with one UTF-8 decoder per stream. Pool threads created
   * during a statement keep their (inherited) binding for life: closing drops the sink so that they
   * do not keep the statement's output in memory.
   */
  private static final class Binding {
    private volatile OutputSink sink;
    private final Utf8Decoder out = new Utf8Decoder();
    private final Utf8Decoder err = new Utf8Decoder();
    private volatile boolean closed;

    Binding(OutputSink sink) {
      this.sink = sink;
    }

    /** @return false when the statement has ended and the bytes must go elsewhere */
    boolean write(Event.Stream stream, byte[] b, int off, int len) {
      OutputSink target = sink;
      if (closed || target == null) {
        return false;
      }
      Utf8Decoder decoder = stream == Event.Stream.STDOUT ? out : err;
      String text;
      synchronized (decoder) {
        text = decoder.decode(b, off, len);
      }
      if (!text.isEmpty()) {
        target.write(stream, text);
      }
      return true;
    }

    void close() {
      closed = true;
      OutputSink target = sink;
      for (Event.Stream stream : Event.Stream.values()) {
        Utf8Decoder decoder = stream == Event.Stream.STDOUT ? out : err;
        String rest;
        synchronized (decoder) {
          rest = decoder.finish();
        }
        if (!rest.isEmpty()) {
          target.write(stream, rest);
        }
      }
      sink = null;
    }
  }

  /** Decodes UTF-8 that arrives in arbitrary slices, holding back an incomplete trailing sequence. */
  static final class Utf8Decoder {
    private final byte[] pending = new byte[3];
    private int pendingLength;

    String decode(byte[] b, int off, int len) {
      byte[] buf;
      int start;
      int end;
      if (pendingLength == 0) {
        buf = b;
        start = off;
        end = off + len;
      } else {
        buf = new byte[pendingLength + len];
        System.arraycopy(pending, 0, buf, 0, pendingLength);
        System.arraycopy(b, off, buf, pendingLength, len);
        start = 0;
        end = buf.length;
        pendingLength = 0;
      }
      int complete = end - incompleteTail(buf, start, end);
      for (int i = complete; i < end; i++) {
        pending[pendingLength++] = buf[i];
      }
      return new String(buf, start, complete - start, StandardCharsets.UTF_8);
    }

    String finish() {
      String rest = new String(pending, 0, pendingLength, StandardCharsets.UTF_8);
      pendingLength = 0;
      return rest;
    }

    /** Length of a multi-byte sequence at the end of {@code buf[start, end)} that still lacks bytes. */
    private static int incompleteTail(byte[] buf, int start, int end) {
      for (int back = 1; back <= 3 && end - back >= start; back++) {
        int b = buf[end - back] & 0xFF;
        if ((b & 0xC0) == 0x80) {
          continue; // continuation byte: look further back for the lead byte
        }
        int need = (b & 0xE0) == 0xC0 ? 2 : (b & 0xF0) == 0xE0 ? 3 : (b & 0xF8) == 0xF0 ? 4 : 1;
        return need > back ? back : 0;
      }
      return 0;
    }
  }

  /** The stream behind {@code System.out} or {@code System.err}: to the bound sink, else to the original. */
  private static final class RoutingStream extends OutputStream {
    private final Event.Stream stream;
    private final PrintStream original;

    RoutingStream(Event.Stream stream, PrintStream original) {
      this.stream = stream;
      this.original = original;
    }

    @Override
    public void write(int b) {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) {
      Binding binding = BINDING.get();
      if (binding == null || !binding.write(stream, b, off, len)) {
        original.write(b, off, len);
      }
    }

    @Override
    public void flush() {
      if (BINDING.get() == null) {
        original.flush();
      }
    }
  }
}
