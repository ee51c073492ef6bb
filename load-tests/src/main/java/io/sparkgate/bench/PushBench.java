package io.sparkgate.bench;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.WebSocket;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The push benchmark: on a warm pyspark session, the time from POSTing {@code 1 + 1} to seeing it
 * complete, over SSE, over WebSocket, by long-poll, by polling every 10 ms and by polling on
 * sparkmagic's schedule (0.2, 0.5, 0.5, 1, 1, then 2 s); and many open SSE streams on one gateway:
 * its heap and the time for one statement's completion to reach all of them.
 *
 * <pre>
 * PushBench --url http://127.0.0.1:8997 --pid GATEWAY_PID [--statements 30] [--streams 10000] --out report.md
 * </pre>
 */
public final class PushBench {

  private static final Pattern STATEMENT_ID = Pattern.compile("\"id\":(\\d+),\"code\"");
  private static final double[] SPARKMAGIC = {0.2, 0.5, 0.5, 1, 1};

  private final String host;
  private final int port;
  private int session;

  private PushBench(URI url) {
    this.host = url.getHost();
    this.port = url.getPort();
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> a = new java.util.HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      a.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    PushBench b = new PushBench(URI.create(a.getOrDefault("url", "http://127.0.0.1:8997")));
    int n = Integer.parseInt(a.getOrDefault("statements", "30"));
    int streams = Integer.parseInt(a.getOrDefault("streams", "10000"));
    long pid = Long.parseLong(a.getOrDefault("pid", "0"));
    StringBuilder report = new StringBuilder("# Push benchmark, " + LocalDate.now(ZoneOffset.UTC) + "\n\n")
        .append("- one run on a shared 2-core machine (other builds and Spark drivers ran at the same time): medians and"
            + " p99 of this run, not promises\n")
        .append("- a warm pyspark session, statement `1 + 1`, ").append(n).append(" statements per way\n\n");
    b.run(n, streams, pid, report);
    Path out = Path.of(a.getOrDefault("out", "push-bench.md"));
    Files.writeString(out, report.toString());
    System.out.println(report);
  }

