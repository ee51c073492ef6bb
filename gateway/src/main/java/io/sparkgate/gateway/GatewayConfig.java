package io.sparkgate.gateway;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;

/**
 * The gateway's configuration: one registry of {@link ConfigEntry entries} (key, default, type, doc),
 * values read from {@code sparkgate.conf} and overridden by environment variables.
 *
 * <p>Where values come from, lowest precedence first:
 * <ol>
 *   <li>each entry's default;</li>
 *   <li>{@code livy.conf} in the config directory, read as Livy reads it (Java properties): a Livy
 *       operator's file works unchanged, Livy's keys that Sparkgate implements apply (see
 *       {@link ConfigEntry#aliases()}), every other key is named in a warning;</li>
 *   <li>{@code sparkgate.conf} in the config directory ({@code -Dsparkgate.conf.dir}, else the
 *       {@code SPARKGATE_CONF_DIR} environment variable; no directory means defaults only): one
 *       {@code key = value} per line, {@code #} starts a comment line;</li>
 *   <li>environment variables named by {@link ConfigEntry#envName()}, e.g.
 *       {@code SPARKGATE_SERVER_PORT=9000}.</li>
 * </ol>
 *
 * <p>Everything is parsed and checked when the config is built: an unknown key in the file, a value
 * of the wrong form or a missing Spark home fails start-up with one {@link ConfigException} listing
 * every problem, instead of a surprise at the first session.
 */
public final class GatewayConfig {

  /** File name inside the config directory. */
  public static final String FILE_NAME = "sparkgate.conf";
  /** A Livy operator's config file, also read from the config directory (sparkgate.conf wins). */
  public static final String LIVY_FILE_NAME = "livy.conf";
  /** Livy's list of Spark properties users may not set, one per line, in the config directory. */
  public static final String BLACKLIST_FILE_NAME = "spark-blacklist.conf";
  /** System property naming the config directory. */
  public static final String CONF_DIR_PROPERTY = "sparkgate.conf.dir";
  /** Environment variable naming the config directory (when the property is not set). */
  public static final String CONF_DIR_ENV = "SPARKGATE_CONF_DIR";
  /** Environment variable naming the Sparkgate installation; relative paths resolve against it. */
  public static final String HOME_ENV = "SPARKGATE_HOME";

  private static final List<ConfigEntry<?>> REGISTRY = new ArrayList<>();

  // --- HTTP server ---------------------------------------------------------------------------

  public static final ConfigEntry<String> SERVER_HOST = register(ConfigEntry.nonEmptyString(
      "sparkgate.server.host", "0.0.0.0",
      "Address the REST API listens on (Livy: livy.server.host).").alias("livy.server.host"));

  public static final ConfigEntry<Integer> SERVER_PORT = register(ConfigEntry.intRange(
      "sparkgate.server.port", "8998", 0, 65535,
      "Port of the REST API (Livy: livy.server.port); 0 picks a free port.").alias("livy.server.port"));

  public static final ConfigEntry<Integer> SERVER_EVENT_LOOPS = register(ConfigEntry.intRange(
      "sparkgate.server.event-loops", "0", 0, 1024,
      "Vert.x event-loop threads, one HTTP server instance on each; 0 means two per CPU core."));

  public static final ConfigEntry<Long> SERVER_MAX_REQUEST_BODY = register(ConfigEntry.bytes(
      "sparkgate.server.max-request-body", "4m", 1024, 64L * 1024 * 1024,
      "Largest request body accepted; a bigger one is answered 413. Statement code travels in the"
          + " body, so keep it above sparkgate.statement.max-code-length (in UTF-8 bytes)."));

  public static final ConfigEntry<String> SERVER_CORS_ALLOWED_ORIGINS = register(ConfigEntry.originList(
      "sparkgate.server.cors.allowed-origins", "",
      "Web origins (comma-separated, e.g. https://notebooks.example.com) whose pages may call the REST"
          + " API and open event streams from a browser, with credentials; their requests get CORS"
          + " headers, preflights are answered, and a WebSocket handshake from any other Origin is"
          + " refused. Empty: no cross-origin access."));

  // --- Agent server (the port drivers dial) --------------------------------------------------

  public static final ConfigEntry<String> AGENT_SERVER_HOST = register(ConfigEntry.nonEmptyString(
      "sparkgate.agent.server.host", "127.0.0.1",
      "Address the agent server listens on and that drivers are told to dial (Livy:"
          + " livy.rsc.rpc.server.address). Loopback suits a local master; set an address the cluster"
          + " can reach for YARN.").alias("livy.rsc.rpc.server.address"));

  public static final ConfigEntry<Integer> AGENT_SERVER_PORT = register(ConfigEntry.intRange(
      "sparkgate.agent.server.port", "0", 0, 65535,
      "Port of the agent server. 0: with recovery on, the port the previous run bound (kept in the"
          + " state store, so drivers that outlived a crash find the gateway again), else a free one;"
          + " set a fixed port when another program could take it in between."));

  public static final ConfigEntry<Duration> AGENT_HEARTBEAT_INTERVAL = register(ConfigEntry.duration(
      "sparkgate.agent.heartbeat-interval", "10s", 100,
      "How often gateway and agent send a heartbeat on an otherwise quiet connection."));

  public static final ConfigEntry<Duration> AGENT_RECONNECT_GRACE = register(ConfigEntry.duration(
      "sparkgate.agent.reconnect-grace", "60s", 0,
      "How long a session waits for its agent to dial back after the connection dropped before the"
          + " session is declared dead and its driver killed."));

  public static final ConfigEntry<Duration> AGENT_IDLE_EXIT = register(ConfigEntry.duration(
      "sparkgate.agent.idle-exit", "600s", 1000,
      "How long an agent keeps its driver alive without reaching the gateway before it exits"
          + " (passed as spark.sparkgate.agent.idleExitSeconds; Livy: livy.rsc.server.idle-timeout).")
      .alias("livy.rsc.server.idle-timeout"));

