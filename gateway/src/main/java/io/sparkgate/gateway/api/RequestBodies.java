package io.sparkgate.gateway.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.JsonNodeType;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparkgate.gateway.batch.BatchRequest;
import io.sparkgate.gateway.launch.SparkAppRequest;
import io.sparkgate.gateway.session.Kind;
import io.sparkgate.gateway.session.SessionRequest;
import io.sparkgate.gateway.session.SessionTimeout;
import io.vertx.core.buffer.Buffer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Parses and checks request bodies. Every problem becomes an {@link ApiError} 400 whose message
 * names the field and what was expected; nothing a client sends reaches the domain unchecked.
 *
 * <p>As Livy (whose Jackson mapper fails on unknown properties), a field the API does not know is
 * refused rather than silently ignored: a misspelt {@code executorCore} should not start a session
 * without the cores its author asked for. JSON {@code null} counts as absent, as in Livy.
 */
final class RequestBodies {

  /** Entries in jars, pyFiles, files, archives, and in conf. */
  static final int MAX_LIST_ENTRIES = 1000;
  /** Characters in a path, a user name, a queue, a conf key. */
  static final int MAX_ITEM_LENGTH = 4096;
  /** Characters in a conf value. */
  static final int MAX_CONF_VALUE_LENGTH = 65_536;

  private static final Set<String> SESSION_FIELDS = Set.of("kind", "proxyUser", "jars", "pyFiles", "files",
      "driverMemory", "driverCores", "executorMemory", "executorCores", "numExecutors", "archives", "queue", "name",
      "conf", "heartbeatTimeoutInSecond", "ttl", "idleTimeout");
  private static final Set<String> BATCH_FIELDS = Set.of("file", "className", "args", "proxyUser", "jars", "pyFiles",
      "files", "driverMemory", "driverCores", "executorMemory", "executorCores", "numExecutors", "archives", "queue",
      "name", "conf");
  /** Characters in one application argument. */
  static final int MAX_ARG_LENGTH = 65_536;
  private static final Set<String> STATEMENT_FIELDS = Set.of("code", "kind");
  private static final Set<String> COMPLETION_FIELDS = Set.of("code", "kind", "cursor");

  /** Spark's memory strings: a positive number with an optional k, m, g, t or p (and b) suffix. */
  private static final Pattern MEMORY = Pattern.compile("(?i)[0-9]{1,12}([kmgtp]b?)?");

  /** Spark properties only the gateway sets. */
  private static final Set<String> RESERVED_CONF = Set.of("spark.master", "spark.submit.deployMode", "spark.yarn.tags");
  private static final String RESERVED_PREFIX = "spark.sparkgate.";

  private static final ObjectMapper MAPPER = JsonMapper.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .build();

  /** {@code POST /sessions/{id}/statements}: the code and its kind (null: the session's). */
  record StatementBody(String code, Kind kind) {}

  /** {@code POST /sessions/{id}/completion}. */
  record CompletionBody(String code, Kind kind, int cursor) {}

  /**
   * A client's message on a session's WebSocket; {@code refJson} is the client's {@code ref}
   * (a string or a number, as JSON) or null.
   */
  sealed interface SocketOp {
    String refJson();
  }

  record Submit(String code, Kind kind, String refJson) implements SocketOp {}

  record Cancel(int statement, String refJson) implements SocketOp {}

  record Resume(long from, String refJson) implements SocketOp {}

  record Ping(String refJson) implements SocketOp {}

  /** Longest {@code ref} a WebSocket client may give, in characters. */
  static final int MAX_REF_LENGTH = 256;

  private final int maxNameLength;
  private final int maxCodeLength;
  private final Set<String> blacklistedConf;

  RequestBodies(int maxNameLength, int maxCodeLength) {
    this(maxNameLength, maxCodeLength, Set.of());
  }

  /**
   * @param blacklistedConf Spark properties a request may not set (the operator's
   *     {@code spark-blacklist.conf}, as in Livy)
   */
  RequestBodies(int maxNameLength, int maxCodeLength, Set<String> blacklistedConf) {
    this.maxNameLength = maxNameLength;
    this.maxCodeLength = maxCodeLength;
    this.blacklistedConf = Set.copyOf(blacklistedConf);
  }

