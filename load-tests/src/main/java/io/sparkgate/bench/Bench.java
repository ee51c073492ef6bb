package io.sparkgate.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Measures a running gateway the way its users meet it and writes a Markdown report:
 *
 * <ol>
 *   <li>cold session start, POST /sessions to {@code idle}, against a bare spark-submit of
 *       {@link TrivialApp} on the same Spark;
 *   <li>trivial statements over a warm session, POST to {@code available} as a polling client sees
 *       it, split into time inside the driver (measured by the agent) and time in the gateway and
 *       protocol (the rest);
 *   <li>statement GETs per second and their latency under load, with wrk;
 *   <li>the gateway's heap after all of it.
 * </ol>
 *
 * <p>Shared, noisy machines: the report gives medians and ratios from one run, not absolute promises.
 * Run it with {@code load-tests/bench}, which starts the gateway and passes the arguments.
 */
public final class Bench {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final String url;
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(5)).build();
  private final Map<String, String> args;
  private final StringBuilder report = new StringBuilder();
  /** Client poll period while waiting for a statement: bounds the wait the client itself adds. */
  private final long pollNanos;

  private Bench(Map<String, String> args) {
    this.args = args;
    this.url = args.getOrDefault("url", "http://127.0.0.1:8998");
    this.pollNanos = TimeUnit.MICROSECONDS.toNanos(Long.parseLong(args.getOrDefault("poll-micros", "1000")));
  }

  public static void main(String[] argv) throws Exception {
    Map<String, String> args = new LinkedHashMap<>();
    for (int i = 0; i + 1 < argv.length; i += 2) {
      args.put(argv[i].replaceFirst("^--", ""), argv[i + 1]);
    }
    new Bench(args).run();
  }

  private void run() throws Exception {
    int starts = Integer.parseInt(args.getOrDefault("starts", "3"));
    int statements = Integer.parseInt(args.getOrDefault("statements", "200"));
    int warmup = Integer.parseInt(args.getOrDefault("warmup", "20"));
    List<String> kinds = Arrays.asList(args.getOrDefault("kinds", "spark,pyspark,sql").split(","));
    Path out = Path.of(args.getOrDefault("out", "load-tests/reports/bench.md"));

    report.append("# Sparkgate benchmark report\n\n")
        .append("- date: ").append(Instant.now()).append('\n')
        .append("- machine: ").append(Runtime.getRuntime().availableProcessors()).append(" cores, ")
        .append(System.getProperty("os.name")).append(", Java ").append(System.getProperty("java.version")).append('\n')
        .append("- gateway: ").append(url).append(", Spark ").append(args.getOrDefault("spark-version", "?"))
        .append(", master ").append(args.getOrDefault("master", "local[*]")).append('\n')
        .append("- one run; medians and ratios, as the machine is shared and noisy\n\n");

    if (starts > 0) {
      sessionStart(starts);
    }
    for (String kind : kinds) {
      statementLatency(kind, statements, warmup);
    }
    getThroughput();
    heap();

    Files.createDirectories(out.toAbsolutePath().getParent());
    Files.writeString(out, report.toString());
    System.out.println(report);
    System.out.println("report written to " + out);
  }

  // --- 1. session start -------------------------------------------------------------------------

  private void sessionStart(int runs) throws Exception {
    String sparkSubmit = args.get("spark-submit");
    String jar = args.get("jar");
    List<Double> bare = new ArrayList<>();
    List<Double> session = new ArrayList<>();
    for (int i = 0; i < runs; i++) {
      // Interleaved, so that drift of the machine's load hits both alike.
      long t0 = System.nanoTime();
      Process p = new ProcessBuilder(sparkSubmit, "--master", args.getOrDefault("master", "local[*]"),
          "--class", TrivialApp.class.getName(), jar)
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      if (p.waitFor() != 0) {
        throw new IllegalStateException("the bare spark-submit failed with exit code " + p.exitValue());
      }
      bare.add(seconds(System.nanoTime() - t0));

      t0 = System.nanoTime();
      int id = createSession("spark");
      waitForSessionState(id, "idle", 300);
      session.add(seconds(System.nanoTime() - t0));
      deleteSession(id);
    }
    double bareMedian = median(bare);
    double sessionMedian = median(session);
    report.append("## Cold session start\n\n")
        .append("| what | runs | median (s) | all runs (s) |\n|---|---|---|---|\n")
        .append(row("bare spark-submit of a trivial app (build SparkSession, count 1 row, stop)", bare))
        .append(row("spark session: POST /sessions to state idle", session))
        .append('\n')
        .append(String.format(Locale.ROOT, "Ratio session start / bare spark-submit: **%.2f x** (target 1.1 x; Livy 1.8 x)%n%n",
            sessionMedian / bareMedian));
  }

  private static String row(String what, List<Double> values) {
    StringBuilder all = new StringBuilder();
    for (double v : values) {
      all.append(all.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "%.2f", v));
    }
    return String.format(Locale.ROOT, "| %s | %d | %.2f | %s |%n", what, values.size(), median(values), all);
  }

  // --- 2. statement latency ---------------------------------------------------------------------

  private void statementLatency(String kind, int count, int warmup) throws Exception {
    String code = switch (kind) {
      case "spark", "pyspark" -> "1 + 1";
      case "sql" -> "select 1";
      default -> throw new IllegalArgumentException("no trivial statement for kind " + kind);
    };
    int id = createSession(kind);
    waitForSessionState(id, "idle", 300);
    URI base = URI.create(url);
    PlainHttp http1 = new PlainHttp(base.getHost(), base.getPort());
    for (int i = 0; i < warmup; i++) {
      runStatement(http1, id, code);
    }
    long[] total = new long[count];
    long[] driver = new long[count];
    long[] gateway = new long[count];
    long[] added = new long[count];
    long[] client = new long[count];
    for (int i = 0; i < count; i++) {
      long[] r = runStatement(http1, id, code);
      total[i] = r[0];
      driver[i] = r[1];
      gateway[i] = r[2];
      added[i] = total[i] - driver[i];
      client[i] = total[i] - driver[i] - gateway[i];
    }
    http1.close();
    deleteSession(id);
    report.append("## Trivial statement latency, kind `").append(kind).append("` (`").append(code).append("`)\n\n")
        .append(String.format(Locale.ROOT, "%d statements after %d warm-up ones, one at a time over one warm session; "
            + "a blocking HTTP/1.1 client on one keep-alive connection (as `requests` or curl) POSTs, then polls "
            + "every %d µs.%n%n", count, warmup, TimeUnit.NANOSECONDS.toMicros(pollNanos)))
        .append("| part | median (ms) | p99 (ms) |\n|---|---|---|\n")
        .append(latencyRow("POST to `available`, as the polling client sees it", total))
        .append(latencyRow("inside the driver (measured by the agent)", driver))
        .append(latencyRow("**added to the driver's time, as the client sees it** (first row less the second)", added))
        .append(latencyRow("of which gateway, protocol and agent hand-offs (measured by the gateway)", gateway))
        .append(latencyRow("of which the client's HTTP round trips and poll wait (the rest)", client))
        .append('\n');
  }

  private static String latencyRow(String what, long[] micros) {
    long[] sorted = micros.clone();
    Arrays.sort(sorted);
    return String.format(Locale.ROOT, "| %s | %.3f | %.3f |%n", what,
        percentile(sorted, 50) / 1000.0, percentile(sorted, 99) / 1000.0);
  }

  /** Runs one statement; returns {total, driver, gateway} micros. */
  private long[] runStatement(PlainHttp client, int sessionId, String code) throws Exception {
    String body = JSON.writeValueAsString(Map.of("code", code));
    long t0 = System.nanoTime();
    PlainHttp.Response created = client.post("/sessions/" + sessionId + "/statements", body);
    if (created.status() != 201) {
      throw new IllegalStateException("POST statement answered " + created.status() + ": " + created.body());
    }
    String location = created.headers().get("location");
    while (true) {
      PlainHttp.Response r = client.get(location);
      long now = System.nanoTime();
      JsonNode statement = JSON.readTree(r.body());
      String state = statement.path("state").asText();
      if (state.equals("available")) {
        long total = TimeUnit.NANOSECONDS.toMicros(now - t0);
        if (!"ok".equals(statement.path("output").path("status").asText())) {
          throw new IllegalStateException("statement failed: " + r.body());
        }
        String driver = r.headers().get("sparkgate-execution-micros");
        String gateway = r.headers().get("sparkgate-gateway-micros");
        if (driver == null || gateway == null) {
          throw new IllegalStateException("the gateway did not report the driver and gateway times");
        }
        return new long[] {total, Long.parseLong(driver), Long.parseLong(gateway)};
      }
      if (state.equals("error") || state.equals("cancelled")) {
        throw new IllegalStateException("statement ended " + state + ": " + r.body());
      }
      LockSupport.parkNanos(pollNanos);
    }
  }

  // --- 3. GET throughput ------------------------------------------------------------------------

  private void getThroughput() throws Exception {
    String wrk = args.get("wrk");
    if ("0".equals(args.get("get-seconds"))) {
      return;
    }
    if (wrk == null) {
      report.append("## Statement GETs\n\nNot measured: wrk was not given (--wrk).\n\n");
      return;
    }
    int id = createSession("sql");
    waitForSessionState(id, "idle", 300);
    URI base = URI.create(url);
    try (PlainHttp client = new PlainHttp(base.getHost(), base.getPort())) {
      runStatement(client, id, "select 1");
    }
    String target = url + "/sessions/" + id + "/statements/0";
    String duration = args.getOrDefault("get-seconds", "15");
    String connections = args.getOrDefault("connections", "32");
    Process p = new ProcessBuilder(wrk, "-t1", "-c" + connections, "-d" + duration + "s", "--latency", target)
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor();
    deleteSession(id);
    report.append("## Statement GETs under load\n\n")
        .append(String.format(Locale.ROOT, "wrk, 1 thread, %s connections, %s s, `GET /sessions/{id}/statements/0` "
            + "(an `available` statement), on the same 2-core machine as the gateway.%n%n", connections, duration))
        .append("| requests/s | p50 | p90 | p99 |\n|---|---|---|---|\n")
        .append("| ").append(find(out, "Requests/sec:\\s+(\\S+)")).append(" | ")
        .append(find(out, "\\s50%\\s+(\\S+)")).append(" | ")
        .append(find(out, "\\s90%\\s+(\\S+)")).append(" | ")
        .append(find(out, "\\s99%\\s+(\\S+)")).append(" |\n\n")
        .append("Target: 20k requests/s or more with p99 under 5 ms (Livy: 7k).\n\n")
        .append("<details><summary>wrk output</summary>\n\n```\n").append(out.strip()).append("\n```\n</details>\n\n");
  }

  private static String find(String text, String regex) {
    Matcher m = Pattern.compile(regex).matcher(text);
    return m.find() ? m.group(1) : "?";
  }

  // --- 4. heap ----------------------------------------------------------------------------------

  private void heap() throws Exception {
    String pid = args.get("gateway-pid");
    if (pid == null) {
      return;
    }
    Process p = new ProcessBuilder("jcmd", pid, "GC.heap_info").redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    p.waitFor();
    String rss = "?";
    try {
      for (String line : Files.readAllLines(Path.of("/proc", pid, "status"))) {
        if (line.startsWith("VmHWM:")) {
          rss = line.substring(6).trim();
        }
      }
    } catch (IOException e) {
      rss = "unavailable (" + e.getMessage() + ")";
    }
    report.append("## Gateway memory after the runs above\n\n")
        .append("Max heap (-Xmx) ").append(args.getOrDefault("heap", "?")).append("; peak resident set (VmHWM) ")
        .append(rss).append(". Target: heap under 256 MB (Livy grew past 1.5 GB).\n\n```\n").append(out.strip())
        .append("\n```\n");
  }

  // --- REST helpers -----------------------------------------------------------------------------

  private int createSession(String kind) throws Exception {
    HttpResponse<String> r = send(HttpRequest.newBuilder(uri("/sessions"))
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(Map.of("kind", kind)))).build(), 201);
    return JSON.readTree(r.body()).path("id").asInt();
  }

  private void waitForSessionState(int id, String wanted, int timeoutSeconds) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
    while (System.nanoTime() < deadline) {
      HttpResponse<String> r = send(HttpRequest.newBuilder(uri("/sessions/" + id + "/state")).GET().build(), 200);
      String state = JSON.readTree(r.body()).path("state").asText();
      if (state.equals(wanted)) {
        return;
      }
      if (List.of("error", "dead", "killed", "success").contains(state)) {
        throw new IllegalStateException("session " + id + " ended " + state);
      }
      Thread.sleep(10);
    }
    throw new IllegalStateException("session " + id + " not " + wanted + " after " + timeoutSeconds + " s");
  }

  private void deleteSession(int id) throws Exception {
    send(HttpRequest.newBuilder(uri("/sessions/" + id)).DELETE().build(), 200);
  }

  private HttpResponse<String> send(HttpRequest request, int expected) throws Exception {
    HttpResponse<String> r = http.send(request, HttpResponse.BodyHandlers.ofString());
    if (r.statusCode() != expected) {
      throw new IllegalStateException(request.method() + " " + request.uri() + " answered " + r.statusCode()
          + ": " + r.body());
    }
    return r;
  }

  private URI uri(String path) {
    return URI.create(url + path);
  }

  private static double seconds(long nanos) {
    return nanos / 1e9;
  }

  private static double median(List<Double> values) {
    double[] sorted = values.stream().mapToDouble(Double::doubleValue).sorted().toArray();
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  private static long percentile(long[] sorted, double p) {
    int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, index))];
  }
}