  public static final ConfigEntry<String> AGENT_JAR = register(ConfigEntry.nonEmptyString(
      "sparkgate.agent.jar", "driver-agent/target/sparkgate-driver-agent.jar",
      "The driver-agent jar given to spark-submit. A relative path resolves against $SPARKGATE_HOME,"
          + " else the working directory."));

  // --- Spark ----------------------------------------------------------------------------------

  public static final ConfigEntry<String> SPARK_HOME = register(ConfigEntry.string(
      "sparkgate.spark.home", "",
      "Spark installation whose bin/spark-submit launches drivers (Livy: livy.server.spark-home)."
          + " Empty means the SPARK_HOME environment variable; one of the two is required.")
      .alias("livy.server.spark-home"));

  public static final ConfigEntry<String> SPARK_MASTER = register(ConfigEntry.nonEmptyString(
      "sparkgate.spark.master", "local[*]",
      "Spark master of every session (Livy: livy.spark.master).").alias("livy.spark.master"));

  public static final ConfigEntry<String> SPARK_DEPLOY_MODE = register(ConfigEntry.oneOf(
      "sparkgate.spark.deploy-mode", "client",
      "Spark deploy mode of every session (Livy: livy.spark.deploy-mode).", "client", "cluster").alias("livy.spark.deploy-mode"));

  // --- Files ----------------------------------------------------------------------------------

  public static final ConfigEntry<String> FILE_LOCAL_DIR_WHITELIST = register(ConfigEntry.string(
      "sparkgate.file.local-dir-whitelist", "",
      "Comma-separated local directories whose files batches and sessions may use (file, jars,"
          + " pyFiles, files, archives as file: URIs or local paths); any other local path is answered"
          + " 400. Empty allows none. Paths without a scheme resolve against the default file system"
          + " (fs.defaultFS of the Hadoop configuration), as Livy (Livy: livy.file.local-dir-whitelist).")
      .alias("livy.file.local-dir-whitelist"));

  // --- Batches --------------------------------------------------------------------------------

  public static final ConfigEntry<Integer> BATCH_MAX = register(ConfigEntry.intRange(
      "sparkgate.batch.max-batches", "100", 1, 100_000,
      "Most batches whose application is alive (starting, running or being killed) at once; POST"
          + " /batches beyond it is answered 503."));

  // --- Hadoop and YARN ------------------------------------------------------------------------

  public static final ConfigEntry<String> HADOOP_CONF_DIR = register(ConfigEntry.string(
      "sparkgate.hadoop.conf-dir", "",
      "Hadoop configuration directory (core-site.xml, yarn-site.xml): the default file system and,"
          + " with master yarn, the ResourceManager. Given to spark-submit as HADOOP_CONF_DIR. Empty"
          + " means the HADOOP_CONF_DIR environment variable, else Hadoop's defaults."));

  public static final ConfigEntry<String> YARN_GATEWAY_ID = register(ConfigEntry.nonEmptyString(
      "sparkgate.yarn.gateway-id", "default",
      "This gateway's name in the YARN tags of its applications (sparkgate-<id>, and"
          + " sparkgate-<id>-<kind>-<n>-<nonce> per application). Keep it stable across restarts and"
          + " unique among the gateways sharing a cluster: it is how the gateway finds its own"
          + " applications. Letters, digits and dashes."));

  public static final ConfigEntry<Duration> YARN_POLL_INTERVAL = register(ConfigEntry.duration(
      "sparkgate.yarn.poll-interval", "200ms", 50,
      "How often the ResourceManager is asked about the gateway's running applications (one call"
          + " for all of them); a batch shows its application's end within about this long (Livy:"
          + " livy.server.yarn.poll-interval).").alias("livy.server.yarn.poll-interval"));

  public static final ConfigEntry<String> YARN_SPARK_JARS = register(ConfigEntry.string(
      "sparkgate.yarn.spark-jars", "",
      "spark.yarn.jars for every application on YARN: Spark's jars where the cluster can read them"
          + " (hdfs:///spark/jars/*.jar, or local:/opt/spark/jars/* when every node has them), so that"
          + " spark-submit does not upload 400 MB of jars for each application. Empty leaves it to"
          + " Spark (and its spark-defaults.conf)."));

  public static final ConfigEntry<String> YARN_ORPHANS = register(ConfigEntry.oneOf(
      "sparkgate.yarn.orphans", "kill",
      "What the gateway does at start with running YARN applications tagged with its gateway id"
          + " that no session or batch owns (left by an earlier run): kill them, or keep them running"
          + " (only logged).", "kill", "keep"));

  // --- Sessions -------------------------------------------------------------------------------

  public static final ConfigEntry<Integer> SESSION_MAX = register(ConfigEntry.intRange(
      "sparkgate.session.max-sessions", "100", 1, 100_000,
      "Most sessions alive (starting, idle, busy or shutting down) at once; POST /sessions beyond it"
          + " is answered with sparkgate.session.limit-status."));

  public static final ConfigEntry<String> SESSION_LIMIT_STATUS = register(ConfigEntry.oneOf(
      "sparkgate.session.limit-status", "400",
      "HTTP status of POST /sessions at sparkgate.session.max-sessions: 400 as Livy (sparkmagic retries"
          + " every 5xx, so a 503 makes it hammer a full gateway), 429 or 503 for clients that back off.",
      "400", "429", "503"));

  public static final ConfigEntry<Duration> SESSION_START_TIMEOUT = register(ConfigEntry.duration(
      "sparkgate.session.start-timeout", "120s", 1000,
      "How long a session may take from launch to idle; after it the session is in error and its"
          + " driver is killed (Livy: livy.rsc.server.connect.timeout).").alias("livy.rsc.server.connect.timeout"));