  /** The body of {@code POST /sessions}. */
  SessionRequest session(Buffer body) {
    ObjectNode o = object(body);
    checkFields(o, SESSION_FIELDS);
    String kindName = optString(o, "kind", 32);
    Kind kind = kindName == null || kindName.equals(Kind.SHARED) ? null : kind(kindName);
    String name = optString(o, "name", maxNameLength);
    if (name != null && name.isBlank()) {
      throw ApiError.badRequest("name must not be blank");
    }
    if (name != null && name.chars().allMatch(c -> c >= '0' && c <= '9')) {
      // Paths take a session's id or its name: an all-digit name would read as an id.
      throw ApiError.badRequest("name must not be all digits (\"" + cut(name) + "\"): /sessions/{id} would read"
          + " it as a session id");
    }
    SparkAppRequest app = app(o);
    Integer heartbeat = optInt(o, "heartbeatTimeoutInSecond", 0, Integer.MAX_VALUE);
    return new SessionRequest(name, kind, heartbeat == null ? 0 : heartbeat, timeout(o, "ttl"),
        timeout(o, "idleTimeout"), app);
  }

  /** The body of {@code POST /batches}: Livy's CreateBatchRequest. */
  BatchRequest batch(Buffer body) {
    ObjectNode o = object(body);
    checkFields(o, BATCH_FIELDS);
    String file = optNonEmpty(o, "file");
    if (file == null) {
      throw ApiError.badRequest("file is required: the jar or Python file of the application");
    }
    if (file.indexOf(',') >= 0) {
      throw ApiError.badRequest("file must name one file, not \"" + cut(file) + "\"");
    }
    String className = optNonEmpty(o, "className");
    if (className != null && !className.matches("[\\p{L}_$][\\p{L}\\p{N}_$]*(\\.[\\p{L}_$][\\p{L}\\p{N}_$]*)*")) {
      throw ApiError.badRequest("className must be a Java class name such as org.example.Main, not \""
          + cut(className) + "\"");
    }
    String name = optString(o, "name", maxNameLength);
    if (name != null && name.isBlank()) {
      throw ApiError.badRequest("name must not be blank");
    }
    return new BatchRequest(file, className, args(o), name, app(o));
  }

  private static List<String> args(ObjectNode o) {
    JsonNode n = o.get("args");
    if (n == null || n.isNull()) {
      return List.of();
    }
    if (!n.isArray()) {
      throw ApiError.badRequest("args must be a list of strings, not " + describe(n));
    }
    if (n.size() > MAX_LIST_ENTRIES) {
      throw ApiError.badRequest("args has " + n.size() + " entries, more than the " + MAX_LIST_ENTRIES + " allowed");
    }
    List<String> out = new ArrayList<>(n.size());
    for (JsonNode e : n) {
      // As Livy's Jackson mapper: numbers and booleans in the list are taken as their text.
      if (!e.isTextual() && !e.isNumber() && !e.isBoolean()) {
        throw ApiError.badRequest("args must be a list of strings, but holds " + describe(e));
      }
      String s = e.asText();
      if (s.length() > MAX_ARG_LENGTH) {
        throw ApiError.badRequest("args holds a string of " + s.length() + " characters, more than the "
            + MAX_ARG_LENGTH + " allowed");
      }
      out.add(s);
    }
    return out;
  }

  /** The spark-submit options common to sessions and batches. */
  private SparkAppRequest app(ObjectNode o) {
    return new SparkAppRequest(
        optNonEmpty(o, "proxyUser"),
        pathList(o, "jars"),
        pathList(o, "pyFiles"),
        pathList(o, "files"),
        pathList(o, "archives"),
        memory(o, "driverMemory"),
        optInt(o, "driverCores", 1, 1024),
        memory(o, "executorMemory"),
        optInt(o, "executorCores", 1, 1024),
        optInt(o, "numExecutors", 0, 100_000),
        optNonEmpty(o, "queue"),
        conf(o));
  }

  /** The body of {@code POST /sessions/{id}/statements}. */
  StatementBody statement(Buffer body) {
    ObjectNode o = object(body);
    checkFields(o, STATEMENT_FIELDS);
    String code = code(o, false);
    String kindName = optString(o, "kind", 32);
    return new StatementBody(code, kindName == null ? null : kind(kindName));
  }