  private void run(int n, int streams, long pid, StringBuilder report) throws Exception {
    try (PlainHttp http = new PlainHttp(host, port)) {
      PlainHttp.Response created = http.post("/sessions", "{\"kind\":\"pyspark\",\"name\":\"push-bench\"}");
      session = Integer.parseInt(field(created.body(), "id"));
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
      while (!http.get("/sessions/" + session + "/state").body().contains("\"idle\"")) {
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("the session did not become idle");
        }
        Thread.sleep(200);
      }
      for (int i = 0; i < 5; i++) {
        pollUntilDone(http, submit(http), 0.01);
      }

      List<Long> driver = new ArrayList<>();
      report.append("| way | median (ms) | p99 (ms) |\n|---|---|---|\n");
      report.append(row("SSE (session stream open)", sse(http, n, driver)));
      report.append(row("WebSocket (submit op)", webSocket(n)));
      report.append(row("long-poll (?wait=60)", longPoll(http, n)));
      report.append(row("polling every 10 ms", polling(http, n, false)));
      report.append(row("polling on sparkmagic's schedule", polling(http, Math.min(n, 10), true)));
      Collections.sort(driver);
      report.append(String.format(Locale.ROOT, "%nTime in the driver (Sparkgate-Execution-Micros), median: %.2f ms.%n%n",
          driver.isEmpty() ? Double.NaN : driver.get(driver.size() / 2) / 1000.0));

      if (streams > 0) {
        manyStreams(http, streams, pid, report);
      }
      http.send("DELETE", "/sessions/" + session, null);
    }
  }

  private static String row(String what, List<Long> nanos) {
    Collections.sort(nanos);
    return String.format(Locale.ROOT, "| %s | %.2f | %.2f |%n", what, pct(nanos, 50) / 1e6, pct(nanos, 99) / 1e6);
  }

  private static long pct(List<Long> sorted, int p) {
    return sorted.get(Math.min(sorted.size() - 1, (int) Math.ceil(p / 100.0 * sorted.size()) - 1));
  }

  private int submit(PlainHttp http) throws IOException {
    return Integer.parseInt(field(http.post("/sessions/" + session + "/statements", "{\"code\":\"1 + 1\"}").body(), "id"));
  }

  private static String field(String json, String name) {
    Matcher m = Pattern.compile("\"" + name + "\":\"?([^,\"}]+)").matcher(json);
    if (!m.find()) {
      throw new IllegalStateException("no " + name + " in " + json);
    }
    return m.group(1);
  }

  private String statementPath(int id) {
    return "/sessions/" + session + "/statements/" + id;
  }

  private static boolean done(String json) {
    return json.contains("\"state\":\"available\"") || json.contains("\"state\":\"error\"")
        || json.contains("\"state\":\"cancelled\"");
  }

  private void pollUntilDone(PlainHttp http, int id, double interval) throws Exception {
    while (!done(http.get(statementPath(id)).body())) {
      Thread.sleep((long) (interval * 1000));
    }
  }

  /** SSE: one session stream held open; each statement's final event is awaited on it. */
  private List<Long> sse(PlainHttp http, int n, List<Long> driverMicros) throws Exception {
    Map<Integer, CompletableFuture<Long>> waiting = new ConcurrentHashMap<>();
    try (Socket s = new Socket()) {
      s.setTcpNoDelay(true);
      s.connect(new InetSocketAddress(host, port));
      OutputStream out = s.getOutputStream();
      out.write(("GET /sessions/" + session + "/events?from=999999999 HTTP/1.1\r\nHost: " + host + "\r\n"
          + "Accept: text/event-stream\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
      out.flush();
      BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
      Thread reader = new Thread(() -> {
        try {
          String line;
          while ((line = in.readLine()) != null) {
            if (line.startsWith("data: ") && done(line)) {
              Matcher m = STATEMENT_ID.matcher(line);
              if (m.find()) {
                long now = System.nanoTime();
                waiting.computeIfAbsent(Integer.parseInt(m.group(1)), k -> new CompletableFuture<>()).complete(now);
              }
            }
          }
        } catch (IOException e) {
          // closed
        }
      }, "sse-reader");
      reader.setDaemon(true);
      reader.start();
      Thread.sleep(500);
      List<Long> out2 = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        long t0 = System.nanoTime();
        int id = submit(http);
        long t1 = waiting.computeIfAbsent(id, k -> new CompletableFuture<>()).get(60, TimeUnit.SECONDS);
        out2.add(t1 - t0);
        String micros = http.get(statementPath(id)).headers().get("sparkgate-execution-micros");
        if (micros != null) {
          driverMicros.add(Long.parseLong(micros));
        }
      }
      return out2;
    }
  }

  /** WebSocket: submit over the socket, await the final statement event. */
  private List<Long> webSocket(int n) throws Exception {
    Map<Integer, CompletableFuture<Long>> done = new ConcurrentHashMap<>();
    Map<String, CompletableFuture<Integer>> answered = new ConcurrentHashMap<>();
    WebSocket ws = HttpClient.newHttpClient().newWebSocketBuilder()
        .buildAsync(URI.create("ws://" + host + ":" + port + "/sessions/" + session + "/ws?from=999999999"),
            new WebSocket.Listener() {
              private final StringBuilder text = new StringBuilder();

              @Override
              public CompletionStage<?> onText(WebSocket w, CharSequence data, boolean last) {
                text.append(data);
                if (last) {
                  String m = text.toString();
                  text.setLength(0);
                  long now = System.nanoTime();
                  Matcher id = STATEMENT_ID.matcher(m);
                  if (m.contains("\"event\":\"statement\"") && id.find()) {
                    int sid = Integer.parseInt(id.group(1));
                    if (m.contains("\"ref\":")) {
                      answered.computeIfAbsent(field(m, "ref"), k -> new CompletableFuture<>()).complete(sid);
                    }
                    if (done(m)) {
                      done.computeIfAbsent(sid, k -> new CompletableFuture<>()).complete(now);
                    }
                  }
                }
                w.request(1);
                return null;
              }
            }).get(10, TimeUnit.SECONDS);
    List<Long> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String ref = "r" + i;
      long t0 = System.nanoTime();
      ws.sendText("{\"op\":\"submit\",\"code\":\"1 + 1\",\"ref\":\"" + ref + "\"}", true).get();
      int sid = answered.computeIfAbsent(ref, k -> new CompletableFuture<>()).get(60, TimeUnit.SECONDS);
      long t1 = done.computeIfAbsent(sid, k -> new CompletableFuture<>()).get(60, TimeUnit.SECONDS);
      out.add(t1 - t0);
    }
    ws.sendClose(WebSocket.NORMAL_CLOSURE, "").get(5, TimeUnit.SECONDS);
    return out;
  }

  private List<Long> longPoll(PlainHttp http, int n) throws Exception {
    List<Long> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      long t0 = System.nanoTime();
      int id = submit(http);
      String body = http.get(statementPath(id) + "?wait=60").body();
      if (!done(body)) {
        throw new IllegalStateException("long-poll answered before the end: " + body);
      }
      out.add(System.nanoTime() - t0);
    }
    return out;
  }

  private List<Long> polling(PlainHttp http, int n, boolean sparkmagic) throws Exception {
    List<Long> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      long t0 = System.nanoTime();
      int id = submit(http);
      int k = 0;
      while (!done(http.get(statementPath(id)).body())) {
        double wait = sparkmagic ? (k < SPARKMAGIC.length ? SPARKMAGIC[k] : 2.0) : 0.01;
        k++;
        Thread.sleep((long) (wait * 1000));
      }
      out.add(System.nanoTime() - t0);
    }
    return out;
  }

  /** Many SSE streams on one session: heap, and the time for one completion to reach them all. */
  private void manyStreams(PlainHttp http, int count, long pid, StringBuilder report) throws Exception {
    String heapBefore = heap(pid);
    Selector selector = Selector.open();
    List<SocketChannel> channels = new ArrayList<>();
    byte[] request = ("GET /sessions/" + session + "/events?from=999999999 HTTP/1.1\r\nHost: " + host
        + "\r\nAccept: text/event-stream\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
    long openStart = System.nanoTime();
    for (int i = 0; i < count; i++) {
      SocketChannel ch = SocketChannel.open(new InetSocketAddress(host, port));
      ch.write(ByteBuffer.wrap(request));
      ch.configureBlocking(false);
      ch.register(selector, SelectionKey.OP_READ, new StringBuilder());
      channels.add(ch);
    }
    // Wait until every stream has its head (and the reset it gets for the id it gave).
    int open = readUntil(selector, count, "event: reset", 120);
    double openSeconds = (System.nanoTime() - openStart) / 1e9;
    System.gc();
    String heapOpen = heap(pid);
    for (SelectionKey k : selector.keys()) {
      ((StringBuilder) k.attachment()).setLength(0);
    }
    long t0 = System.nanoTime();
    submit(http);
    int reached = readUntil(selector, count, "\"state\":\"available\"", 120);
    double allMillis = (System.nanoTime() - t0) / 1e6;
    report.append("## ").append(count).append(" open SSE streams on one session\n\n")
        .append("| what | value |\n|---|---|\n")
        .append(String.format(Locale.ROOT, "| streams opened (head and first event received) | %d in %.1f s |%n", open,
            openSeconds))
        .append("| gateway heap used before | ").append(heapBefore).append(" |\n")
        .append("| gateway heap used with the streams open (after a GC) | ").append(heapOpen).append(" |\n")
        .append(String.format(Locale.ROOT, "| POST to the completion event on every stream | %.0f ms (%d of %d reached) |%n%n",
            allMillis, reached, count));
    for (SocketChannel ch : channels) {
      ch.close();
    }
    selector.close();
  }

  /** Reads every channel until {@code marker} was seen on each (or timeout); returns how many saw it. */
  private static int readUntil(Selector selector, int count, String marker, int timeoutSeconds) throws IOException {
    java.util.Set<SelectionKey> seen = new java.util.HashSet<>();
    ByteBuffer buf = ByteBuffer.allocate(64 * 1024);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    while (seen.size() < count && System.nanoTime() < deadline) {
      selector.select(1000);
      for (SelectionKey k : selector.selectedKeys()) {
        buf.clear();
        int r = ((SocketChannel) k.channel()).read(buf);
        if (r < 0) {
          k.cancel();
          continue;
        }
        StringBuilder sb = (StringBuilder) k.attachment();
        sb.append(new String(buf.array(), 0, r, StandardCharsets.UTF_8));
        if (sb.indexOf(marker) >= 0) {
          seen.add(k);
        }
        if (sb.length() > 65536) {
          sb.delete(0, sb.length() - 1024);
        }
      }
      selector.selectedKeys().clear();
    }
    return seen.size();
  }

  /** The gateway's used heap, from jcmd GC.heap_info; "unknown" without a pid. */
  private static String heap(long pid) {
    if (pid <= 0) {
      return "unknown";
    }
    try {
      Process p = new ProcessBuilder("jcmd", Long.toString(pid), "GC.heap_info").redirectErrorStream(true).start();
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      p.waitFor(30, TimeUnit.SECONDS);
      Matcher m = Pattern.compile("total (\\d+)K, used (\\d+)K").matcher(out);
      if (m.find()) {
        return String.format(Locale.ROOT, "%.0f MiB (of %.0f MiB committed)", Long.parseLong(m.group(2)) / 1024.0,
            Long.parseLong(m.group(1)) / 1024.0);
      }
      return "unknown (" + out.strip().replace('\n', ' ') + ")";
    } catch (IOException | InterruptedException e) {
      return "unknown (" + e + ")";
    }
  }
}
