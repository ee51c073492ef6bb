package io.sparkgate.gateway.auth;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.sparkgate.gateway.testing.FakeAgents;
import io.sparkgate.proto.Command;
import io.sparkgate.proto.Event;
import io.vertx.core.http.HttpMethod;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivilegedExceptionAction;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.security.auth.Subject;
import javax.security.auth.login.AppConfigurationEntry;
import javax.security.auth.login.Configuration;
import javax.security.auth.login.LoginContext;
import org.apache.kerby.kerberos.kerb.server.SimpleKdcServer;
import org.ietf.jgss.GSSContext;
import org.ietf.jgss.GSSManager;
import org.ietf.jgss.Oid;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * {@code sparkgate.auth.type = kerberos}: SPNEGO against real KDCs (Apache Kerby's SimpleKdcServer,
 * once per class: the gateway's realm EXAMPLE.COM, and briefly a stranger realm OTHER.ORG), with
 * the gateway's service principal HTTP/localhost and its keytab, and two users. The clients are
 * real: the JDK's GSS-API (SPNEGO) and the seed's Python client, requests with requests-kerberos
 * (MIT Kerberos underneath), both creating a session and running a statement.
 *
 * <p>The driver side is played by {@link FakeAgents} (no Spark driver here: the subject is who may
 * call the API, and the statement's answer is scripted so that its content can be checked).
 */
class KerberosAuthTest extends SecureGatewayTestBase {

  private static final String REALM = "EXAMPLE.COM";
  private static final String OTHER_REALM = "OTHER.ORG";
  private static final Oid SPNEGO = oid("1.3.6.1.5.5.2");
  private static final Oid KRB5_PRINCIPAL = oid("1.2.840.113554.1.2.2.1");

  private Path dir;
  private SimpleKdcServer kdc;
  /** A real SPNEGO token of mallory@OTHER.ORG for HTTP/localhost@OTHER.ORG. */
  private String strangerToken;
  private final Map<String, Subject> subjects = new java.util.concurrent.ConcurrentHashMap<>();
  private Path krb5conf;

  @Override
  protected Map<String, String> warmUpHeaders() {
    return Map.of("Authorization", uncheck(this::alice));
  }

  @Override
  protected Map<String, String> settings() {
    dir = tempDir("sparkgate-kdc");
    try {
      int port = freePort();
      int otherPort = freePort();
      // One krb5.conf for both realms, for the JDK and MIT clients alike: TCP only, no DNS.
      krb5conf = Files.writeString(dir.resolve("krb5.conf"), String.join("\n",
          "[libdefaults]",
          "  default_realm = " + REALM,
          "  udp_preference_limit = 1",
          "  dns_lookup_realm = false",
          "  dns_lookup_kdc = false",
          "  dns_canonicalize_hostname = false",
          "  rdns = false",
          "  forwardable = false",
          "  default_tkt_enctypes = aes128-cts-hmac-sha1-96",
          "  default_tgs_enctypes = aes128-cts-hmac-sha1-96",
          "  permitted_enctypes = aes128-cts-hmac-sha1-96",
          "[realms]",
          "  " + REALM + " = {",
          "    kdc = localhost:" + port,
          "  }",
          "  " + OTHER_REALM + " = {",
          "    kdc = localhost:" + otherPort,
          "  }",
          "[domain_realm]",
          "  localhost = " + REALM,
          ""));
      System.setProperty("java.security.krb5.conf", krb5conf.toString());
      // The JDK's clients ask for referrals, which Kerby's KDC does not decode (Hadoop's MiniKdc
      // tests turn them off too). Only the test's clients talk to the KDC; the gateway only accepts.
      System.setProperty("sun.security.krb5.disableReferrals", "true");

      // The stranger realm first: it has a service of the same name, with other keys. Two Kerby
      // KDCs in one JVM share configuration, so mallory's ticket is taken before the gateway's
      // realm starts (a ticket needs its KDC only to be issued).
      SimpleKdcServer other = kdc(OTHER_REALM, otherPort, dir.resolve("other-kdc"));
      try {
        other.createPrincipal("HTTP/localhost@" + OTHER_REALM, "other-service-password");
        other.createPrincipal("mallory@" + OTHER_REALM, "mallory-password");
        other.exportPrincipal("mallory@" + OTHER_REALM, dir.resolve("mallory.keytab").toFile());
        strangerToken = negotiate("mallory@" + OTHER_REALM, "mallory.keytab", "HTTP/localhost@" + OTHER_REALM);
      } finally {
        other.stop();
      }

      kdc = kdc(REALM, port, dir.resolve("kdc"));
      kdc.createPrincipal("HTTP/localhost@" + REALM, "service-password");
      kdc.createPrincipal("alice@" + REALM, "alice-password");
      kdc.createPrincipal("bob@" + REALM, "bob-password");
      kdc.exportPrincipal("HTTP/localhost@" + REALM, dir.resolve("http.keytab").toFile());
      kdc.exportPrincipal("alice@" + REALM, dir.resolve("alice.keytab").toFile());
      kdc.exportPrincipal("bob@" + REALM, dir.resolve("bob.keytab").toFile());
    } catch (Exception e) {
      throw new IllegalStateException("the KDCs did not start", e);
    }
    // Livy's key names, as an operator's livy.conf has them.
    return Map.of("livy.server.auth.type", "kerberos",
        "livy.server.auth.kerberos.principal", "HTTP/localhost@" + REALM,
        "livy.server.auth.kerberos.keytab", dir.resolve("http.keytab").toString(),
        "livy.server.auth.kerberos.name-rules", "DEFAULT");
  }

  private static SimpleKdcServer kdc(String realm, int port, Path work) throws Exception {
    Files.createDirectories(work);
    SimpleKdcServer k = new SimpleKdcServer();
    k.setWorkDir(work.toFile());
    k.setKdcRealm(realm);
    k.setKdcHost("localhost");
    k.setAllowUdp(false);
    k.setAllowTcp(true);
    k.setKdcTcpPort(port);
    k.init();
    k.start();
    return k;
  }

  @AfterAll
  void stopKdcs() throws Exception {
    if (kdc != null) {
      kdc.stop();
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  // --- The JDK's SPNEGO client -------------------------------------------------------------------

  /** {@code Authorization: Negotiate ...} of {@code principal} (logged in from its keytab) for {@code service}. */
  private String negotiate(String principal, String keytab, String service) throws Exception {
    Subject subject = subjects.get(principal);
    if (subject == null) {
      subject = login(principal, keytab);
      subjects.put(principal, subject);
    }
    return Subject.doAs(subject, (PrivilegedExceptionAction<String>) () -> {
      GSSManager gss = GSSManager.getInstance();
      GSSContext ctx = gss.createContext(gss.createName(service, KRB5_PRINCIPAL), SPNEGO, null,
          GSSContext.DEFAULT_LIFETIME);
      ctx.requestMutualAuth(true);
      byte[] token = ctx.initSecContext(new byte[0], 0, 0);
      ctx.dispose();
      return "Negotiate " + Base64.getEncoder().encodeToString(token);
    });
  }

  private Subject login(String principal, String keytab) throws Exception {
    Configuration jaas = new Configuration() {
      @Override
      public AppConfigurationEntry[] getAppConfigurationEntry(String name) {
        return new AppConfigurationEntry[] {new AppConfigurationEntry(
            "com.sun.security.auth.module.Krb5LoginModule", AppConfigurationEntry.LoginModuleControlFlag.REQUIRED,
            Map.of("useKeyTab", "true", "keyTab", dir.resolve(keytab).toString(), "principal", principal,
                "storeKey", "false", "doNotPrompt", "true", "useTicketCache", "false", "refreshKrb5Config", "true"))};
      }
    };
    LoginContext login = new LoginContext("client", new Subject(), null, jaas);
    login.login();
    return login.getSubject();
  }

  private String bob() throws Exception {
    return negotiate("bob@" + REALM, "bob.keytab", "HTTP/localhost@" + REALM);
  }

  /** A fresh token of alice for the gateway: each request needs its own (the gateway refuses a replay). */
  private String alice() throws Exception {
    return negotiate("alice@" + REALM, "alice.keytab", "HTTP/localhost@" + REALM);
  }

  private Response as(String negotiate, HttpMethod method, String path, String body) {
    return call(method, path, body, Map.of("Authorization", negotiate));
  }

  /** Connects the fake agent of session {@code id}, answers its first statement with {@code 2}. */
  private void agentAnswersTwo(int id) {
    FakeAgents.Link link = agents.link(id);
    link.connect();
    link.emit(new Event.Ready("local-" + id, ""));
    awaitTrue("the statement to reach the agent", () -> !link.sent.isEmpty());
    Command.Execute exec = (Command.Execute) link.sent.get(0);
    assertEquals("1 + 1", exec.code());
    link.emit(new Event.StatementStarted(exec.statementId()));
    link.emit(Event.StatementResult.ok(exec.statementId(), "{\"text/plain\":\"2\"}", false));
  }

  @Test
  void theJdksSpnegoClientCreatesASessionAndRunsAStatement() throws Exception {
    Response created = as(alice(), HttpMethod.POST, "/sessions", "{\"kind\":\"spark\"}");
    assertEquals(201, created.status(), created.body());
    assertEquals("alice", created.json().getString("owner"));
    // Mutual authentication: the gateway proves itself in its answer.
    assertTrue(created.headers().get("WWW-Authenticate").startsWith("Negotiate "), created.headers().toString());
    int id = created.json().getInteger("id");
    agents.link(id).connect();
    agents.link(id).emit(new Event.Ready("local-" + id, ""));
    awaitTrue("session " + id + " to be idle", () -> "idle".equals(
        as(uncheck(this::alice), HttpMethod.GET, "/sessions/" + id + "/state", null).json().getString("state")));
    Response st = as(alice(), HttpMethod.POST, "/sessions/" + id + "/statements", "{\"code\":\"1 + 1\"}");
    assertEquals(201, st.status(), st.body());
    FakeAgents.Link link = agents.link(id);
    link.emit(new Event.StatementStarted(0));
    link.emit(Event.StatementResult.ok(0, "{\"text/plain\":\"2\"}", false));
    Response done = as(alice(), HttpMethod.GET, "/sessions/" + id + "/statements/0", null);
    assertEquals("available", done.json().getString("state"));
    assertEquals("2", done.json().getJsonObject("output").getJsonObject("data").getString("text/plain"));

    // A token seen before is a replay: refused.
    String once = alice();
    assertEquals(200, as(once, HttpMethod.GET, "/sessions/" + id, null).status());
    assertEquals(401, as(once, HttpMethod.GET, "/sessions/" + id, null).status());
    assertEquals(200, as(alice(), HttpMethod.DELETE, "/sessions/" + id, null).status());
  }

  private interface Token {
    String get() throws Exception;
  }

  private static String uncheck(Token t) {
    try {
      return t.get();
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void pythonRequestsKerberosCreatesASessionAndRunsAStatement() throws Exception {
    Path python = testPython();
    Path script;
    try {
      script = Path.of(getClass().getResource("/auth/kerberos_client.py").toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
    ProcessBuilder pb = new ProcessBuilder(python.toString(), script.toString(),
        "http://localhost:" + gateway.port()).redirectErrorStream(true);
    // MIT Kerberos: our krb5.conf, bob's keys as the client keytab (it gets its own ticket), a fresh cache.
    pb.environment().put("KRB5_CONFIG", krb5conf.toString());
    pb.environment().put("KRB5_CLIENT_KTNAME", dir.resolve("bob.keytab").toString());
    pb.environment().put("KRB5CCNAME", "FILE:" + dir.resolve("bob.ccache"));
    Process p = pb.start();
    BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    Thread reader = new Thread(() -> {
      try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
        for (String l; (l = in.readLine()) != null; ) {
          lines.add(l);
        }
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }, "python-client-output");
    reader.start();
    List<String> seen = new ArrayList<>();
    try {
      String sessionLine = next(lines, seen, "session ");
      String[] parts = sessionLine.split(" ");
      assertEquals("bob", parts[2], "the owner is the Kerberos user: " + seen);
      agentAnswersTwo(Integer.parseInt(parts[1]));
      assertEquals("output {\"data\": {\"text/plain\": \"2\"}, \"execution_count\": 0, \"status\": \"ok\"}",
          next(lines, seen, "output "));
      assertEquals("anonymous 401 Negotiate", next(lines, seen, "anonymous "));
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), "the client did not end");
      reader.join(5000);
      assertEquals(0, p.exitValue(), "client output: " + seen + lines);
      assertTrue(seen.contains("create 201"), seen.toString());
      assertTrue(seen.contains("statement 201"), seen.toString());
    } finally {
      p.destroyForcibly();
    }
  }

  private static String next(BlockingQueue<String> lines, List<String> seen, String prefix) throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (System.nanoTime() < deadline) {
      String l = lines.poll(1, TimeUnit.SECONDS);
      if (l != null) {
        seen.add(l);
        if (l.startsWith(prefix)) {
          return l;
        }
      }
    }
    fail("the Python client never printed '" + prefix + "...'; it printed: " + seen);
    return null;
  }

  /**
   * The test venv's Python with requests-kerberos (scripts/lib.sh's ensure_test_venv provisions it;
   * scripts/test runs it before Maven).
   */
  private static Path testPython() throws Exception {
    String cache = System.getenv().getOrDefault("SPARKGATE_CACHE", System.getProperty("user.home") + "/.cache/sparkgate");
    Path python = Path.of(cache, "test-venv", "bin", "python");
    if (!Files.isExecutable(python)) {
      fail("no test venv at " + python + ": run scripts/test (or . scripts/lib.sh; ensure_test_venv)");
    }
    Process check = new ProcessBuilder(python.toString(), "-c", "import requests_kerberos").redirectErrorStream(true)
        .start();
    if (!check.waitFor(60, TimeUnit.SECONDS) || check.exitValue() != 0) {
      fail(python + " lacks requests-kerberos: run scripts/test (or . scripts/lib.sh; ensure_test_venv)");
    }
    return python;
  }

  @Test
  void noTicketGarbageOrAStrangerRealmsTicketAre401WithNegotiate() throws Exception {
    Response none = get("/sessions");
    assertEquals(401, none.status());
    assertEquals("Negotiate", none.headers().get("WWW-Authenticate"));

    Response garbage = as("Negotiate " + Base64.getEncoder().encodeToString("not a token".getBytes()),
        HttpMethod.GET, "/sessions", null);
    assertEquals(401, garbage.status());
    assertEquals("Negotiate", garbage.headers().get("WWW-Authenticate"));

    // mallory@OTHER.ORG holds a real ticket, for HTTP/localhost of her own realm: the gateway has no
    // key for it.
    Response stranger = as(strangerToken, HttpMethod.POST, "/sessions", "{\"kind\":\"spark\"}");
    assertEquals(401, stranger.status(), stranger.body());
    assertEquals("Negotiate", stranger.headers().get("WWW-Authenticate"));
    assertTrue(stranger.msg().startsWith("Kerberos credentials refused"), stranger.body());
  }

  @Test
  void theSecondUserOwnsItsOwnSession() throws Exception {
    Response created = as(bob(), HttpMethod.POST, "/sessions", "{\"kind\":\"sql\"}");
    assertEquals(201, created.status(), created.body());
    assertEquals("bob", created.json().getString("owner"));
    assertEquals(200, as(bob(), HttpMethod.DELETE, "/sessions/" + created.json().getInteger("id"), null).status());
  }

  private static Oid oid(String s) {
    try {
      return new Oid(s);
    } catch (org.ietf.jgss.GSSException e) {
      throw new ExceptionInInitializerError(e);
    }
  }
}