  public static final ConfigEntry<Duration> SESSION_IDLE_TIMEOUT = register(ConfigEntry.duration(
      "sparkgate.session.idle-timeout", "1h", 0,
      "A session that ran no statement and got none for this long is stopped and removed (Livy:"
          + " livy.server.session.timeout); a session's own idleTimeout replaces it. 0 disables it.")
      .alias("livy.server.session.timeout"));

  public static final ConfigEntry<Boolean> SESSION_TIMEOUT_CHECK = register(ConfigEntry.bool(
      "sparkgate.session.timeout-check", "true",
      "Whether sessions are stopped at their idle timeout and ttl (Livy:"
          + " livy.server.session.timeout-check). heartbeatTimeoutInSecond applies either way.")
      .alias("livy.server.session.timeout-check"));

  public static final ConfigEntry<Boolean> SESSION_TIMEOUT_CHECK_SKIP_BUSY = register(ConfigEntry.bool(
      "sparkgate.session.timeout-check.skip-busy", "true",
      "Whether a busy session is spared the idle timeout and ttl (Livy:"
          + " livy.server.session.timeout-check.skip-busy, whose default is false: Livy stops a session"
          + " running a long statement).").alias("livy.server.session.timeout-check.skip-busy"));

  public static final ConfigEntry<Duration> SESSION_STATE_RETAIN = register(ConfigEntry.duration(
      "sparkgate.session.state-retain", "600s", 0,
      "How long a session that ended (dead, error, killed) stays listed before it is removed"
          + " (Livy: livy.server.session.state-retain.sec).").alias("livy.server.session.state-retain.sec"));

  public static final ConfigEntry<Duration> SESSION_STOP_GRACE = register(ConfigEntry.duration(
      "sparkgate.session.stop-grace", "10s", 0,
      "After a session is deleted, how long its driver gets to exit on its own before it is"
          + " terminated, and again before it is killed forcibly (Livy: livy.rsc.client.shutdown-timeout).")
      .alias("livy.rsc.client.shutdown-timeout"));

  public static final ConfigEntry<Duration> SESSION_SWEEP_INTERVAL = register(ConfigEntry.duration(
      "sparkgate.session.sweep-interval", "1s", 50,
      "How often sessions are checked for idle and heartbeat timeouts and ended sessions are"
          + " removed (Livy: livy.server.heartbeat-watchdog.interval).")
      .alias("livy.server.heartbeat-watchdog.interval"));

  public static final ConfigEntry<Integer> SESSION_LOG_LINES = register(ConfigEntry.intRange(
      "sparkgate.session.log-lines", "200", 1, 100_000,
      "Driver output lines kept per session for GET /sessions/{id}/log (Livy: livy.cache-log.size).")
      .alias("livy.cache-log.size"));

  public static final ConfigEntry<String> SESSION_CONF_BLACKLIST = register(ConfigEntry.string(
      "sparkgate.session.conf-blacklist", "",
      "Comma-separated Spark properties a session's conf may not set (a 400 names the key). Keys listed"
          + " in spark-blacklist.conf in the config directory (Livy's file: one key per line) are added."));

  public static final ConfigEntry<Integer> SESSION_MAX_NAME_LENGTH = register(ConfigEntry.intRange(
      "sparkgate.session.max-name-length", "256", 1, 65_536,
      "Longest session name accepted, in characters."));

  // --- Statements -----------------------------------------------------------------------------

  public static final ConfigEntry<Integer> STATEMENT_RETAINED = register(ConfigEntry.intRange(
      "sparkgate.statement.retained", "100", 1, 100_000,
      "Statements kept per session (Livy: livy.rsc.retained-statements); older ones answer 404. A"
          + " session refuses a new statement while this many are still waiting or running.")
      .alias("livy.rsc.retained-statements"));

  public static final ConfigEntry<Long> STATEMENT_MAX_OUTPUT_BYTES = register(ConfigEntry.bytes(
      "sparkgate.statement.max-output-bytes", "1m", 1024, 2L * 1024 * 1024,
      "Largest statement output the agent sends; longer output is cut and marked (passed as"
          + " spark.sparkgate.statement.maxOutputBytes). At most 2m: a result travels in one protocol"
          + " frame of at most 8 MiB, with room for JSON escaping."));

  public static final ConfigEntry<Integer> SQL_MAX_ROWS = register(ConfigEntry.intRange(
      "sparkgate.sql.max-rows", "1000", 1, 1_000_000,
      "Rows a sql statement returns at most (Livy: livy.rsc.sql.num-rows); the rest are left out"
          + " (passed as spark.sparkgate.sql.maxRows).").alias("livy.rsc.sql.num-rows"));

  public static final ConfigEntry<Integer> STATEMENT_MAX_CODE_LENGTH = register(ConfigEntry.intRange(
      "sparkgate.statement.max-code-length", "1000000", 1, 2_500_000,
      "Longest statement (and completion) code accepted, in characters; longer is answered 400. At"
          + " most 2500000 so that the code fits one agent frame."));

  public static final ConfigEntry<Duration> STATEMENT_MAX_WAIT = register(ConfigEntry.duration(
      "sparkgate.statement.max-wait", "60s", 0,
      "Longest wait a long-poll GET /sessions/{id}/statements/{sid}?wait=S may ask for; a longer"
          + " wait is cut to this."));

  // --- Push streams (SSE, WebSocket) ----------------------------------------------------------

  public static final ConfigEntry<Integer> STREAM_LOG_EVENTS = register(ConfigEntry.intRange(
      "sparkgate.stream.log-events", "1000", 1, 1_000_000,
      "Events kept per session for streams to resume from (Last-Event-ID); a client that asks for an"
          + " older one gets a reset event."));

  public static final ConfigEntry<Long> STREAM_LOG_BYTES = register(ConfigEntry.bytes(
      "sparkgate.stream.log-bytes", "1m", 1024, 1L << 30,
      "Bytes of events kept per session (with sparkgate.stream.log-events, whichever is reached"
          + " first)."));

