package io.sparkgate.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The soak harness: keeps a gateway busy for a long time the way a mixed crowd of users does and
 * reports whether it stays healthy. Each of {@code --sessions} workers loops: create a session (its
 * kind rotating through pyspark, spark and sql), run a mix of statements on it (each result checked:
 * arithmetic, printed lines, a SQL row, an error raised on purpose), start a long statement and
 * cancel it, read the session, its log and its statements list, then delete the session and start
 * over. Every minute the gateway's heap after a full GC is sampled with jcmd, with the number of
 * processes it has started.
 *
 * <p>At the end it waits for the deleted sessions' drivers to exit and reports: requests and
 * statements done, every error (an unexpected status, state or output), the heap series, and the
 * processes left behind. Runs for {@code --minutes}; can run for hours (memory use of the harness is
 * constant). Use {@code load-tests/soak}, which starts the gateway.
 */
public final class Soak {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String[] KINDS = {"pyspark", "spark", "sql"};

  private final String url;
  private final long gatewayPid;
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(10)).build();
  private final AtomicLong requests = new AtomicLong();
  private final AtomicLong statements = new AtomicLong();
  private final AtomicLong cancels = new AtomicLong();
  private final AtomicLong sessionsDone = new AtomicLong();
  /** Errors by kind, with the first example of each (bounded: a long run repeats the same few). */
  private final Map<String, AtomicLong> errors = new ConcurrentHashMap<>();
  private final Map<String, String> firstExample = new ConcurrentHashMap<>();
  private final List<String> heapSeries = Collections.synchronizedList(new ArrayList<>());
  private volatile boolean stopping;

  private Soak(String url, long gatewayPid) {
    this.url = url;
    this.gatewayPid = gatewayPid;
  }

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = new LinkedHashMap<>();
    for (int i = 0; i + 1 < argv.length; i += 2) {
      args.put(argv[i].replaceFirst("^--", ""), argv[i + 1]);
    }
    Soak soak = new Soak(args.getOrDefault("url", "http://127.0.0.1:8998"),
        Long.parseLong(args.getOrDefault("gateway-pid", "0")));
    int minutes = Integer.parseInt(args.getOrDefault("minutes", "15"));
    int workers = Integer.parseInt(args.getOrDefault("sessions", "2"));
    Path out = Path.of(args.getOrDefault("out", "load-tests/reports/soak.md"));
    System.exit(soak.run(minutes, workers, out, args.getOrDefault("note", "")) ? 0 : 1);
  }

  private boolean run(int minutes, int workers, Path out, String note) throws Exception {
    Instant start = Instant.now();
    long deadline = System.nanoTime() + Duration.ofMinutes(minutes).toNanos();
    List<Thread> threads = new ArrayList<>();
    for (int w = 0; w < workers; w++) {
      int worker = w;
      Thread t = new Thread(() -> workerLoop(worker, deadline), "soak-" + w);
      t.start();
      threads.add(t);
    }
    sampleHeap(0);
    int minute = 0;
    while (System.nanoTime() < deadline) {
      Thread.sleep(Math.min(60_000, Math.max(1, (deadline - System.nanoTime()) / 1_000_000)));
      sampleHeap(++minute);
      System.out.printf("soak: minute %d, %d sessions, %d statements, %d cancels, %d errors%n", minute,
          sessionsDone.get(), statements.get(), cancels.get(), errors.values().stream().mapToLong(AtomicLong::get).sum());
    }
    stopping = true;
    for (Thread t : threads) {
      t.join(Duration.ofMinutes(5).toMillis());
    }
    // Deleted sessions' drivers get the stop grace twice to exit.
    int left = -1;
    for (int i = 0; i < 60 && left != 0; i++) {
      left = driversOfGateway();
      Thread.sleep(1_000);
    }
    sampleHeap(minute + 1);
    write(out, start, minutes, workers, left, note);
    return errors.isEmpty() && left == 0;
  }

  // --- One worker ---------------------------------------------------------------------------------

  private void workerLoop(int worker, long deadline) {
    int round = 0;
    while (!stopping && System.nanoTime() < deadline) {
      String kind = KINDS[(worker + round++) % KINDS.length];
      try {
        session(kind, deadline);
        sessionsDone.incrementAndGet();
      } catch (Exception e) {
        error("exception: " + e.getClass().getSimpleName(), kind + ": " + e.getMessage());
        sleep(5_000);
      }
    }
  }

  private void session(String kind, long deadline) throws Exception {
    JsonNode created = call("POST", "/sessions", "{\"kind\":\"" + kind + "\",\"conf\":{\"spark.ui.enabled\":\"false\"}}", 201);
    int id = created.get("id").asInt();
    try {
      if (!awaitSession(id, "idle", Duration.ofMinutes(11))) {
        return;
      }
      // A handful of statements per session; the session is deleted afterwards, so drivers churn.
      int n = 6 + ThreadLocalRandom.current().nextInt(6);
      for (int i = 0; i < n && !stopping && System.nanoTime() < deadline; i++) {
        if (i == n / 2) {
          cancelOne(id, kind);
        } else {
          statement(id, kind, i);
        }
        call("GET", "/sessions/" + id, null, 200);
        call("GET", "/sessions/" + id + "/statements", null, 200);
        call("GET", "/sessions/" + id + "/log?size=50", null, 200);
      }
    } finally {
      call("DELETE", "/sessions/" + id, null, 200);
    }
  }

  private void statement(int id, String kind, int i) throws Exception {
    int a = ThreadLocalRandom.current().nextInt(1000);
    String code;
    String expect;
    boolean expectError = i % 5 == 4;
    switch (kind) {
      case "pyspark" -> {
        code = expectError ? "raise ValueError('soak %d')".formatted(a)
            : "for j in range(3):\n    print('soak', j)\nprint(sc.parallelize(range(%d + 1)).sum())".formatted(a);
        expect = expectError ? "soak " + a : "soak 2\n" + (a * (a + 1) / 2);
      }
      case "spark" -> {
        code = expectError ? "throw new RuntimeException(\"soak %d\")".formatted(a)
            : "println(\"soak\")\nsc.parallelize(0 to %d).map(_.toLong).sum().toLong".formatted(a);
        expect = expectError ? "soak " + a : "= " + ((long) a * (a + 1) / 2);
      }
      default -> {
        code = expectError ? "SELECT * FROM no_such_table_%d".formatted(a) : "SELECT %d + 1 AS n".formatted(a);
        expect = expectError ? "no_such_table_" + a : String.valueOf(a + 1);
      }
    }
    JsonNode st = run(id, code);
    if (st == null) {
      return;
    }
    statements.incrementAndGet();
    JsonNode output = st.get("output");
    boolean isError = output != null && "error".equals(output.path("status").asText());
    String text = output == null ? "" : isError ? output.path("ename").asText() + ": " + output.path("evalue").asText()
        : output.path("data").has("text/plain") ? output.path("data").path("text/plain").asText()
        : output.path("data").toString();
    if (!"available".equals(st.path("state").asText()) || isError != expectError || !text.contains(expect)) {
      error("wrong result (" + kind + ")", "expected " + (expectError ? "an error with " : "") + expect + ", got " + st);
    }
  }

  private void cancelOne(int id, String kind) throws Exception {
    String code = switch (kind) {
      case "pyspark" -> "import time\ntime.sleep(60)";
      case "spark" -> "Thread.sleep(60000)";
      default -> "SELECT count(*) FROM range(100000000000)";
    };
    JsonNode st = call("POST", "/sessions/" + id + "/statements", json("code", code), 201);
    int sid = st.get("id").asInt();
    // Cancel while it waits or runs; both must end cancelled.
    sleep(ThreadLocalRandom.current().nextInt(500, 3_000));
    call("POST", "/sessions/" + id + "/statements/" + sid + "/cancel", "{}", 200);
    JsonNode ended = awaitStatement(id, sid, Duration.ofMinutes(3));
    if (ended == null) {
      return;
    }
    cancels.incrementAndGet();
    if (!"cancelled".equals(ended.path("state").asText())) {
      error("cancel did not end cancelled (" + kind + ")", ended.toString());
    }
    awaitSession(id, "idle", Duration.ofMinutes(2));
  }

  private JsonNode run(int id, String code) throws Exception {
    JsonNode st = call("POST", "/sessions/" + id + "/statements", json("code", code), 201);
    return awaitStatement(id, st.get("id").asInt(), Duration.ofMinutes(3));
  }

  private JsonNode awaitStatement(int id, int sid, Duration timeout) throws Exception {
    long end = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < end) {
      JsonNode st = call("GET", "/sessions/" + id + "/statements/" + sid, null, 200);
      String state = st.path("state").asText();
      if (state.equals("available") || state.equals("error") || state.equals("cancelled")) {
        return st;
      }
      sleep(100);
    }
    error("statement did not end in " + timeout.toSeconds() + " s", "session " + id + " statement " + sid);
    return null;
  }

  private boolean awaitSession(int id, String state, Duration timeout) throws Exception {
    long end = System.nanoTime() + timeout.toNanos();
    String now = "";
    while (System.nanoTime() < end) {
      now = call("GET", "/sessions/" + id + "/state", null, 200).path("state").asText();
      if (now.equals(state)) {
        return true;
      }
      if (List.of("error", "dead", "killed", "success").contains(now)) {
        break;
      }
      sleep(200);
    }
    error("session not " + state, "session " + id + " is " + now);
    return false;
  }

  // --- HTTP ---------------------------------------------------------------------------------------

  private JsonNode call(String method, String path, String body, int expected) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + path)).timeout(Duration.ofSeconds(60));
    if (body != null) {
      b.header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body));
    } else {
      b.method(method, HttpRequest.BodyPublishers.noBody());
    }
    requests.incrementAndGet();
    HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != expected) {
      error("HTTP " + r.statusCode() + " for " + method + " " + path.replaceAll("\\d+", "N"), r.body());
      throw new IllegalStateException(method + " " + path + " answered " + r.statusCode());
    }
    return r.body().isEmpty() ? JSON.createObjectNode() : JSON.readTree(r.body());
  }

  private static String json(String field, String value) {
    ObjectNode o = JSON.createObjectNode();
    o.put(field, value);
    return o.toString();
  }

  private void error(String kind, String example) {
    errors.computeIfAbsent(kind, k -> new AtomicLong()).incrementAndGet();
    firstExample.putIfAbsent(kind, example.length() > 500 ? example.substring(0, 500) + "..." : example);
    System.out.println("soak: error: " + kind + ": " + example);
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  // --- The gateway process --------------------------------------------------------------------------

  /** Heap used after a full GC (all generations), in KB, from jcmd; with the drivers the gateway runs. */
  private void sampleHeap(int minute) {
    if (gatewayPid <= 0) {
      return;
    }
    try {
      exec("jcmd", Long.toString(gatewayPid), "GC.run");
      String info = exec("jcmd", Long.toString(gatewayPid), "GC.heap_info");
      // Every generation's "total NK, used NK" (young and old; metaspace is reported otherwise).
      Matcher m = Pattern.compile("total (\\d+)K, used (\\d+)K").matcher(info);
      long sum = 0;
      boolean found = false;
      while (m.find()) {
        sum += Long.parseLong(m.group(2));
        found = true;
      }
      String used = found ? Long.toString(sum) : "?";
      heapSeries.add(String.format("| %d | %s | %d | %d | %d |", minute, used, driversOfGateway(),
          statements.get(), sessionsDone.get()));
    } catch (Exception e) {
      heapSeries.add("| " + minute + " | (jcmd failed: " + e.getMessage() + ") | | | |");
    }
  }

  /** Live processes the gateway started (spark-submit and the drivers below it). */
  private int driversOfGateway() {
    return ProcessHandle.of(gatewayPid).map(p -> (int) p.descendants().filter(ProcessHandle::isAlive).count()).orElse(0);
  }

  private static String exec(String... command) throws Exception {
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    p.waitFor();
    return out;
  }

  private void write(Path out, Instant start, int minutes, int workers, int left, String note) throws Exception {
    StringBuilder r = new StringBuilder();
    r.append("# Sparkgate soak report\n\n")
        .append("- started: ").append(start).append(", ran ").append(minutes).append(" minutes with ")
        .append(workers).append(" concurrent session loops\n")
        .append("- machine: ").append(Runtime.getRuntime().availableProcessors()).append(" cores, Java ")
        .append(System.getProperty("java.version")).append(note.isEmpty() ? "" : "; " + note).append('\n')
        .append("- done: ").append(sessionsDone.get()).append(" sessions created, used and deleted; ")
        .append(statements.get()).append(" statements checked; ").append(cancels.get()).append(" cancels; ")
        .append(requests.get()).append(" requests\n")
        .append("- errors: ").append(errors.isEmpty() ? "none" : errors.toString()).append('\n')
        .append("- processes the gateway left running after every session was deleted: ").append(left).append("\n\n");
    for (Map.Entry<String, String> e : firstExample.entrySet()) {
      r.append("  - first ").append(e.getKey()).append(": `").append(e.getValue().replace('`', '\'')).append("`\n");
    }
    r.append("\n## Heap after a full GC, each minute\n\n")
        .append("| minute | heap used (KB) | processes of the gateway | statements | sessions |\n|---|---|---|---|---|\n");
    for (String row : heapSeries) {
      r.append(row).append('\n');
    }
    Files.createDirectories(out.toAbsolutePath().getParent());
    Files.writeString(out, r.toString());
    System.out.println(r);
  }
}
