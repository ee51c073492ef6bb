package io.sparkgate.agent;

import io.sparkgate.proto.Event;
import io.sparkgate.proto.FrameSize;
import io.sparkgate.proto.ProtocolConstants;
import java.util.ArrayList;
import java.util.List;

/**
 * Makes every event the agent sends fit in one frame of the link. An event larger than the frame
 * cap would be refused by the encoder (or by the gateway's decoder), the connection would drop, and
 * the event, still unacknowledged, would be replayed on the next connection and refused again: the
 * link would loop and the statement would never end. So, before an event enters the outbox:
 *
 * <ul>
 *   <li>output is split into several {@link Event.StatementOutput}s;
 *   <li>an error result has its {@code ename}, {@code evalue} and traceback cut, each cut marked;
 *   <li>a successful result too large for a frame (a huge {@code %json} value) becomes an error
 *       result that says so, as Livy reports an output it cannot return;
 *   <li>completion candidates past the room are left out; start-up messages are cut.
 * </ul>
 *
 * Should an event still not fit, a statement result is replaced by a short error that gives the
 * size; any other event is dropped (and logged by the caller). Interpreters cap what they produce
 * well below the frame (see {@code ExecuteResult.Failure}); this is the last line.
 */
final class EventFit {
  /** What a cut leaves at least, so that the reader sees the start of a message. */
  private static final int MIN_KEEP_CHARS = 1024;
  /** Bytes kept free in a frame for the fixed fields and the marks. */
  private static final int SLACK_BYTES = 4096;
  /** Worst case of UTF-8 bytes per Java char (a surrogate pair is 4 bytes for 2 chars). */
  private static final int BYTES_PER_CHAR = 3;

  private EventFit() {}

  /** Whether {@code event}, numbered, fits a frame whose {@code length} field is at most {@code maxFrameLength}. */
  static boolean fits(Event event, int maxFrameLength) {
    return FrameSize.ofSequenced(event) - ProtocolConstants.LENGTH_FIELD_LENGTH <= maxFrameLength;
  }

  /**
   * {@code event} as one or more events that each fit; empty only for an event that cannot be made
   * to fit and is not a statement's result.
   */
  static List<Event> fit(Event event, int maxFrameLength) {
    if (fits(event, maxFrameLength)) {
      return List.of(event);
    }
    int budgetChars = Math.max(MIN_KEEP_CHARS, (maxFrameLength - SLACK_BYTES) / BYTES_PER_CHAR);
    List<Event> fitted = new ArrayList<>();
    if (event instanceof Event.StatementOutput out) {
      String text = out.text();
      for (int start = 0; start < text.length(); ) {
        int end = Math.min(text.length(), start + budgetChars);
        if (end < text.length() && Character.isHighSurrogate(text.charAt(end - 1))) {
          end--;
        }
        fitted.add(new Event.StatementOutput(out.statementId(), out.stream(), text.substring(start, end)));
        start = end;
      }
    } else if (event instanceof Event.StatementResult result) {
      fitted.add(fitResult(result, maxFrameLength, budgetChars));
    } else if (event instanceof Event.Completion completion) {
      List<String> kept = new ArrayList<>();
      long room = budgetChars;
      for (String candidate : completion.candidates()) {
        room -= candidate.length() + 2;
        if (room < 0) {
          break;
        }
        kept.add(candidate);
      }
      fitted.add(new Event.Completion(completion.requestId(), kept));
    } else if (event instanceof Event.StartFailed failed) {
      fitted.add(new Event.StartFailed(cut(failed.message(), budgetChars)));
    } else if (event instanceof Event.Ready ready) {
      fitted.add(new Event.Ready(cut(ready.appId(), budgetChars / 2), cut(ready.sparkUiUrl(), budgetChars / 2)));
    }
    fitted.removeIf(e -> !fits(e, maxFrameLength) && !(e instanceof Event.StatementResult));
    return fitted;
  }

  private static Event.StatementResult fitResult(Event.StatementResult result, int maxFrameLength, int budgetChars) {
    Event.StatementResult fitted;
    if (result.status() == Event.Status.ERROR) {
      // Half the room for the message, a quarter for the traceback.
      List<String> traceback = new ArrayList<>();
      long room = budgetChars / 4;
      int left = result.traceback().size();
      for (String line : result.traceback()) {
        String kept = cut(line, MIN_KEEP_CHARS * 4);
        room -= kept.length();
        if (room < 0) {
          break;
        }
        traceback.add(kept);
        left--;
      }
      if (left > 0) {
        traceback.add("[" + left + " more traceback lines cut]");
      }
      fitted = new Event.StatementResult(result.statementId(), Event.Status.ERROR, "",
          cut(result.ename(), MIN_KEEP_CHARS), cut(result.evalue(), budgetChars / 2), traceback, true,
          result.executionMicros());
    } else {
      long bytes = FrameSize.ofSequenced(result);
      fitted = new Event.StatementResult(result.statementId(), Event.Status.ERROR, "", "ResultTooLarge",
          "the statement's result is " + bytes + " bytes, more than the " + maxFrameLength
              + "-byte frame limit of the link to the gateway", List.of(), true, result.executionMicros());
    }
    if (fits(fitted, maxFrameLength)) {
      return fitted;
    }
    return new Event.StatementResult(result.statementId(), Event.Status.ERROR, "", "ResultTooLarge",
        "the statement's result (" + FrameSize.ofSequenced(result) + " bytes) could not be cut to fit the "
            + maxFrameLength + "-byte frame limit", List.of(), true, result.executionMicros());
  }

  /** {@code text} cut to about {@code maxChars}, with a mark saying how much was cut; never splits a surrogate pair. */
  static String cut(String text, int maxChars) {
    if (text.length() <= maxChars) {
      return text;
    }
    int end = maxChars;
    if (Character.isHighSurrogate(text.charAt(end - 1))) {
      end--;
    }
    return text.substring(0, end) + " [" + (text.length() - end) + " characters cut]";
  }
}
