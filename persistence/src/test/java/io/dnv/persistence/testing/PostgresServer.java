package io.dnv.persistence.testing;

import io.dnv.persistence.Database;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

/**
 * A PostgreSQL 15 server of its own in a temporary directory, on a free loopback port, with
 * role and database {@code dnv} (the role may create more databases); {@link #close()} stops it
 * and deletes the directory.
 */
public final class PostgresServer implements AutoCloseable {

  static final Path BIN = Path.of("/usr/lib/postgresql/15/bin");
  private static final String ROLE = "dnv";
  private static final boolean ROOT = "root".equals(System.getProperty("user.name"));

  private final Path dir;
  private final int port;
  private final AtomicBoolean closed = new AtomicBoolean();

  private PostgresServer(Path dir, int port) {
    this.dir = dir;
    this.port = port;
  }

  public static PostgresServer start() {
    if (!Files.isExecutable(BIN.resolve("initdb")) || !Files.isExecutable(BIN.resolve("pg_ctl"))) {
      throw new IllegalStateException("PostgreSQL 15 server binaries are not in " + BIN
          + ": install them with `apt-get install postgresql` (Debian 12), or point the tests at"
          + " a running server with " + ThrowawayPostgres.URL_ENV + ", " + ThrowawayPostgres.USER_ENV
          + " and " + ThrowawayPostgres.PASSWORD_ENV);
    }
    Path dir = createOwnedDirectory();
    PostgresServer server = new PostgresServer(dir, freePort());
    try {
      server.initAndStart();
      server.createRoleAndDatabase();
      return server;
    } catch (RuntimeException e) {
      server.close();
      throw e;
    }
  }

  public Database database() {
    return Database.postgres("jdbc:postgresql://127.0.0.1:" + port + "/" + ROLE, ROLE, ROLE);
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      if (Files.exists(dir.resolve("data/postmaster.pid"))) {
        asPostgres(q(BIN.resolve("pg_ctl")) + " -D " + q(dir.resolve("data")) + " -m fast -w stop");
      }
    } finally {
      deleteTree(dir);
    }
  }

  private void initAndStart() {
    // Throwaway: trust on loopback and no fsync, since nothing here must survive a crash.
    asPostgres(q(BIN.resolve("initdb")) + " -D " + q(dir.resolve("data"))
        + " -U postgres -A trust -E UTF8 --no-locale --no-sync");
    String options = "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=off";
    asPostgres(q(BIN.resolve("pg_ctl")) + " -D " + q(dir.resolve("data"))
        + " -l " + q(dir.resolve("server.log")) + " -o " + q(options) + " -w -t 60 start");
  }

  private void createRoleAndDatabase() {
    String admin = "jdbc:postgresql://127.0.0.1:" + port + "/postgres";
    try (Connection c = DriverManager.getConnection(admin, "postgres", "");
        Statement s = c.createStatement()) {
      // CREATEDB: a test running a whole cluster takes a database of its own (ThrowawayPostgres.ownDatabase).
      s.execute("CREATE ROLE " + ROLE + " LOGIN CREATEDB PASSWORD '" + ROLE + "'");
      s.execute("CREATE DATABASE " + ROLE + " OWNER " + ROLE);
    } catch (SQLException e) {
      throw new IllegalStateException("creating role and database " + ROLE + " on " + admin, e);
    }
  }

  /** PostgreSQL refuses to run as root, so as root every step runs as the postgres user. */
  private void asPostgres(String command) {
    List<String> argv = ROOT
        ? List.of("su", "postgres", "-s", "/bin/sh", "-c", command)
        : List.of("/bin/sh", "-c", command);
    Path output = dir.resolve("command.out");
    try {
      // To a file, read back only to explain a failure: no thread has to drain a pipe.
      Process p = new ProcessBuilder(argv).redirectErrorStream(true).redirectOutput(output.toFile()).start();
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IllegalStateException("timed out after 120 s: " + command);
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException("exit " + p.exitValue() + ": " + command + "\n"
            + Files.readString(output, StandardCharsets.UTF_8) + serverLog());
      }
    } catch (IOException e) {
      throw new UncheckedIOException(command, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted: " + command, e);
    }
  }

  private String serverLog() throws IOException {
    Path log = dir.resolve("server.log");
    return Files.exists(log) ? "server.log:\n" + Files.readString(log, StandardCharsets.UTF_8) : "";
  }

  private static Path createOwnedDirectory() {
    try {
      Path dir = Files.createTempDirectory("dnv-pg-");
      if (ROOT) {
        UserPrincipal postgres = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
        Files.setOwner(dir, postgres);
      }
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException("creating a directory for PostgreSQL (is there a postgres user?)", e);
    }
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("finding a free loopback port", e);
    }
  }

  private static String q(Object word) {
    return "'" + word.toString().replace("'", "'\\''") + "'";
  }

  private static void deleteTree(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("deleting " + root, e);
    }
  }
}