  /**
   * A WebSocket message: {@code {"op": "submit", "code", "kind", "ref"}}, {@code {"op": "cancel",
   * "statement"}}, {@code {"op": "resume", "from"}} or {@code {"op": "ping"}}, each with an optional
   * {@code ref}.
   *
   * @throws ApiError 400 naming what is wrong (see {@link #refOf} for the ref to answer it with)
   */
  SocketOp socketMessage(String text) {
    ObjectNode o = object(Buffer.buffer(text));
    // ref is read first, so that every later problem can be answered with it.
    String ref = null;
    JsonNode r = o.get("ref");
    if (r != null && !r.isNull()) {
      if (r.isTextual() && r.textValue().length() <= MAX_REF_LENGTH || r.isIntegralNumber() && r.canConvertToLong()) {
        ref = r.toString();
      } else {
        throw ApiError.badRequest("ref must be a string of at most " + MAX_REF_LENGTH + " characters or an integer");
      }
    }
    String op = optString(o, "op", 32);
    if (op == null) {
      throw ApiError.badRequest("op is required: submit, cancel, resume or ping");
    }
    switch (op) {
      case "submit" -> {
        checkFields(o, Set.of("op", "code", "kind", "ref"));
        String kindName = optString(o, "kind", 32);
        return new Submit(code(o, false), kindName == null ? null : kind(kindName), ref);
      }
      case "cancel" -> {
        checkFields(o, Set.of("op", "statement", "ref"));
        Integer statement = optInt(o, "statement", 0, Integer.MAX_VALUE);
        if (statement == null) {
          throw ApiError.badRequest("statement is required: the id of the statement to cancel");
        }
        return new Cancel(statement, ref);
      }
      case "resume" -> {
        checkFields(o, Set.of("op", "from", "ref"));
        JsonNode from = o.get("from");
        if (from == null || !from.isIntegralNumber() || !from.canConvertToLong() || from.longValue() < 0) {
          throw ApiError.badRequest("from must be a non-negative integer: the id of the last event received");
        }
        return new Resume(from.longValue(), ref);
      }
      case "ping" -> {
        checkFields(o, Set.of("op", "ref"));
        return new Ping(ref);
      }
      default -> throw ApiError.badRequest("Unknown op '" + cut(op) + "': expected submit, cancel, resume or ping");
    }
  }

  /** The valid {@code ref} of a WebSocket message (as JSON), or null; never throws. */
  static String refOf(String text) {
    try {
      JsonNode r = MAPPER.readTree(text).get("ref");
      if (r != null && (r.isTextual() && r.textValue().length() <= MAX_REF_LENGTH
          || r.isIntegralNumber() && r.canConvertToLong())) {
        return r.toString();
      }
    } catch (IOException | RuntimeException e) {
      // Not JSON: no ref.
    }
    return null;
  }

  /** The body of {@code POST /sessions/{id}/completion}. */
  CompletionBody completion(Buffer body) {
    ObjectNode o = object(body);
    checkFields(o, COMPLETION_FIELDS);
    String code = code(o, true);
    String kindName = optString(o, "kind", 32);
    Integer cursor = optInt(o, "cursor", 0, Integer.MAX_VALUE);
    if (cursor == null) {
      throw ApiError.badRequest("cursor is required: the position in code to complete at");
    }
    if (cursor > code.length()) {
      throw ApiError.badRequest("cursor " + cursor + " is past the end of the code (" + code.length() + " characters)");
    }
    return new CompletionBody(code, kindName == null ? null : kind(kindName), cursor);
  }

