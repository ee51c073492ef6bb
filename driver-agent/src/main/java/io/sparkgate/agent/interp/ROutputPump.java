package io.sparkgate.agent.interp;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * Reads one of the R process's output streams (stdout or stderr) to its end: decodes it as UTF-8
 * (malformed bytes become U+FFFD) and hands the text on as it arrives, and recognises the marker
 * the R REPL writes when a statement's output is complete.
 *
 * <p>The marker starts with a byte ({@code 0x01}) that occurs nowhere else in it, so a simple
 * prefix match finds it across reads; bytes held as a possible marker start are handed on as text
 * when the match fails. Memory is bounded by the read buffer.
 */
final class ROutputPump implements Runnable {
  private static final int READ_BYTES = 8192;

  /** Receives what the pump reads, on the pump's thread. */
  interface Listener {
    /** Text from the stream, in order. */
    void text(String text);

    /** The marker: everything the statement wrote to this stream has been handed on. */
    void marker();

    /** The stream ended (the process exited or closed it). */
    void ended(IOException failure);
  }

  private final InputStream in;
  private final byte[] marker;
  private final Listener listener;
  private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
      .onMalformedInput(CodingErrorAction.REPLACE)
      .onUnmappableCharacter(CodingErrorAction.REPLACE);
  private final ByteBuffer pending;
  private final CharBuffer chars;
  private int matched;

  ROutputPump(InputStream in, byte[] marker, Listener listener) {
    this.in = Objects.requireNonNull(in, "in");
    if (marker.length < 2 || marker[0] != 0x01) {
      throw new IllegalArgumentException("the marker must start with 0x01");
    }
    for (int i = 1; i < marker.length; i++) {
      if (marker[i] == 0x01) {
        throw new IllegalArgumentException("0x01 may only start the marker");
      }
    }
    this.marker = marker.clone();
    this.listener = Objects.requireNonNull(listener, "listener");
    // One read plus a held marker prefix plus an incomplete UTF-8 sequence.
    this.pending = ByteBuffer.allocate(READ_BYTES + marker.length + 8);
    this.chars = CharBuffer.allocate(pending.capacity());
  }

  @Override
  public void run() {
    byte[] buffer = new byte[READ_BYTES];
    IOException failure = null;
    try {
      for (int n; (n = in.read(buffer)) >= 0; ) {
        scan(buffer, n);
      }
    } catch (IOException e) {
      failure = e;
    }
    if (matched > 0) {
      pending.put(marker, 0, matched);
      matched = 0;
    }
    decode(true);
    listener.ended(failure);
  }

  private void scan(byte[] buffer, int n) {
    for (int i = 0; i < n; i++) {
      byte b = buffer[i];
      if (b == marker[matched]) {
        if (++matched == marker.length) {
          matched = 0;
          decode(true);
          listener.marker();
        }
        continue;
      }
      if (matched > 0) {
        pending.put(marker, 0, matched); // not the marker after all: those bytes are text
        matched = 0;
        if (b == marker[0]) {
          matched = 1;
          continue;
        }
      }
      pending.put(b);
    }
    decode(false);
  }

  /** Hands on the text decoded so far; at the end of input, also an incomplete trailing sequence. */
  private void decode(boolean endOfInput) {
    pending.flip();
    decoder.decode(pending, chars, endOfInput);
    if (endOfInput) {
      decoder.flush(chars);
      decoder.reset();
    }
    pending.compact();
    if (chars.position() > 0) {
      chars.flip();
      String text = chars.toString();
      chars.clear();
      listener.text(text);
    }
  }
}