  public static final ConfigEntry<Integer> STREAM_SUBSCRIBER_BUFFER_EVENTS = register(ConfigEntry.intRange(
      "sparkgate.stream.subscriber-buffer-events", "1000", 1, 1_000_000,
      "Events one stream subscriber may have waiting for its connection; past it (or the bytes"
          + " bound) the subscriber gets an overflow event naming the id to resume from and is closed."));

  public static final ConfigEntry<Long> STREAM_SUBSCRIBER_BUFFER_BYTES = register(ConfigEntry.bytes(
      "sparkgate.stream.subscriber-buffer-bytes", "256k", 1024, 1L << 30,
      "Bytes of events one stream subscriber may have waiting for its connection (see"
          + " sparkgate.stream.subscriber-buffer-events)."));

  public static final ConfigEntry<Duration> STREAM_KEEP_ALIVE = register(ConfigEntry.duration(
      "sparkgate.stream.keep-alive", "15s", 100,
      "How often an idle event stream gets a keep-alive (an SSE comment, a WebSocket ping), so that"
          + " proxies do not close it."));

  public static final ConfigEntry<Duration> COMPLETION_TIMEOUT = register(ConfigEntry.duration(
      "sparkgate.completion.timeout", "10s", 100,
      "How long POST /sessions/{id}/completion waits for the agent's candidates before it answers"
          + " 504."));

  // --- Security (docs/security.md) -----------------------------------------------------------

  public static final ConfigEntry<String> AUTH_TYPE = register(ConfigEntry.oneOf(
      "sparkgate.auth.type", "none",
      "How clients authenticate (Livy: livy.server.auth.type): none (anyone, the local default),"
          + " kerberos (SPNEGO), basic (an htpasswd file), ldap (Basic credentials bound against an"
          + " LDAP server) or jwt (a Bearer token). Without valid credentials a request gets 401.",
      "none", "kerberos", "basic", "ldap", "jwt").alias("livy.server.auth.type"));

  public static final ConfigEntry<String> AUTH_KERBEROS_PRINCIPAL = register(ConfigEntry.string(
      "sparkgate.auth.kerberos.principal", "",
      "The gateway's SPNEGO service principal, HTTP/host@REALM (Livy:"
          + " livy.server.auth.kerberos.principal). Required for kerberos.").alias("livy.server.auth.kerberos.principal"));

  public static final ConfigEntry<String> AUTH_KERBEROS_KEYTAB = register(ConfigEntry.string(
      "sparkgate.auth.kerberos.keytab", "",
      "Keytab holding the service principal's keys (Livy: livy.server.auth.kerberos.keytab)."
          + " Required for kerberos.").alias("livy.server.auth.kerberos.keytab"));

  public static final ConfigEntry<String> AUTH_KERBEROS_NAME_RULES = register(ConfigEntry.nonEmptyString(
      "sparkgate.auth.kerberos.name-rules", "DEFAULT",
      "Rules mapping a client principal to a user name, in Hadoop's auth_to_local syntax (RULE:[n:fmt](regex)s/a/b/"
          + " lines separated by spaces or newlines, and DEFAULT: strip the gateway's own realm). A principal no"
          + " rule maps is refused (Livy: livy.server.auth.kerberos.name-rules).")
      .alias("livy.server.auth.kerberos.name-rules"));

  public static final ConfigEntry<String> AUTH_BASIC_REALM = register(ConfigEntry.nonEmptyString(
      "sparkgate.auth.realm", "sparkgate",
      "Realm named in the Basic challenge (WWW-Authenticate: Basic realm=...) of basic and ldap."));

  public static final ConfigEntry<String> AUTH_HTPASSWD_FILE = register(ConfigEntry.string(
      "sparkgate.auth.basic.htpasswd-file", "",
      "Apache htpasswd file of user:hash lines (bcrypt is not supported: use htpasswd -m, -s or -d)."
          + " Required for basic. Read at start-up."));

  public static final ConfigEntry<String> AUTH_LDAP_URL = register(ConfigEntry.string(
      "sparkgate.auth.ldap.url", "",
      "LDAP server, ldap://host:port or ldaps://host:port (Livy: livy.server.auth.ldap.url). Required for"
          + " ldap.").alias("livy.server.auth.ldap.url"));

  public static final ConfigEntry<String> AUTH_LDAP_BASE_DN = register(ConfigEntry.string(
      "sparkgate.auth.ldap.base-dn", "",
      "Users bind as uid=<user>,<base-dn> (Livy: livy.server.auth.ldap.base-dn), unless user-dn-pattern"
          + " is set.").alias("livy.server.auth.ldap.base-dn"));

  public static final ConfigEntry<String> AUTH_LDAP_USER_DN_PATTERN = register(ConfigEntry.string(
      "sparkgate.auth.ldap.user-dn-pattern", "",
      "The DN users bind as, with {0} for the user name, e.g. cn={0},ou=people,dc=example,dc=com; wins"
          + " over base-dn and username-domain."));

  public static final ConfigEntry<String> AUTH_LDAP_USERNAME_DOMAIN = register(ConfigEntry.string(
      "sparkgate.auth.ldap.username-domain", "",
      "Users bind as <user>@<domain> (Active Directory) when neither user-dn-pattern nor base-dn is set"
          + " (Livy: livy.server.auth.ldap.username-domain).").alias("livy.server.auth.ldap.username-domain"));

  public static final ConfigEntry<Duration> AUTH_LDAP_TIMEOUT = register(ConfigEntry.duration(
      "sparkgate.auth.ldap.timeout", "5s", 100,
      "How long connecting to and binding against the LDAP server may take before the request is"
          + " answered 401."));