  static ObjectNode object(Buffer body) {
    if (body == null || body.length() == 0) {
      throw ApiError.badRequest("The request body is empty; expected a JSON object");
    }
    JsonNode node;
    try {
      node = MAPPER.readTree(body.getBytes());
    } catch (JsonProcessingException e) {
      throw ApiError.badRequest("Malformed JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw ApiError.badRequest("Unreadable request body: " + e.getMessage());
    }
    if (node == null || node.isMissingNode()) {
      throw ApiError.badRequest("The request body is empty; expected a JSON object");
    }
    if (!node.isObject()) {
      throw ApiError.badRequest("The request body must be a JSON object, not " + describe(node));
    }
    return (ObjectNode) node;
  }

  private static void checkFields(ObjectNode o, Set<String> known) {
    Iterator<String> names = o.fieldNames();
    while (names.hasNext()) {
      String n = names.next();
      if (!known.contains(n)) {
        throw ApiError.badRequest("Unrecognized field \"" + cut(n) + "\"; known fields: " + String.join(", ",
            new java.util.TreeSet<>(known)));
      }
    }
  }

  private String code(ObjectNode o, boolean emptyAllowed) {
    JsonNode n = o.get("code");
    if (n == null || n.isNull()) {
      throw ApiError.badRequest("code is required");
    }
    if (!n.isTextual()) {
      throw ApiError.badRequest("code must be a string, not " + describe(n));
    }
    String code = n.textValue();
    if (!emptyAllowed && code.isBlank()) {
      throw ApiError.badRequest("code must not be empty");
    }
    if (code.length() > maxCodeLength) {
      throw ApiError.badRequest("code has " + code.length() + " characters, more than the " + maxCodeLength
          + " allowed");
    }
    return code;
  }

  private static Kind kind(String name) {
    try {
      return Kind.parse(name);
    } catch (IllegalArgumentException e) {
      throw ApiError.badRequest("Invalid kind: " + cut(name) + " (expected spark, pyspark, sparkr or sql)");
    }
  }

  private static String optString(ObjectNode o, String field, int maxLength) {
    JsonNode n = o.get(field);
    if (n == null || n.isNull()) {
      return null;
    }
    if (!n.isTextual()) {
      throw ApiError.badRequest(field + " must be a string, not " + describe(n));
    }
    String s = n.textValue();
    if (s.length() > maxLength) {
      throw ApiError.badRequest(field + " has " + s.length() + " characters, more than the " + maxLength + " allowed");
    }
    return s;
  }

  /** A Livy time string ({@code "30m"}), or a number of milliseconds, as Livy's mapper takes it. */
  private static SessionTimeout timeout(ObjectNode o, String field) {
    JsonNode n = o.get(field);
    if (n == null || n.isNull()) {
      return null;
    }
    String text;
    if (n.isTextual()) {
      text = n.textValue();
    } else if (n.isIntegralNumber() && n.canConvertToLong()) {
      text = n.asText();
    } else {
      throw ApiError.badRequest(field + " must be a string such as \"30m\", not " + describe(n));
    }
    if (text.length() > 32) {
      throw ApiError.badRequest(field + " has " + text.length() + " characters, more than the 32 allowed");
    }
    try {
      return SessionTimeout.parse(text);
    } catch (IllegalArgumentException | ArithmeticException e) {
      throw ApiError.badRequest(field + " " + (e instanceof ArithmeticException ? "is too large" : e.getMessage()));
    }
  }

  private static String optNonEmpty(ObjectNode o, String field) {
    String s = optString(o, field, MAX_ITEM_LENGTH);
    if (s != null && s.isBlank()) {
      throw ApiError.badRequest(field + " must not be empty");
    }
    return s;
  }

  private static String memory(ObjectNode o, String field) {
    String s = optString(o, field, 32);
    if (s == null) {
      return null;
    }
    if (!MEMORY.matcher(s).matches() || s.chars().filter(Character::isDigit).allMatch(c -> c == '0')) {
      throw ApiError.badRequest(field + " must be a positive amount of memory such as 512m or 2g, not \"" + s + "\"");
    }
    return s;
  }

  /**
   * An integer field in {@code [min, max]}. As Livy's Jackson mapper, a string holding an integer
   * ({@code "2"}) is accepted; anything else (a fraction, a word, a boolean) is not.
   */
  private static Integer optInt(ObjectNode o, String field, int min, int max) {
    JsonNode n = o.get(field);
    if (n == null || n.isNull()) {
      return null;
    }
    long v;
    if (n.isIntegralNumber() && n.canConvertToLong()) {
      v = n.longValue();
    } else if (n.isTextual() && n.textValue().strip().matches("-?[0-9]{1,18}")) {
      v = Long.parseLong(n.textValue().strip());
    } else {
      throw ApiError.badRequest(field + " must be an integer, not " + describe(n));
    }
    if (v < min || v > max) {
      throw ApiError.badRequest(field + " must be " + (max == Integer.MAX_VALUE ? "at least " + min
          : "between " + min + " and " + max) + ", not " + v);
    }
    return (int) v;
  }

  private static List<String> pathList(ObjectNode o, String field) {
    JsonNode n = o.get(field);
    if (n == null || n.isNull()) {
      return List.of();
    }
    if (!n.isArray()) {
      throw ApiError.badRequest(field + " must be a list of strings, not " + describe(n));
    }
    if (n.size() > MAX_LIST_ENTRIES) {
      throw ApiError.badRequest(field + " has " + n.size() + " entries, more than the " + MAX_LIST_ENTRIES + " allowed");
    }
    List<String> out = new ArrayList<>(n.size());
    for (JsonNode e : n) {
      if (!e.isTextual()) {
        throw ApiError.badRequest(field + " must be a list of strings, but holds " + describe(e));
      }
      String s = e.textValue();
      if (s.isBlank()) {
        throw ApiError.badRequest(field + " holds an empty string");
      }
      if (s.length() > MAX_ITEM_LENGTH) {
        throw ApiError.badRequest(field + " holds a string of " + s.length() + " characters, more than the "
            + MAX_ITEM_LENGTH + " allowed");
      }
      if (s.indexOf(',') >= 0) {
        // spark-submit takes these as one comma-separated list.
        throw ApiError.badRequest(field + " entries must not contain a comma: \"" + cut(s) + "\"");
      }
      out.add(s);
    }
    return out;
  }

  private Map<String, String> conf(ObjectNode o) {
    JsonNode n = o.get("conf");
    if (n == null || n.isNull()) {
      return Map.of();
    }
    if (!n.isObject()) {
      throw ApiError.badRequest("conf must be an object of Spark properties, not " + describe(n));
    }
    if (n.size() > MAX_LIST_ENTRIES) {
      throw ApiError.badRequest("conf has " + n.size() + " entries, more than the " + MAX_LIST_ENTRIES + " allowed");
    }
    Map<String, String> conf = new LinkedHashMap<>();
    Iterator<Map.Entry<String, JsonNode>> fields = n.fields();
    while (fields.hasNext()) {
      Map.Entry<String, JsonNode> e = fields.next();
      String key = e.getKey();
      if (key.isBlank() || key.length() > MAX_ITEM_LENGTH || key.indexOf('=') >= 0
          || key.chars().anyMatch(Character::isWhitespace)) {
        throw ApiError.badRequest("conf key \"" + cut(key) + "\" is not a Spark property name");
      }
      if (RESERVED_CONF.contains(key) || key.startsWith(RESERVED_PREFIX)) {
        throw ApiError.badRequest("conf key " + key + " is set by the gateway and cannot be given in a request");
      }
      if (blacklistedConf.contains(key)) {
        throw ApiError.badRequest("conf key " + key + " is blacklisted by the operator (spark-blacklist.conf) and"
            + " cannot be set in a request");
      }
      JsonNode v = e.getValue();
      String value;
      if (v.isTextual()) {
        value = v.textValue();
      } else if (v.isNumber() || v.isBoolean()) {
        value = v.asText();
      } else {
        throw ApiError.badRequest("conf value of " + key + " must be a string, number or boolean, not " + describe(v));
      }
      if (value.length() > MAX_CONF_VALUE_LENGTH) {
        throw ApiError.badRequest("conf value of " + key + " has " + value.length() + " characters, more than the "
            + MAX_CONF_VALUE_LENGTH + " allowed");
      }
      conf.put(key, value);
    }
    return conf;
  }

  private static String describe(JsonNode n) {
    JsonNodeType t = n.getNodeType();
    return switch (t) {
      case ARRAY -> "a list";
      case OBJECT -> "an object";
      case BOOLEAN -> n.asText();
      case NUMBER -> n.asText();
      case STRING -> "\"" + cut(n.textValue()) + "\"";
      case NULL -> "null";
      default -> t.name().toLowerCase(java.util.Locale.ROOT);
    };
  }

  /** Client text quoted in a message, cut so that a huge value does not make a huge answer. */
  private static String cut(String s) {
    return s.length() <= 64 ? s : s.substring(0, 64) + "...";
  }
}
