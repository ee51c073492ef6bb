package io.sparkgate.gateway.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * The state store on the local file system (the default). Key {@code a/b} is the file
 * {@code dir/a/b.rec}; its children live in the directory {@code dir/a/b/}.
 *
 * <p>A put writes a temporary file in the same directory, forces it to disk, renames it over the
 * record atomically and forces the directory, so a crash at any moment leaves either the old record
 * or the new one, never a torn one. Records hold per-session secrets: files are created {@code 0600}
 * and directories {@code 0700}.
 */
public final class FileStateStore implements StateStore {

  static final String SUFFIX = ".rec";
  private static final String TEMP_PREFIX = ".tmp-";
  private static final Set<PosixFilePermission> FILE_MODE = PosixFilePermissions.fromString("rw-------");
  private static final Set<PosixFilePermission> DIR_MODE = PosixFilePermissions.fromString("rwx------");

  private final Path root;

  /** A store under {@code root}, created (mode 0700) if missing. */
  public FileStateStore(Path root) throws IOException {
    this.root = root.toAbsolutePath().normalize();
    createDirectories(this.root);
    if (!Files.isWritable(this.root)) {
      throw new IOException("state store directory " + this.root + " is not writable");
    }
    removeTempFiles();
  }

  public Path root() {
    return root;
  }

  @Override
  public void put(String key, byte[] value) throws IOException {
    Path file = file(key);
    Path dir = file.getParent();
    createDirectories(dir);
    Path temp = dir.resolve(TEMP_PREFIX + UUID.randomUUID());
    try (FileChannel ch = FileChannel.open(temp, EnumSet.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
        PosixFilePermissions.asFileAttribute(FILE_MODE))) {
      ByteBuffer buf = ByteBuffer.wrap(value);
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
      ch.force(true);
    } catch (IOException e) {
      Files.deleteIfExists(temp);
      throw e;
    }
    Files.move(temp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    forceDirectory(dir);
  }

  @Override
  public byte[] get(String key) throws IOException {
    try {
      return Files.readAllBytes(file(key));
    } catch (NoSuchFileException e) {
      return null;
    }
  }

  @Override
  public List<String> children(String key) throws IOException {
    Path dir = root.resolve(StateStore.checkKey(key));
    Set<String> names = new LinkedHashSet<>();
    try (DirectoryStream<Path> entries = Files.newDirectoryStream(dir)) {
      for (Path p : entries) {
        String name = p.getFileName().toString();
        if (name.startsWith(TEMP_PREFIX)) {
          continue;
        }
        if (name.endsWith(SUFFIX)) {
          names.add(name.substring(0, name.length() - SUFFIX.length()));
        } else if (Files.isDirectory(p)) {
          names.add(name);
        }
      }
    } catch (NoSuchFileException e) {
      return List.of();
    }
    return new ArrayList<>(names);
  }

  @Override
  public void delete(String key) throws IOException {
    Path file = file(key);
    Path dir = root.resolve(key);
    // The children first: a crash half-way leaves a record whose children are partly gone, which a
    // reload reads as the record with fewer children, never children without their record.
    if (Files.isDirectory(dir)) {
      Files.walkFileTree(dir, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
          Files.deleteIfExists(f);
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
          Files.deleteIfExists(d);
          return FileVisitResult.CONTINUE;
        }
      });
    }
    if (Files.deleteIfExists(file)) {
      forceDirectory(file.getParent());
    }
  }

  @Override
  public String describe() {
    return "files under " + root;
  }

  @Override
  public void close() {}

  private Path file(String key) {
    StateStore.checkKey(key);
    return root.resolve(key + SUFFIX);
  }

  private static void createDirectories(Path dir) throws IOException {
    if (Files.isDirectory(dir)) {
      return;
    }
    Path parent = dir.getParent();
    if (parent != null) {
      createDirectories(parent);
    }
    try {
      Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(DIR_MODE));
      if (parent != null) {
        forceDirectory(parent);
      }
    } catch (FileAlreadyExistsException e) {
      if (!Files.isDirectory(dir)) {
        throw e;
      }
    }
  }

  /** Makes a rename or a new entry in {@code dir} durable (Linux allows fsync on a directory). */
  private static void forceDirectory(Path dir) throws IOException {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    }
  }

  /** Left by a crash between writing a temporary file and renaming it. */
  private void removeTempFiles() throws IOException {
    Files.walkFileTree(root, new SimpleFileVisitor<>() {
      @Override
      public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
        if (f.getFileName().toString().startsWith(TEMP_PREFIX)) {
          Files.deleteIfExists(f);
        }
        return FileVisitResult.CONTINUE;
      }
    });
  }
}
