package io.sparkgate.gateway.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.gateway.testing.GatewayTestBase;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Everything a client can get wrong: each is answered with a 4xx, a JSON {@code {"msg": ...}} saying
 * what is wrong, never a 500 or a hang; and the gateway keeps serving afterwards.
 */
class BadInputTest extends GatewayTestBase {

  private int shared;
  private int pyspark;
  private int failed;

  /** One bad request and what the answer must be. */
  private record Case(String what, HttpMethod method, String path, Buffer body, String contentType, int status,
      String msgContains) {}

  private final List<Case> cases = new ArrayList<>();

  private void bad(String what, HttpMethod method, String path, String body, int status, String msgContains) {
    cases.add(new Case(what, method, path, body == null ? null : Buffer.buffer(body), "application/json", status,
        msgContains));
  }

  @BeforeAll
  void sessions() {
    shared = createSession("{\"name\":\"taken\"}");
    pyspark = createSession("{\"kind\":\"pyspark\"}");
    failed = createSession("{\"kind\":\"spark\",\"conf\":{\"spark.test.behaviour\":\"exit1\"}}");
    awaitState(failed, "error");
  }

  @Test
  void everyBadInputGetsAClearClientError() {
    HttpMethod post = HttpMethod.POST;
    HttpMethod get = HttpMethod.GET;
    String stmts = "/sessions/" + pyspark + "/statements";

    // Bodies that are not a JSON object.
    bad("malformed JSON", post, "/sessions", "{\"kind\": ", 400, "Malformed JSON");
    bad("an array body", post, "/sessions", "[\"spark\"]", 400, "must be a JSON object, not a list");
    bad("a string body", post, "/sessions", "\"spark\"", 400, "must be a JSON object");
    bad("an empty body", post, "/sessions", "", 400, "The request body is empty");
    bad("trailing garbage", post, "/sessions", "{} {}", 400, "Malformed JSON");
    bad("a duplicate key", post, "/sessions", "{\"name\":\"a\",\"name\":\"b\"}", 400, "Duplicate field 'name'");
    bad("deep nesting", post, "/sessions", "[".repeat(5000), 400, "Malformed JSON");
    cases.add(new Case("invalid UTF-8", post, "/sessions", Buffer.buffer(new byte[] {'{', '"', (byte) 0xff, '"', ':', '1', '}'}),
        "application/json", 400, "Malformed JSON"));

    // Fields of the wrong type or value.
    bad("driverCores as a word", post, "/sessions", "{\"driverCores\":\"many\"}", 400,
        "driverCores must be an integer, not \"many\"");
    bad("executorCores zero", post, "/sessions", "{\"executorCores\":0}", 400, "executorCores must be between 1 and 1024");
    bad("driverCores negative", post, "/sessions", "{\"driverCores\":-2}", 400, "driverCores must be between 1 and 1024");
    bad("numExecutors a fraction", post, "/sessions", "{\"numExecutors\":1.5}", 400, "numExecutors must be an integer");
    bad("conf as a list", post, "/sessions", "{\"conf\":[\"spark.a=b\"]}", 400, "conf must be an object");
    bad("conf value an object", post, "/sessions", "{\"conf\":{\"spark.a\":{\"b\":1}}}", 400,
        "conf value of spark.a must be a string, number or boolean");
    bad("conf key the gateway sets", post, "/sessions", "{\"conf\":{\"spark.master\":\"yarn\"}}", 400,
        "spark.master is set by the gateway");
    bad("conf key of ours", post, "/sessions", "{\"conf\":{\"spark.sparkgate.session.id\":\"3\"}}", 400,
        "is set by the gateway");
    bad("jars a string", post, "/sessions", "{\"jars\":\"a.jar\"}", 400, "jars must be a list of strings");
    bad("pyFiles with a number", post, "/sessions", "{\"pyFiles\":[\"a.py\", 3]}", 400,
        "pyFiles must be a list of strings, but holds 3");
    bad("files with a comma", post, "/sessions", "{\"files\":[\"a,b\"]}", 400, "must not contain a comma");
    bad("unknown kind", post, "/sessions", "{\"kind\":\"cobol\"}", 400, "Invalid kind: cobol");
    bad("kind a number", post, "/sessions", "{\"kind\":1}", 400, "kind must be a string");
    bad("bad memory string", post, "/sessions", "{\"driverMemory\":\"2x\"}", 400,
        "driverMemory must be a positive amount of memory such as 512m or 2g, not \"2x\"");
    bad("zero memory", post, "/sessions", "{\"executorMemory\":\"0g\"}", 400, "executorMemory must be a positive");
    bad("negative heartbeat", post, "/sessions", "{\"heartbeatTimeoutInSecond\":-1}", 400,
        "heartbeatTimeoutInSecond must be at least 0");
    bad("unknown field", post, "/sessions", "{\"executorCore\":2}", 400, "Unrecognized field \"executorCore\"");
    bad("name too long", post, "/sessions", "{\"name\":\"" + "n".repeat(300) + "\"}", 400,
        "name has 300 characters, more than the 256 allowed");
    bad("blank name", post, "/sessions", "{\"name\":\"  \"}", 400, "name must not be blank");
    bad("duplicate name", post, "/sessions", "{\"name\":\"taken\"}", 400, "Duplicate session name: taken");
    bad("empty proxyUser", post, "/sessions", "{\"proxyUser\":\"\"}", 400, "proxyUser must not be empty");

    // Unknown and malformed ids.
    bad("unknown session", get, "/sessions/999999", null, 404, "Session '999999' not found.");
    bad("non-numeric session id", get, "/sessions/abc", null, 404, "Session 'abc' not found.");
    bad("negative session id", get, "/sessions/-1/state", null, 404, "Session '-1' not found.");
    bad("overflowing session id", get, "/sessions/99999999999999999999", null, 404, "not found");
    bad("unknown statement", get, stmts + "/77", null, 404, "Statement '77' not found in session " + pyspark);
    bad("non-numeric statement id", get, stmts + "/x1", null, 404, "Statement 'x1' not found");
    bad("cancel an unknown statement", post, stmts + "/5/cancel", null, 404, "Statement '5' not found");
    bad("delete an unknown session", HttpMethod.DELETE, "/sessions/424242", null, 404, "Session '424242' not found.");
    bad("unknown path", get, "/nope", null, 404, "Not found: GET /nope");
    bad("wrong method", HttpMethod.PUT, "/sessions", "{}", 405, "Method PUT is not allowed on /sessions");

    // Statements the session cannot take.
    bad("empty code", post, stmts, "{\"code\":\"\"}", 400, "code must not be empty");
    bad("blank code", post, stmts, "{\"code\":\"  \\n \"}", 400, "code must not be empty");
    bad("no code", post, stmts, "{\"kind\":\"pyspark\"}", 400, "code is required");
    bad("code a number", post, stmts, "{\"code\":42}", 400, "code must be a string, not 42");
    bad("code too long", post, stmts, "{\"code\":\"" + "x".repeat(20_001) + "\"}", 400,
        "code has 20001 characters, more than the 20000 allowed");
    bad("statement kind unknown", post, stmts, "{\"code\":\"1\",\"kind\":\"java\"}", 400, "Invalid kind: java");
    bad("statement on a shared session without kind", post, "/sessions/" + shared + "/statements",
        "{\"code\":\"1 + 1\"}", 400, "needs a kind");
    bad("statement on a failed session", post, "/sessions/" + failed + "/statements",
        "{\"code\":\"1 + 1\",\"kind\":\"spark\"}", 400, "Session " + failed + " is error and cannot run code");
    bad("statement field unknown", post, stmts, "{\"code\":\"1\",\"lang\":\"py\"}", 400, "Unrecognized field \"lang\"");
    bad("completion without cursor", post, "/sessions/" + pyspark + "/completion", "{\"code\":\"sp\"}", 400,
        "cursor is required");
    bad("completion cursor past the end", post, "/sessions/" + pyspark + "/completion",
        "{\"code\":\"sp\",\"cursor\":3}", 400, "cursor 3 is past the end of the code");
    bad("completion cursor negative", post, "/sessions/" + pyspark + "/completion",
        "{\"code\":\"sp\",\"cursor\":-1}", 400, "cursor must be at least 0");

    // Paging.
    bad("negative from", get, "/sessions?from=-5", null, 400, "from must be a non-negative integer, not '-5'");
    bad("negative size", get, "/sessions?size=-1", null, 400, "size must be a non-negative integer");
    bad("non-numeric from", get, "/sessions?from=abc", null, 400, "from must be a non-negative integer, not 'abc'");
    bad("negative log size", get, "/sessions/" + pyspark + "/log?size=-3", null, 400, "size must be a non-negative");
    bad("statement paging", get, stmts + "?from=x", null, 400, "from must be a non-negative integer");

    // Size.
    bad("oversized body", post, "/sessions", "{\"name\":\"" + "b".repeat(70_000) + "\"}", 413,
        "larger than the 65536 bytes allowed");

    assertTrue(cases.size() >= 20);
    int sessionsBefore = get("/sessions").json().getInteger("total");
    List<String> failures = new ArrayList<>();
    for (Case c : cases) {
      Response r = request(c.method(), c.path(), c.body(), c.body() == null ? null : c.contentType());
      if (r.status() != c.status()) {
        failures.add(c.what() + ": expected " + c.status() + ", got " + r.status() + " " + r.body());
        continue;
      }
      String msg;
      try {
        msg = r.msg();
      } catch (AssertionError e) {
        failures.add(c.what() + ": " + e.getMessage());
        continue;
      }
      if (!msg.contains(c.msgContains())) {
        failures.add(c.what() + ": msg \"" + msg + "\" lacks \"" + c.msgContains() + "\"");
      }
    }
    assertEquals(List.of(), failures);

    // Still healthy, and nothing bad was created.
    Response list = get("/sessions");
    assertEquals(200, list.status());
    assertEquals(sessionsBefore, list.json().getInteger("total"), list.body());
    assertEquals(201, post("/sessions", "{\"kind\":\"sql\"}").status());
  }

  @Test
  void integersInStringsAreAcceptedAsLivyDoes() {
    Response r = post("/sessions", "{\"kind\":\"spark\",\"driverCores\":\"2\",\"numExecutors\":0,"
        + "\"conf\":{\"spark.executor.instances\":2,\"spark.dynamicAllocation.enabled\":false},"
        + "\"jars\":null,\"queue\":null}");
    assertEquals(201, r.status(), r.body());
    int id = r.json().getInteger("id");
    awaitTrue("the command line in the log", () -> get("/sessions/" + id + "/log").body().contains("args: "));
    String args = get("/sessions/" + id + "/log").jsonArray("log").stream().map(Object::toString)
        .filter(l -> l.startsWith("args: ")).findFirst().orElseThrow();
    assertTrue(args.contains("--driver-cores 2 "), args);
    assertTrue(args.contains("--num-executors 0 "), args);
    assertTrue(args.contains("--conf spark.executor.instances=2 --conf spark.dynamicAllocation.enabled=false "), args);
  }
}
