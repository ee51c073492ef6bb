package io.sparkgate.gateway.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Set;

/**
 * Livy 0.8's REST objects as Livy answers them (field names, order and JSON types from Livy's
 * {@code SessionInfo}, {@code Statement}, the servlets' maps and {@code /version}; Livy 0.9's
 * {@code idleTimeout} included), and a check that a JSON answer has the same fields, in the same
 * order, each of the same JSON type.
 *
 * <p>A sample holds a non-null value wherever Livy's type allows one, so that its type can be
 * compared; the fields Livy may also send as null are listed apart. Maps whose keys are the user's
 * ({@code conf}, an output's {@code data}) are compared as objects, not key by key.
 */
public final class LivyShapes {

  private static final ObjectMapper JSON = new ObjectMapper();

  public static final String SESSION = """
      {"id": 0, "name": "nightly", "appId": "application_1700000000000_0001", "owner": "alice",
       "proxyUser": "bob", "state": "idle", "kind": "pyspark",
       "appInfo": {"driverLogUrl": "http://nm:8042/node/containerlogs/container_1/alice",
                   "sparkUiUrl": "http://rm:8088/proxy/application_1700000000000_0001/"},
       "log": ["stdout: ", "stderr: "], "ttl": "2h", "idleTimeout": "30m", "driverMemory": "1g",
       "driverCores": 1, "executorMemory": "2g", "executorCores": 2,
       "conf": {"spark.sql.shuffle.partitions": "4"}, "archives": ["a.zip"], "files": ["f.txt"],
       "heartbeatTimeoutInSecond": 60, "jars": ["/opt/a.jar"], "numExecutors": 2, "pyFiles": ["p.py"],
       "queue": "default"}""";
  public static final Set<String> SESSION_NULLABLE = Set.of("name", "appId", "owner", "proxyUser", "driverLogUrl",
      "sparkUiUrl", "ttl", "idleTimeout", "driverMemory", "executorMemory", "queue");

  public static final String STATEMENT = """
      {"id": 0, "code": "1 + 1", "state": "available",
       "output": {"status": "ok", "execution_count": 0, "data": {"text/plain": "2"}},
       "progress": 1.0, "started": 1700000000000, "completed": 1700000000100}""";
  public static final String STATEMENT_ERROR_OUTPUT = """
      {"status": "error", "execution_count": 1, "ename": "NameError", "evalue": "name 'x' is not defined",
       "traceback": ["Traceback (most recent call last):\\n"]}""";
  public static final Set<String> STATEMENT_NULLABLE = Set.of("output");

  public static final String LOG = """
      {"id": 0, "from": 0, "total": 2, "log": ["a", "b"]}""";
  public static final String STATE = """
      {"id": 0, "state": "idle"}""";
  public static final String VERSION = """
      {"version": "0.8.0-incubating", "user": "builder", "revision": "0123456789abcdef",
       "branch": "branch-0.8", "date": "2023-07-01T00:00:00Z", "url": "https://github.com/apache/incubator-livy"}""";
  public static final String MESSAGE = """
      {"msg": "deleted"}""";

  /**
   * Livy 0.8's batch ({@code BatchSessionView}): for the batches feature's routes. Its list is
   * {@code {"from", "total", "sessions": [...]}} as the interactive one.
   */
  public static final String BATCH = """
      {"id": 0, "name": "pi", "owner": "alice", "proxyUser": "bob", "state": "success",
       "appId": "application_1700000000000_0002",
       "appInfo": {"driverLogUrl": "http://nm:8042/node/containerlogs/container_2/alice",
                   "sparkUiUrl": "http://rm:8088/proxy/application_1700000000000_0002/"},
       "log": ["stdout: ", "stderr: "]}""";
  public static final Set<String> BATCH_NULLABLE = Set.of("name", "owner", "proxyUser", "appId", "driverLogUrl",
      "sparkUiUrl");

  /** Maps whose keys are the user's. */
  private static final Set<String> FREE_MAPS = Set.of("conf", "data");