  public static final ConfigEntry<String> AUTH_JWT_ALGORITHM = register(ConfigEntry.oneOf(
      "sparkgate.auth.jwt.algorithm", "RS256",
      "Signature algorithm of accepted tokens; others are refused.", "HS256", "HS384", "HS512", "RS256",
      "RS384", "RS512", "ES256", "ES384", "ES512"));

  public static final ConfigEntry<String> AUTH_JWT_KEY_FILE = register(ConfigEntry.string(
      "sparkgate.auth.jwt.key-file", "",
      "File holding the key tokens are verified with: a PEM public key for RS*/ES*, the shared secret"
          + " for HS*. Required for jwt. Read at start-up."));

  public static final ConfigEntry<String> AUTH_JWT_ISSUER = register(ConfigEntry.string(
      "sparkgate.auth.jwt.issuer", "",
      "Required iss claim of tokens; empty accepts any issuer."));

  public static final ConfigEntry<String> AUTH_JWT_AUDIENCE = register(ConfigEntry.string(
      "sparkgate.auth.jwt.audience", "",
      "Required aud claim of tokens; empty accepts any audience."));

  public static final ConfigEntry<String> AUTH_JWT_USER_CLAIM = register(ConfigEntry.nonEmptyString(
      "sparkgate.auth.jwt.user-claim", "sub",
      "The claim whose value is the user name."));

  public static final ConfigEntry<Boolean> IMPERSONATION_ENABLED = register(ConfigEntry.bool(
      "sparkgate.impersonation.enabled", "false",
      "Run each session's Spark application as its proxyUser, or else as its owner (spark-submit"
          + " --proxy-user; Livy: livy.impersonation.enabled). Only superusers may name another user. When"
          + " false, a request naming a proxyUser or doAs is refused with 400.").alias("livy.impersonation.enabled"));

  public static final ConfigEntry<List<String>> SUPERUSERS = register(ConfigEntry.list(
      "sparkgate.superusers", "",
      "Users who may impersonate anyone (proxyUser, ?doAs=) and read and change every session (Livy:"
          + " livy.superusers).").alias("livy.superusers"));

  public static final ConfigEntry<Boolean> ACCESS_CONTROL_ENABLED = register(ConfigEntry.bool(
      "sparkgate.access-control.enabled", "false",
      "Check who may use the gateway and whose sessions they may read or change (Livy:"
          + " livy.server.access-control.enabled). When false every authenticated user may read and change"
          + " every session, as in Livy.").alias("livy.server.access-control.enabled"));

  public static final ConfigEntry<List<String>> ACCESS_CONTROL_ALLOWED_USERS = register(ConfigEntry.list(
      "sparkgate.access-control.allowed-users", "*",
      "Users who may use the gateway at all, besides view-users, modify-users and superusers; * is"
          + " everyone (Livy: livy.server.access-control.allowed-users).")
      .alias("livy.server.access-control.allowed-users"));

  public static final ConfigEntry<List<String>> ACCESS_CONTROL_MODIFY_USERS = register(ConfigEntry.list(
      "sparkgate.access-control.modify-users", "",
      "Users who may read and change every session (Livy: livy.server.access-control.modify-users).")
      .alias("livy.server.access-control.modify-users"));

  public static final ConfigEntry<List<String>> ACCESS_CONTROL_VIEW_USERS = register(ConfigEntry.list(
      "sparkgate.access-control.view-users", "",
      "Users who may read every session (Livy: livy.server.access-control.view-users).")
      .alias("livy.server.access-control.view-users"));

  public static final ConfigEntry<Boolean> CSRF_PROTECTION = register(ConfigEntry.bool(
      "sparkgate.csrf-protection.enabled", "false",
      "Refuse POST, PUT, PATCH and DELETE without an X-Requested-By header with 400 (Livy:"
          + " livy.server.csrf-protection.enabled).").alias("livy.server.csrf-protection.enabled"));

  public static final ConfigEntry<String> TLS_KEYSTORE = register(ConfigEntry.string(
      "sparkgate.server.tls.keystore", "",
      "A JKS or PKCS#12 keystore with the REST API's certificate and key: the API then speaks HTTPS only"
          + " (Livy: livy.keystore).").alias("livy.keystore"));

  public static final ConfigEntry<String> TLS_KEYSTORE_PASSWORD = register(ConfigEntry.string(
      "sparkgate.server.tls.keystore-password", "",
      "Password of the keystore (Livy: livy.keystore.password); never logged. Prefer the environment"
          + " variable to the file.").alias("livy.keystore.password"));

  public static final ConfigEntry<String> TLS_CERT_FILE = register(ConfigEntry.string(
      "sparkgate.server.tls.cert-file", "",
      "Instead of a keystore: the REST API's certificate chain, PEM. Needs key-file."));

  public static final ConfigEntry<String> TLS_KEY_FILE = register(ConfigEntry.string(
      "sparkgate.server.tls.key-file", "",
      "The private key of cert-file, PEM (PKCS#8 or PKCS#1), unencrypted."));

  public static final ConfigEntry<Integer> SESSION_MAX_CREATING = register(ConfigEntry.intRange(
      "sparkgate.session.max-creating", "100", 1, 100_000,
      "Most sessions being created (launched, not yet idle) at once; POST /sessions beyond it is"
          + " answered 400 \"Rejected, too many sessions are being created!\" (Livy:"
          + " livy.server.session.max-creation).").alias("livy.server.session.max-creation"));

  public static final ConfigEntry<Integer> SESSION_MAX_PER_USER = register(ConfigEntry.intRange(
      "sparkgate.session.max-per-user", "0", 0, 100_000,
      "Most live sessions one owner may have; beyond it POST /sessions is answered 429. 0 means no limit"
          + " but max-sessions."));

