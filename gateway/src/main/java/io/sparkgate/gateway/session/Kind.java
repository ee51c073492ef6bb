package io.sparkgate.gateway.session;

import java.util.Locale;

/**
 * The language of a session or statement, with Livy's names. A session created without a kind is
 * shared: each statement then names its own.
 */
public enum Kind {
  SPARK("spark"),
  PYSPARK("pyspark"),
  SPARKR("sparkr"),
  SQL("sql");

  /** The name Livy shows for a session created without a kind. */
  public static final String SHARED = "shared";

  private final String livyName;

  Kind(String livyName) {
    this.livyName = livyName;
  }

  /** The name in Livy's JSON and in the agent protocol. */
  public String livyName() {
    return livyName;
  }

  /**
   * The kind named {@code name}, accepting Livy's aliases ({@code scala}, {@code python}, {@code r}),
   * case-insensitively.
   *
   * @throws IllegalArgumentException for any other name
   */
  public static Kind parse(String name) {
    return switch (name.toLowerCase(Locale.ROOT)) {
      case "spark", "scala" -> SPARK;
      case "pyspark", "python" -> PYSPARK;
      case "sparkr", "r" -> SPARKR;
      case "sql" -> SQL;
      default -> throw new IllegalArgumentException(
          "Invalid kind: " + name + " (expected spark, pyspark, sparkr or sql)");
    };
  }

  @Override
  public String toString() {
    return livyName;
  }
}
