package io.sparkgate.agent.interp;

import io.sparkgate.proto.Event;
import java.io.PrintWriter;
import java.io.Writer;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.reflect.internal.util.CodeAction;
import scala.reflect.internal.util.Position;
import scala.reflect.internal.Reporter;
import scala.tools.nsc.Settings;
import scala.tools.nsc.interpreter.shell.ReplReporterImpl;
import scala.util.Either;

/**
 * The REPL's reporter, adapted to statements that are not typed at a console.
 *
 * <ul>
 *   <li>Result lines ({@code val res0: Int = 2}) go to the current statement's sink, formatted by
 *       the REPL itself (unmangled, long values cut at the REPL's 800 characters).
 *   <li>Errors are kept, rendered as {@code <console>:LINE: error: MESSAGE} followed by the source
 *       line and a caret (the 2.13 console format leaves the line out, since a console user has just
 *       typed it), for the statement's error result.
 *   <li>Warnings with a position go to the sink in the same format. Summaries without a position
 *       ({@code 1 deprecation; for details, enable :setting ...}) are left out: they point at
 *       console commands a Sparkgate user does not have.
 *   <li>A runtime failure (the REPL's stack trace text) is kept, not printed.
 * </ul>
 *
 * <p>With no statement bound (start-up, binding {@code spark}), everything is discarded.
 */
final class StatementReporter extends ReplReporterImpl {
  private static final Logger log = LoggerFactory.getLogger(StatementReporter.class);
  private static final String SUMMARY_MARK = " <sparkgate: warning summary>";

  private final SinkWriter writer;
  private final List<String> errors = new ArrayList<>();
  private String runtimeFailure;

  private StatementReporter(Settings settings, SinkWriter writer) {
    super(settings, new PrintWriter(writer, true));
    this.writer = writer;
  }

  static StatementReporter create(Settings settings) {
    return new StatementReporter(settings, new SinkWriter());
  }

  /** Starts a statement: results and warnings go to {@code sink}; errors are forgotten. */
  void begin(OutputSink sink) {
    errors.clear();
    runtimeFailure = null;
    writer.sink = sink;
  }

  /** Ends the statement: output is discarded again. */
  void end() {
    flush();
    writer.sink = null;
  }

  /** Compile errors of the current statement, each rendered on one or more lines. */
  List<String> errors() {
    return List.copyOf(errors);
  }

  /** The stack trace text of the current statement's exception, or null. */
  String runtimeFailure() {
    return runtimeFailure;
  }

  @Override
  public void doReport(Position pos, String msg, Reporter.Severity severity, scala.collection.immutable.List<CodeAction> actions) {
    if (msg.contains(SUMMARY_MARK)) {
      log.debug("REPL warning summary left out: {}", msg.replace(SUMMARY_MARK, ""));
      return;
    }
    String message = unwrap(msg);
    switch (severity.id()) {
      case 2 -> errors.add(render(pos, "error", message));
      case 1 -> printMessage(render(pos, "warning", message));
      default -> log.debug("REPL info: {}", message);
    }
  }

  @Override
  public String rerunWithDetails(scala.reflect.internal.settings.MutableSettings.SettingValue setting, String name) {
    return SUMMARY_MARK;
  }

  @Override
  public void printResult(Either<String, String> result) {
    if (result.isLeft()) {
      if (runtimeFailure == null) {
        runtimeFailure = unwrap(result.swap().getOrElse(() -> ""));
      }
    } else {
      super.printResult(result);
    }
  }

  private static String render(Position pos, String label, String message) {
    StringBuilder text = new StringBuilder();
    if (pos != null && pos.isDefined()) {
      text.append(pos.source().file().name()).append(':').append(pos.line()).append(": ");
    }
    text.append(label).append(": ").append(message);
    if (pos != null && pos.isDefined()) {
      text.append('\n').append(pos.lineContent()).append('\n').append(pos.lineCaret());
    }
    return text.toString();
  }

  /** The reporter's output, to the current statement's sink as standard output, or nowhere. */
  private static final class SinkWriter extends Writer {
    volatile OutputSink sink;

    @Override
    public void write(char[] cbuf, int off, int len) {
      OutputSink target = sink;
      if (target != null && len > 0) {
        target.write(Event.Stream.STDOUT, new String(cbuf, off, len));
      }
    }

    @Override
    public void write(String str, int off, int len) {
      OutputSink target = sink;
      if (target != null && len > 0) {
        target.write(Event.Stream.STDOUT, str.substring(off, off + len));
      }
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}
  }
}