  public static final ConfigEntry<List<String>> DRIVER_ENVIRONMENT = register(ConfigEntry.list(
      "sparkgate.driver.environment",
      "PATH,HOME,USER,LOGNAME,LANG,LC_*,TZ,TMPDIR,JAVA_HOME,SPARK_*,PYSPARK_*,HADOOP_CONF_DIR,HADOOP_HOME,"
          + "YARN_CONF_DIR,R_HOME",
      "Environment variables of the gateway a driver inherits (names, or prefixes ending in *); every"
          + " other is withheld. A credential-like name (KRB5CCNAME, *TOKEN*, *SECRET*, *PASSWORD*, AWS_*,"
          + " ...) passes only when listed by its exact name."));
  public static final ConfigEntry<Duration> STATEMENT_CANCEL_GRACE = register(ConfigEntry.duration(
      "sparkgate.statement.cancel-grace", "15s", 1000,
      "How long a cancelled statement that ignores the cancel (a busy loop) may run on before the"
          + " agent stops it (Scala: its thread; Python and R: their process, whose variables are then"
          + " gone). At twice this the agent gives up on a statement it could not stop, and the driver"
          + " exits. Whole seconds (passed as spark.sparkgate.statement.cancelGraceSeconds)."));

  // --- Recovery (the state store) ------------------------------------------------------------

  public static final ConfigEntry<String> RECOVERY_MODE = register(ConfigEntry.oneOf(
      "sparkgate.recovery.mode", "recovery",
      "recovery: sessions, statements and id counters are stored, and a restarted gateway (after a"
          + " crash or kill -9 too) recovers them and their drivers dial back; off: nothing is stored, a"
          + " restart forgets every session (Livy's default). A clean stop ends the sessions either way"
          + " (Livy: livy.server.recovery.mode).", "recovery", "off").alias("livy.server.recovery.mode"));

  public static final ConfigEntry<String> RECOVERY_STATE_STORE = register(ConfigEntry.oneOf(
      "sparkgate.recovery.state-store", "filesystem",
      "Where recovery keeps its records: filesystem (a local directory) or zookeeper (for gateways"
          + " that share state) (Livy: livy.server.recovery.state-store).", "filesystem", "zookeeper")
      .alias("livy.server.recovery.state-store"));

  public static final ConfigEntry<String> RECOVERY_STATE_STORE_URL = register(ConfigEntry.string(
      "sparkgate.recovery.state-store.url", "",
      "For filesystem: the directory (a path or a file:// URL; relative to $SPARKGATE_HOME, else the"
          + " working directory); empty means run/state. For zookeeper: the connect string"
          + " (host:port[,host:port]), required. Records hold per-session secrets: the directory is"
          + " created 0700, files 0600 (Livy: livy.server.recovery.state-store.url).")
      .alias("livy.server.recovery.state-store.url"));

  public static final ConfigEntry<String> RECOVERY_ZOOKEEPER_PATH = register(ConfigEntry.nonEmptyString(
      "sparkgate.recovery.zookeeper.path", "/sparkgate",
      "The znode under which the zookeeper state store keeps its records."));

  private static final Map<String, ConfigEntry<?>> BY_KEY;

  static {
    Map<String, ConfigEntry<?>> byKey = new LinkedHashMap<>();
    for (ConfigEntry<?> e : REGISTRY) {
      if (byKey.put(e.key(), e) != null) {
        throw new ExceptionInInitializerError("duplicate config key " + e.key());
      }
      for (String alias : e.aliases()) {
        if (byKey.put(alias, e) != null) {
          throw new ExceptionInInitializerError("duplicate config key " + alias);
        }
      }
    }
    BY_KEY = Collections.unmodifiableMap(byKey);
  }

  private final Map<ConfigEntry<?>, Object> values;
  private final Map<ConfigEntry<?>, String> sources;
  private final Path sparkHome;
  private final Path agentJar;
  private final List<String> warnings;
  private final Set<String> confBlacklist;

  private GatewayConfig(Map<ConfigEntry<?>, Object> values, Map<ConfigEntry<?>, String> sources,
      Path sparkHome, Path agentJar, List<String> warnings, Set<String> confBlacklist) {
    this.values = values;
    this.sources = sources;
    this.sparkHome = sparkHome;
    this.agentJar = agentJar;
    this.warnings = List.copyOf(warnings);
    this.confBlacklist = Set.copyOf(confBlacklist);
  }

  private static <T> ConfigEntry<T> register(ConfigEntry<T> entry) {
    REGISTRY.add(entry);
    return entry;
  }

  /** Every entry, in the order the template lists them. */
  public static List<ConfigEntry<?>> entries() {
    return Collections.unmodifiableList(REGISTRY);
  }

  /** The entry with {@code key}, or null. */
  public static ConfigEntry<?> entry(String key) {
    return BY_KEY.get(key);
  }

  /**
   * Loads the configuration the way the gateway starts: the config directory from the system
   * property or the environment, then environment overrides.
   *
   * @throws ConfigException listing every problem found
   */
  public static GatewayConfig load() {
    return load(System.getProperty(CONF_DIR_PROPERTY), System.getenv());
  }

