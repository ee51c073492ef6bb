package io.sparkgate.agent.interp;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class OutputCaptureTest {

  @Test
  void capturesTheStatementThreadAndThreadsItStartsOnly() throws Exception {
    CountDownLatch capturing = new CountDownLatch(1);
    CountDownLatch printed = new CountDownLatch(1);
    Thread bystander = new Thread(() -> {
      try {
        capturing.await();
        System.out.println("bystander");
        printed.countDown();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    });
    bystander.start();
    CapturedOutput output = new CapturedOutput(1024);
    OutputCapture.capture(output, () -> {
      capturing.countDown();
      printed.await(10, TimeUnit.SECONDS);
      System.out.println("out");
      System.err.println("err");
      scala.Console$.MODULE$.println("console");
      Thread child = new Thread(() -> System.out.println("child"));
      child.start();
      child.join();
      return null;
    });
    bystander.join();
    assertEquals("out\nerr\nconsole\nchild\n", output.text());
  }

  @Test
  void aThreadThatOutlivesTheStatementNoLongerWritesToIt() throws Exception {
    CapturedOutput output = new CapturedOutput(1024);
    CountDownLatch ended = new CountDownLatch(1);
    Thread[] lingering = new Thread[1];
    OutputCapture.capture(output, () -> {
      lingering[0] = new Thread(() -> {
        System.out.println("during");
        try {
          ended.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        System.out.println("after");
        scala.Console$.MODULE$.println("after, via Console");
      });
      lingering[0].start();
      Thread.sleep(100);
      return null;
    });
    ended.countDown();
    lingering[0].join();
    assertEquals("during\n", output.text());
  }

  @Test
  void multiByteCharactersSplitAcrossWritesArriveWhole() throws Exception {
    CapturedOutput output = new CapturedOutput(1024);
    byte[] euro = "\u20ac!".getBytes(StandardCharsets.UTF_8);
    OutputCapture.capture(output, () -> {
      for (byte b : euro) {
        System.out.write(b);
      }
      System.out.flush();
      return null;
    });
    assertEquals("\u20ac!", output.text());
  }
}
