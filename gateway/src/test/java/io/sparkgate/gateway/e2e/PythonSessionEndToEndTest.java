package io.sparkgate.gateway.e2e;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A pyspark session end to end through a real driver: the agent's Python process attached to the
 * driver over py4j, Livy's output shapes and magics, big outputs under the gateway's cap, and a
 * Python process that dies. One driver for the class.
 */
class PythonSessionEndToEndTest extends EndToEndTestBase {
  /** The output cap this gateway runs with. */
  private static final int CAP = 256 * 1024;

  private int session;

  @Override
  Map<String, String> settings() {
    return Map.of("sparkgate.statement.max-output-bytes", Integer.toString(CAP));
  }

  @BeforeAll
  void startSession() {
    session = createSession("{\"kind\": \"pyspark\", \"name\": \"e2e-python\", \"conf\": {\"spark.ui.enabled\": \"false\"}}")
        .getInteger("id");
    gw.awaitSessionState(session, "idle", START);
  }

  private JsonObject run(String code) {
    return output(session, null, code);
  }

  private JsonObject data(String code) {
    return data(session, null, code);
  }

  @Test
  void seedPiExampleInPython3() {
    String text = data("""
        import random
        NUM_SAMPLES = 100000
        def sample(p):
          x, y = random.random(), random.random()
          return 1 if x*x + y*y < 1 else 0
        count = sc.parallelize(range(0, NUM_SAMPLES)).map(sample).reduce(lambda a, b: a + b)
        print("Pi is roughly %f" % (4.0 * count / NUM_SAMPLES))
        """).getString("text/plain");
    double pi = Double.parseDouble(text.replace("Pi is roughly", "").trim());
    assertTrue(pi > 3.0 && pi < 3.3, text);
  }

  @Test
  void valueOfTheLastExpression() {
    assertEquals(new JsonObject().put("text/plain", "2"), data("1 + 1"));
  }

  @Test
  void errorAndPython2Code() {
    JsonObject error = run("undefined_name + 1");
    assertEquals("error", error.getString("status"));
    assertEquals("NameError", error.getString("ename"));
    assertEquals("name 'undefined_name' is not defined", error.getString("evalue"));
    assertTrue(error.getJsonArray("traceback").size() > 0, error.encode());

    JsonObject py2 = run("print \"hi\"");
    assertEquals("SyntaxError", py2.getString("ename"), py2.encode());
    assertTrue(py2.getString("evalue").contains("Missing parentheses"), py2.encode());
  }

  @Test
  void magics() {
    assertEquals(new JsonObject().put("a", 1).put("b", new JsonArray().add("x")),
        data("d = {'a': 1, 'b': ['x']}\n%json d").getJsonObject("application/json"));

    JsonObject table = data("t = [{'id': 1, 'name': 'one'}, {'id': 2, 'name': 'two'}]\n%table t")
        .getJsonObject("application/vnd.livy.table.v1+json");
    assertEquals(new JsonArray().add(new JsonArray().add(1).add("one")).add(new JsonArray().add(2).add("two")),
        table.getJsonArray("data"));
    assertEquals(2, table.getJsonArray("headers").size());
    assertEquals("id", table.getJsonArray("headers").getJsonObject(0).getString("name"));

    JsonObject png = data("""
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        plt.plot([1, 2, 3], [1, 4, 9])
        %matplot plt
        """);
    byte[] image = Base64.getDecoder().decode(png.getString("image/png"));
    assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, Arrays.copyOf(image, 8));
  }

  @Test
  void tenThousandLinesComeWhole() {
    String text = data("for i in range(10000):\n    print('line %05d' % i)").getString("text/plain");
    String[] lines = text.split("\n");
    assertEquals(10000, lines.length);
    assertEquals("line 00000", lines[0]);
    assertEquals("line 09999", lines[9999]);
  }

  @Test
  void tenMegabyteResultIsCutAtTheCapWithAMark() {
    JsonObject output = run("'x' * (10 * 1024 * 1024)");
    assertEquals("ok", output.getString("status"), "a big result is not an error");
    String text = output.getJsonObject("data").getString("text/plain");
    assertTrue(text.length() <= CAP + 200, "at most the cap plus the mark: " + text.length());
    assertTrue(text.startsWith("'xxxxxxxx"), text.substring(0, 20));
    assertTrue(text.contains("[output truncated:"), text.substring(text.length() - 200));
  }

  @Test
  void sparkmagicSqlForm() {
    String text = data("spark.sql(\"select 1 as a, 'x' as b\").toJSON().take(2500)").getString("text/plain");
    assertEquals("['{\"a\":1,\"b\":\"x\"}']", text.strip());
  }

  @Test
  void completion() {
    RealSparkGateway.Answer a = gw.post("/sessions/" + session + "/completion",
        "{\"code\": \"sc.paral\", \"kind\": \"pyspark\", \"cursor\": 8}");
    assertEquals(200, a.status(), a.response().body());
    assertTrue(a.json().getJsonArray("candidates").contains("parallelize"), a.json().encode());
  }

  @Test
  void deadPythonProcessFailsItsStatementAndIsRestarted() {
    run("kept = 41");
    JsonObject died = run("import os\nos._exit(3)");
    assertEquals("error", died.getString("status"), died.encode());
    assertTrue(died.getString("evalue").contains("exited with code 3"), died.encode());
    // A fresh process: the session survives, its Python variables do not.
    assertEquals(new JsonObject().put("text/plain", "2"), data("1 + 1"));
    assertEquals("NameError", run("kept").getString("ename"));
    assertEquals("idle", gw.get("/sessions/" + session + "/state").json().getString("state"));
  }
}