  /**
   * Loads {@code confDir/sparkgate.conf} (when {@code confDir} is not null) with overrides from
   * {@code env}.
   *
   * @throws ConfigException listing every problem found
   */
  public static GatewayConfig load(String confDir, Map<String, String> env) {
    String dir = confDir != null && !confDir.isBlank() ? confDir : env.get(CONF_DIR_ENV);
    Map<String, String> fileSettings = new LinkedHashMap<>();
    Map<String, String> origins = new HashMap<>();
    List<String> problems = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    Set<String> blacklist = new LinkedHashSet<>();
    if (dir != null && !dir.isBlank()) {
      if (!Files.isDirectory(Path.of(dir))) {
        problems.add("config directory " + dir + " does not exist");
      } else {
        Path livy = Path.of(dir).resolve(LIVY_FILE_NAME);
        Map<String, String> livySettings = new LinkedHashMap<>();
        if (Files.isRegularFile(livy)) {
          readLivyFile(livy, livySettings, problems, warnings);
        }
        Path file = Path.of(dir).resolve(FILE_NAME);
        if (Files.isRegularFile(file)) {
          try {
            readFile(Files.readAllLines(file, StandardCharsets.UTF_8), file.toString(), fileSettings, problems,
                warnings);
          } catch (IOException e) {
            problems.add("cannot read " + file + ": " + e.getMessage());
          }
        }
        fileSettings.keySet().forEach(k -> origins.put(k, file.toString()));
        for (Map.Entry<String, String> e : livySettings.entrySet()) {
          if (fileSettings.containsKey(e.getKey())) {
            warnings.add(livy + ": the value of " + e.getKey() + " is overridden by " + file);
          } else {
            fileSettings.put(e.getKey(), e.getValue());
            origins.put(e.getKey(), livy.toString());
          }
        }
        Path list = Path.of(dir).resolve(BLACKLIST_FILE_NAME);
        if (Files.isRegularFile(list)) {
          try {
            readBlacklist(Files.readAllLines(list, StandardCharsets.UTF_8), list.toString(), blacklist, problems);
          } catch (IOException e) {
            problems.add("cannot read " + list + ": " + e.getMessage());
          }
        }
      }
    }
    return build(fileSettings, origins, env, problems, warnings, blacklist);
  }

  /**
   * Reads a Livy {@code livy.conf} as Livy does (Java properties: {@code key = value},
   * {@code key: value} or {@code key value}) into {@code out} under each entry's own key. Livy keys
   * Sparkgate implements apply; any other key is a warning, never an error, so that a Livy
   * operator's file starts the gateway as it is.
   */
  static void readLivyFile(Path file, Map<String, String> out, List<String> problems, List<String> warnings) {
    Properties props = new Properties();
    try (var reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      props.load(reader);
    } catch (IOException | IllegalArgumentException e) {
      problems.add("cannot read " + file + ": " + e.getMessage());
      return;
    }
    Map<String, String> givenAs = new HashMap<>();
    for (String key : new TreeSet<>(props.stringPropertyNames())) {
      ConfigEntry<?> entry = BY_KEY.get(key);
      if (entry == null) {
        warnings.add(file + ": " + key + " is " + (key.startsWith("livy.") ? "a Livy setting that Sparkgate does"
            + " not implement" : "not a setting Sparkgate knows") + "; ignored (docs/migrating-from-livy.md)");
      } else if (out.put(entry.key(), props.getProperty(key).strip()) != null) {
        problems.add(file + ": " + entry.key() + " is set twice (as " + givenAs.get(entry.key()) + " and " + key + ")");
      } else {
        givenAs.put(entry.key(), key);
      }
    }
  }

