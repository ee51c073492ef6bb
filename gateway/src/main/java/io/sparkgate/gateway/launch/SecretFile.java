package io.sparkgate.gateway.launch;

import io.sparkgate.proto.LaunchContract;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * The session secret as a file, for a driver the environment cannot reach (YARN cluster mode):
 * written in a fresh directory only the gateway's user can enter, shipped with {@code --files}
 * under {@link LaunchContract#SECRET_FILE_NAME}, deleted once spark-submit has uploaded it. Blocking
 * file IO: call off the event loops.
 */
final class SecretFile {

  private SecretFile() {}

  /** Writes {@code secret} into a new private directory and returns the directory. */
  static Path write(String secret) throws IOException {
    Path dir = Files.createTempDirectory("sparkgate-secret-",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    Path file = dir.resolve(LaunchContract.SECRET_FILE_NAME);
    Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    Files.writeString(file, secret, StandardCharsets.US_ASCII, StandardOpenOption.TRUNCATE_EXISTING);
    return dir;
  }

  /** The {@code --files} entry shipping the secret in {@code dir}. */
  static String shipped(Path dir) {
    return dir.resolve(LaunchContract.SECRET_FILE_NAME).toUri().toString();
  }

  /** Removes the secret and its directory; null does nothing. */
  static void delete(Path dir) {
    if (dir == null) {
      return;
    }
    try {
      Files.deleteIfExists(dir.resolve(LaunchContract.SECRET_FILE_NAME));
      Files.deleteIfExists(dir);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