  private LivyShapes() {}

  public static JsonNode parse(String json) {
    try {
      return JSON.readTree(json);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /**
   * Checks that {@code ours} has exactly the fields of Livy's {@code sample}, in its order, each of
   * the sample's JSON type (or null where {@code nullable} says Livy sends null too), followed by
   * {@code extra} fields of Sparkgate's own only.
   */
  public static void assertShape(String sample, String ours, Set<String> nullable, String... extra) {
    List<String> problems = new ArrayList<>();
    JsonNode theirs = parse(sample);
    JsonNode mine = parse(ours);
    compareObject("", theirs, mine, nullable, List.of(extra), problems);
    if (!problems.isEmpty()) {
      fail("not Livy's shape: " + problems + " in " + ours);
    }
  }

  private static void compareObject(String path, JsonNode theirs, JsonNode mine, Set<String> nullable,
      List<String> extra, List<String> problems) {
    if (!mine.isObject()) {
      problems.add(path + " is " + mine.getNodeType() + ", not an object");
      return;
    }
    List<String> expected = new ArrayList<>(names(theirs));
    expected.addAll(extra);
    if (!expected.equals(names(mine))) {
      problems.add(path + " has fields " + names(mine) + ", Livy's are " + expected);
      return;
    }
    for (String f : names(theirs)) {
      compare(path + "." + f, f, theirs.get(f), mine.get(f), nullable, problems);
    }
  }

  private static void compare(String path, String field, JsonNode theirs, JsonNode mine, Set<String> nullable,
      List<String> problems) {
    if (mine.isNull()) {
      if (!nullable.contains(field)) {
        problems.add(path + " is null, which Livy never sends");
      }
      return;
    }
    if (theirs.isObject()) {
      if (FREE_MAPS.contains(field)) {
        if (!mine.isObject()) {
          problems.add(path + " is " + mine.getNodeType() + ", not an object");
        }
        return;
      }
      if (field.equals("output") && mine.path("status").asText().equals("error")) {
        compareObject(path, parse(STATEMENT_ERROR_OUTPUT), mine, nullable, List.of(), problems);
      } else {
        compareObject(path, theirs, mine, nullable, List.of(), problems);
      }
    } else if (theirs.isArray()) {
      if (!mine.isArray()) {
        problems.add(path + " is " + mine.getNodeType() + ", not an array");
        return;
      }
      JsonNode element = theirs.get(0);
      for (int i = 0; element != null && i < mine.size(); i++) {
        compare(path + "[" + i + "]", field + "[]", element, mine.get(i), nullable, problems);
      }
    } else if (theirs.isIntegralNumber() ? !mine.isIntegralNumber() : theirs.isFloatingPointNumber()
        ? !mine.isNumber() : theirs.getNodeType() != mine.getNodeType()) {
      problems.add(path + " is " + describe(mine) + ", Livy's is " + describe(theirs));
    }
  }

  private static String describe(JsonNode n) {
    return n.isIntegralNumber() ? "an integer" : n.isNumber() ? "a number" : n.getNodeType().toString();
  }

  private static List<String> names(JsonNode n) {
    List<String> out = new ArrayList<>();
    Iterator<String> it = n.fieldNames();
    it.forEachRemaining(out::add);
    return out;
  }

  /** A list object ({@code from/total/sessions}, {@code total_statements/statements}) around {@code element}. */
  public static void assertList(String ours, List<String> fields, String elementsField, String element, Set<String> nullable) {
    JsonNode mine = parse(ours);
    assertEquals(fields, names(mine), ours);
    for (String f : fields) {
      if (!f.equals(elementsField)) {
        assertTrue(mine.get(f).isIntegralNumber(), f + " is not an integer in " + ours);
      }
    }
    assertTrue(mine.get(elementsField).isArray(), ours);
    for (JsonNode e : mine.get(elementsField)) {
      assertShape(element, e.toString(), nullable);
    }
  }
}