  /** Reads Livy's {@code spark-blacklist.conf}: one Spark property per line, {@code #} comments. */
  static void readBlacklist(List<String> lines, String name, Set<String> out, List<String> problems) {
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      if (line.chars().anyMatch(c -> Character.isWhitespace(c) || c == '=')) {
        problems.add(name + ":" + (i + 1) + ": expected one Spark property name, got '" + line + "'");
      } else {
        out.add(line);
      }
    }
  }

  /**
   * A configuration from explicit settings (key to text, as in the file) and environment; for tests
   * and embedding.
   *
   * @throws ConfigException listing every problem found
   */
  public static GatewayConfig of(Map<String, String> settings, Map<String, String> env) {
    List<String> problems = new ArrayList<>();
    Map<String, String> canonical = new LinkedHashMap<>();
    Map<String, String> givenAs = new HashMap<>();
    for (Map.Entry<String, String> s : settings.entrySet()) {
      ConfigEntry<?> e = BY_KEY.get(s.getKey());
      if (e == null) {
        problems.add("unknown key " + s.getKey());
      } else if (canonical.put(e.key(), s.getValue()) != null) {
        problems.add(e.key() + " is set twice (as " + givenAs.get(e.key()) + " and " + s.getKey() + ")");
      } else {
        givenAs.put(e.key(), s.getKey());
      }
    }
    Map<String, String> origins = new HashMap<>();
    canonical.keySet().forEach(k -> origins.put(k, "settings"));
    return build(canonical, origins, env, problems, new ArrayList<>(), Set.of());
  }

  /**
   * Reads {@code key = value} lines into {@code out} under each entry's own key. A key of Livy's
   * ({@code livy.*}) that Sparkgate does not implement is a warning, not an error, so that an
   * operator's {@code livy.conf} lines can be kept; any other unknown key is a problem.
   */
  static void readFile(List<String> lines, String name, Map<String, String> out, List<String> problems,
      List<String> warnings) {
    Map<String, String> givenAs = new HashMap<>();
    for (int i = 0; i < lines.size(); i++) {
      String line = lines.get(i).strip();
      if (line.isEmpty() || line.startsWith("#")) {
        continue;
      }
      int eq = line.indexOf('=');
      String where = name + ":" + (i + 1);
      if (eq <= 0) {
        problems.add(where + ": expected 'key = value', got '" + line + "'");
        continue;
      }
      String key = line.substring(0, eq).strip();
      String value = line.substring(eq + 1).strip();
      ConfigEntry<?> entry = BY_KEY.get(key);
      if (entry == null) {
        if (key.startsWith("livy.")) {
          warnings.add(where + ": " + key + " is a Livy setting that Sparkgate does not implement; ignored");
        } else {
          problems.add(where + ": unknown key " + key);
        }
      } else if (out.put(entry.key(), value) != null) {
        String first = givenAs.get(entry.key());
        problems.add(where + ": " + entry.key() + " is set twice"
            + (first.equals(key) ? "" : " (as " + first + " and " + key + ")"));
      } else {
        givenAs.put(entry.key(), key);
      }
    }
  }

  private static GatewayConfig build(Map<String, String> settings, Map<String, String> origins,
      Map<String, String> env, List<String> problems, List<String> warnings, Set<String> fileBlacklist) {
    Map<ConfigEntry<?>, Object> values = new HashMap<>();
    Map<ConfigEntry<?>, String> sources = new HashMap<>();
    for (ConfigEntry<?> e : REGISTRY) {
      String text = e.defaultValue();
      String source = "default";
      if (settings.containsKey(e.key())) {
        text = settings.get(e.key());
        source = origins.getOrDefault(e.key(), "settings");
      }
      String fromEnv = env.get(e.envName());
      if (fromEnv != null) {
        text = fromEnv;
        source = "environment variable " + e.envName();
      }
      text = text == null ? "" : text.strip();
      sources.put(e, source);
      if (text.isEmpty() && e.defaultValue().isEmpty()) {
        // An unset string is ""; an unset list is empty.
        values.put(e, e.type().equals(ConfigEntry.LIST_TYPE) ? List.of() : "");
        continue;
      }
      try {
        values.put(e, e.parse(text));
      } catch (IllegalArgumentException ex) {
        problems.add(e.key() + " = '" + text + "' (from " + source + "): " + ex.getMessage());
      }
    }

    Path sparkHome = null;
    String home = (String) values.get(SPARK_HOME);
    if (home == null || home.isEmpty()) {
      home = env.getOrDefault("SPARK_HOME", "").strip();
    }
    if (home.isEmpty()) {
      problems.add("no Spark: set " + SPARK_HOME.key() + " or the SPARK_HOME environment variable");
    } else {
      sparkHome = Path.of(home).toAbsolutePath().normalize();
      Path submit = sparkHome.resolve("bin").resolve("spark-submit");
      if (!Files.isRegularFile(submit) || !Files.isExecutable(submit)) {
        problems.add("Spark home " + sparkHome + " has no executable bin/spark-submit");
      }
    }

    Path agentJar = null;
    String jar = (String) values.get(AGENT_JAR);
    if (jar != null && !jar.isEmpty()) {
      Path p = Path.of(jar);
      if (!p.isAbsolute()) {
        String sgHome = env.get(HOME_ENV);
        p = (sgHome != null && !sgHome.isBlank() ? Path.of(sgHome) : Path.of("")).resolve(p);
      }
      agentJar = p.toAbsolutePath().normalize();
      if (!Files.isRegularFile(agentJar)) {
        problems.add(AGENT_JAR.key() + ": " + agentJar + " is not a file (build driver-agent, or set"
            + " " + AGENT_JAR.envName() + ")");
      }
    }

    Object maxCode = values.get(STATEMENT_MAX_CODE_LENGTH);
    Object maxBody = values.get(SERVER_MAX_REQUEST_BODY);
    if (maxCode instanceof Integer code && maxBody instanceof Long body && body < code) {
      problems.add(SERVER_MAX_REQUEST_BODY.key() + " (" + body + " bytes) is smaller than "
          + STATEMENT_MAX_CODE_LENGTH.key() + " (" + code + " characters)");
    }

    if ("recovery".equals(values.get(RECOVERY_MODE)) && "zookeeper".equals(values.get(RECOVERY_STATE_STORE))
        && "".equals(values.get(RECOVERY_STATE_STORE_URL))) {
      problems.add(RECOVERY_STATE_STORE_URL.key() + " must name the ZooKeeper ensemble (host:port) when "
          + RECOVERY_STATE_STORE.key() + " is zookeeper");
    }

    Set<String> blacklist = new LinkedHashSet<>(fileBlacklist);
    blacklist.addAll(commaList(values.get(SESSION_CONF_BLACKLIST)));

    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    return new GatewayConfig(values, sources, sparkHome, agentJar, warnings, blacklist);
  }

  private static List<String> commaList(Object value) {
    List<String> out = new ArrayList<>();
    if (value instanceof String text) {
      for (String part : text.split(",")) {
        if (!part.isBlank()) {
          out.add(part.strip());
        }
      }
    }
    return out;
  }

  /**
   * Spark properties a session's conf may not set: {@link #SESSION_CONF_BLACKLIST} and the lines of
   * {@code spark-blacklist.conf}.
   */
  public Set<String> confBlacklist() {
    return confBlacklist;
  }

  /** What the gateway should warn about at start (Livy keys it ignores); never fatal. */
  public List<String> warnings() {
    return warnings;
  }

  /** The value of {@code entry}. */
  @SuppressWarnings("unchecked")
  public <T> T get(ConfigEntry<T> entry) {
    Object v = values.get(Objects.requireNonNull(entry, "entry"));
    if (v == null && !values.containsKey(entry)) {
      throw new IllegalArgumentException("not a registered config entry: " + entry);
    }
    return (T) v;
  }

  /** Where the value of {@code entry} came from (default, file, environment), for the start-up log. */
  public String source(ConfigEntry<?> entry) {
    return sources.get(entry);
  }

  /** The Spark installation (from the config, else {@code SPARK_HOME}); checked to hold bin/spark-submit. */
  public Path sparkHome() {
    return sparkHome;
  }

  /** The driver-agent jar, absolute; checked to exist. */
  public Path agentJar() {
    return agentJar;
  }

  public String serverHost() {
    return get(SERVER_HOST);
  }

  public int serverPort() {
    return get(SERVER_PORT);
  }

  public String agentServerHost() {
    return get(AGENT_SERVER_HOST);
  }

  public int agentServerPort() {
    return get(AGENT_SERVER_PORT);
  }

  /** The origins allowed to call from a browser on another origin; empty for none. */
  public List<String> corsAllowedOrigins() {
    return ConfigEntry.parseOrigins(get(SERVER_CORS_ALLOWED_ORIGINS));
  }

  /** Event loops for Vert.x: the configured count, or two per available processor when 0. */
  public int eventLoops() {
    int n = get(SERVER_EVENT_LOOPS);
    return n > 0 ? n : 2 * Runtime.getRuntime().availableProcessors();
  }
}
