package io.sparkgate.gateway.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * A Spark home whose {@code bin/spark-submit} is a shell script, and an empty agent jar.
 *
 * <p>A test double, used only where the real spark-submit cannot provoke what a test checks
 * reliably: a launcher that exits at once with an error, a driver that never becomes ready (start
 * timeout), a driver with children (process-tree kill), and the exact command line and environment
 * a driver receives. Sessions with a real driver are the end-to-end test's job.
 *
 * <p>What the script does is chosen by the session's Spark conf {@code spark.test.behaviour}:
 * <ul>
 *   <li>absent: prints a few lines, then becomes {@code sleep 600} (a driver that never reports);</li>
 *   <li>{@code exit1}: prints an error to stderr and exits 1;</li>
 *   <li>{@code exit0}: exits 0 at once;</li>
 *   <li>{@code tree}: starts a child {@code sleep 600}, prints its pid, and waits for it.</li>
 * </ul>
 * It always prints {@code pid <pid>}, its arguments ({@code args: ...}) and the SHA-256 of the
 * session secret it got in its environment ({@code secret-sha256: ...}), never the secret itself.
 */
public final class FakeSpark {

  private static final String SCRIPT = """
      #!/bin/sh
      echo "pid $$"
      echo "args: $*"
      if [ -n "$SPARKGATE_SESSION_SECRET" ]; then
        echo "secret-sha256: $(printf %s "$SPARKGATE_SESSION_SECRET" | sha256sum | cut -d' ' -f1)"
      fi
      case "$*" in
        *spark.test.behaviour=exit1*) echo "Error: the cluster said no" >&2; exit 1 ;;
        *spark.test.behaviour=exit0*) exit 0 ;;
        *spark.test.behaviour=tree*) sleep 600 & echo "child $!"; wait ;;
        *) exec sleep 600 ;;
      esac
      """;

  public final Path home;
  public final Path agentJar;

  private FakeSpark(Path home, Path agentJar) {
    this.home = home;
    this.agentJar = agentJar;
  }

  /** Removes the temporary directory. */
  public void delete() {
    Path root = home.getParent();
    try (var paths = Files.walk(root)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Creates the Spark home and the agent jar under a fresh temporary directory. */
  public static FakeSpark create() {
    try {
      Path root = Files.createTempDirectory("sparkgate-fake-spark");
      Path bin = Files.createDirectories(root.resolve("spark/bin"));
      Path submit = bin.resolve("spark-submit");
      Files.writeString(submit, SCRIPT);
      Files.setPosixFilePermissions(submit, PosixFilePermissions.fromString("rwxr-xr-x"));
      Path jar = Files.writeString(root.resolve("sparkgate-driver-agent.jar"), "");
      return new FakeSpark(root.resolve("spark"), jar);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
