package io.sparkgate.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import io.sparkgate.proto.Event;
import io.sparkgate.proto.FrameCodec;
import io.sparkgate.proto.Sequenced;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Every event the agent sends fits a frame: each fitted event is encoded by the real codec with the
 * same cap and decoded again by a peer with that cap, as the gateway would.
 */
class EventFitTest {
  private static final int CAP = 1024 * 1024;
  private static final String TWENTY_MB = "x".repeat(20 * 1024 * 1024);

  /** Encodes and decodes {@code events} through two codecs with the cap; returns what arrived. */
  private static List<Object> throughTheWire(List<Event> events) {
    EmbeddedChannel agent = new EmbeddedChannel(new FrameCodec(CAP));
    EmbeddedChannel gateway = new EmbeddedChannel(new FrameCodec(CAP));
    List<Object> received = new ArrayList<>();
    try {
      long seq = 1;
      for (Event event : events) {
        assertTrue(EventFit.fits(event, CAP), event.getClass().getSimpleName());
        agent.writeOutbound(new Sequenced(seq++, event));
        for (ByteBuf frame; (frame = agent.readOutbound()) != null; ) {
          gateway.writeInbound(frame);
        }
        for (Object msg; (msg = gateway.readInbound()) != null; ) {
          received.add(msg);
        }
      }
    } finally {
      agent.finishAndReleaseAll();
      gateway.finishAndReleaseAll();
    }
    return received;
  }

  @Test
  void anErrorWithATwentyMegabyteMessageIsCutAndMarked() {
    List<String> traceback = new ArrayList<>();
    for (int i = 0; i < 100_000; i++) {
      traceback.add("  at frame" + i + "(Somewhere.scala:" + i + ")");
    }
    Event.StatementResult error = Event.StatementResult.error(7, "java.lang.RuntimeException", TWENTY_MB, traceback);

    List<Event> fitted = EventFit.fit(error, CAP);

    assertEquals(1, fitted.size());
    Event.StatementResult cut = (Event.StatementResult) fitted.get(0);
    assertEquals(Event.Status.ERROR, cut.status());
    assertEquals("java.lang.RuntimeException", cut.ename());
    assertTrue(cut.evalue().startsWith("xxxx") && cut.evalue().endsWith(" characters cut]"), cut.evalue().substring(cut.evalue().length() - 40));
    assertTrue(cut.traceback().get(cut.traceback().size() - 1).matches("\\[\\d+ more traceback lines cut]"));
    assertEquals(List.of(new Sequenced(1, cut)), throughTheWire(fitted));
  }

  @Test
  void outputIsSplitIntoFramesAndArrivesWhole() {
    String text = "ab\uD83D\uDE00".repeat(2 * 1024 * 1024); // surrogate pairs across every possible cut
    List<Event> fitted = EventFit.fit(new Event.StatementOutput(3, Event.Stream.STDERR, text), CAP);
    assertTrue(fitted.size() > 1);
    String arrived = throughTheWire(fitted).stream()
        .map(m -> ((Event.StatementOutput) ((Sequenced) m).payload()).text())
        .collect(Collectors.joining());
    assertEquals(text, arrived);
  }

  @Test
  void aResultTooLargeForAFrameBecomesAnErrorThatSaysSo() {
    String json = "{\"application/json\":\"" + TWENTY_MB + "\"}";
    List<Event> fitted = EventFit.fit(Event.StatementResult.ok(4, json, false), CAP);
    Event.StatementResult error = (Event.StatementResult) fitted.get(0);
    assertEquals(Event.Status.ERROR, error.status());
    assertEquals("ResultTooLarge", error.ename());
    assertTrue(error.evalue().contains("more than the " + CAP + "-byte frame limit"), error.evalue());
    assertEquals(1, throughTheWire(fitted).size());
  }

  @Test
  void completionsPastTheRoomAreLeftOutAndSmallEventsAreUntouched() {
    List<String> many = new ArrayList<>();
    for (int i = 0; i < 200_000; i++) {
      many.add("candidate" + i);
    }
    Event.Completion fitted = (Event.Completion) EventFit.fit(new Event.Completion(1, many), CAP).get(0);
    assertTrue(fitted.candidates().size() < many.size() && fitted.candidates().size() > 1000);
    assertEquals(many.subList(0, fitted.candidates().size()), fitted.candidates());

    Event small = new Event.StatementOutput(1, Event.Stream.STDOUT, "hello\n");
    assertEquals(List.of(small), EventFit.fit(small, CAP));
    assertTrue(EventFit.fit(new Event.StartFailed(TWENTY_MB), CAP).get(0) instanceof Event.StartFailed f
        && f.message().endsWith("characters cut]"));
  }
}
