package io.sparkgate.agent.interp;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparkgate.proto.Event;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The Scala interpreter against a real local SparkSession, called directly (no runner). */
class ScalaInterpreterTest {
  private static TestSpark spark;

  @BeforeAll
  static void startSpark() throws Exception {
    spark = TestSpark.start("ScalaInterpreterTest");
  }

  @AfterAll
  static void stopSpark() {
    if (spark != null) {
      spark.close();
    }
  }

  private static ExecuteResult run(String code) {
    return spark.scala.execute(code, new CapturedOutput(CapturedOutput.DEFAULT_LIMIT_BYTES));
  }

  private static String text(ExecuteResult result) {
    ExecuteResult.Ok ok = assertInstanceOf(ExecuteResult.Ok.class, result, () -> "expected ok, got " + result);
    return (String) ok.data().get(ExecuteResult.TEXT_PLAIN);
  }

  private static void assertMatches(String regex, String actual) {
    assertTrue(Pattern.compile(regex, Pattern.DOTALL).matcher(actual).matches(),
        () -> "expected to match " + regex + "\nbut was: " + actual);
  }

  @Test
  void sparkJobResultIsTheReplResultLine() {
    String text = text(run("sc.parallelize(1 to 100000).map(_ * 2).sum"));
    assertMatches("val res\\d+: Double = 1\\.00001E10\n", text);
  }

  @Test
  void sparkSessionAndImportsAreBoundAsInSparkShell() {
    assertMatches("val res\\d+: String = 4\\.2\\.0\n", text(run("spark.version")));
    // spark.implicits._ (toDF) and functions._ (col) are imported.
    assertMatches("val res\\d+: Long = 2\n", text(run("Seq(1, 2, 3).toDF(\"n\").where(col(\"n\") > 1).count()")));
  }

  @Test
  void printedOutputComesBeforeTheResultLine() {
    CapturedOutput output = new CapturedOutput(CapturedOutput.DEFAULT_LIMIT_BYTES);
    ExecuteResult result = spark.scala.execute(
        "println(\"from scala\"); System.out.println(\"from java\"); System.err.println(\"to stderr\"); 6 * 7", output);
    assertMatches("from scala\nfrom java\nto stderr\nval res\\d+: Int = 42\n", text(result));
    List<CapturedOutput.Piece> pieces = output.drain(true);
    assertEquals(new CapturedOutput.Piece(Event.Stream.STDOUT, "from scala\nfrom java\n"), pieces.get(0));
    assertEquals(new CapturedOutput.Piece(Event.Stream.STDERR, "to stderr\n"), pieces.get(1));
    assertEquals(Event.Stream.STDOUT, pieces.get(2).stream());
  }

  @Test
  void outputOfThreadsTheStatementStartsIsCaptured() {
    String text = text(run(
        "val t = new Thread(() => { println(\"child println\"); System.out.println(\"child System.out\") })\n"
            + "t.start(); t.join()"));
    assertTrue(text.startsWith("child println\nchild System.out\n"), text);
  }

  @Test
  void definitionsSpanningLinesAndTrailingCommentsWork() {
    String text = text(run("def twice(x: Int) =\n  x * 2\nval four = twice(2)\n// done"));
    assertEquals("def twice(x: Int): Int\nval four: Int = 4\n", text);
  }

  @Test
  void onlyCommentsIsAnEmptySuccess() {
    assertEquals("", text(run("// nothing to do\n/* really */")));
  }

  @Test
  void compileErrorHasLivysShape() {
    ExecuteResult.Failure failure = assertInstanceOf(ExecuteResult.Failure.class, run("val y = 1\nundefinedName42 + y"));
    assertEquals("Error", failure.ename());
    assertEquals("<console>:2: error: not found: value undefinedName42", failure.evalue());
    assertEquals(List.of("undefinedName42 + y\n", "^\n"), failure.traceback());
  }

  @Test
  void runtimeExceptionHasLivysShape() {
    ExecuteResult.Failure failure = assertInstanceOf(ExecuteResult.Failure.class,
        run("def boom(): Int = throw new IllegalStateException(\"kaboom\")\nboom()"));
    assertEquals("Error", failure.ename());
    assertEquals("java.lang.IllegalStateException: kaboom", failure.evalue());
    assertTrue(failure.traceback().get(0).contains("boom("), failure.traceback().toString());
    assertTrue(failure.traceback().stream().allMatch(line -> line.endsWith("\n")), failure.traceback().toString());

    ExecuteResult.Failure division = assertInstanceOf(ExecuteResult.Failure.class, run("1 / 0"));
    assertEquals("java.lang.ArithmeticException: / by zero", division.evalue());
  }

  @Test
  void theInterpreterStaysUsableAfterAnException() {
    run("throw new RuntimeException(\"first\")");
    assertMatches("val res\\d+: Int = 3\n", text(run("1 + 2")));
  }

  @Test
  void incompleteInputIsAnError() {
    assertEquals(new ExecuteResult.Failure("Error", "incomplete statement", List.of()), run("sc."));
    assertEquals(new ExecuteResult.Failure("Error", "incomplete statement", List.of()), run("def f(x: Int) = {"));
  }

  @Test
  void warningsWithAPositionAreShownSummariesAreNot() {
    String pure = text(run("1; 2"));
    assertMatches("<console>:1: warning: a pure expression does nothing.*\n1; 2\n\\^\nval res\\d+: Int = 2\n", pure);
    String deprecated = text(run("@deprecated(\"old\", \"1.0\") def legacy = 1\nlegacy"));
    assertMatches("def legacy: Int\nval res\\d+: Int = 1\n", deprecated);
  }

  @Test
  void completesMembers() {
    List<String> candidates = spark.scala.complete("spark.ran", "spark.ran".length());
    assertTrue(candidates.contains("range"), candidates.toString());
    assertFalse(candidates.contains("sql"), candidates.toString());
  }

  @Test
  void outputPastTheCapIsCutAndMarked() {
    CapturedOutput output = new CapturedOutput(100);
    ExecuteResult.Ok ok = assertInstanceOf(ExecuteResult.Ok.class,
        spark.scala.execute("print(\"x\" * 150); 1", output));
    assertTrue(ok.truncated());
    String text = (String) ok.data().get(ExecuteResult.TEXT_PLAIN);
    assertTrue(text.startsWith("x".repeat(100) + "\n[output truncated: "), text);
  }
}
