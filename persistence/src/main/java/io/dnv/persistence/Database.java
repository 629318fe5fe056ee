package io.dnv.persistence;

import java.nio.file.Path;

/**
 * A JDBC target for the journal, the snapshot store and the read side.
 *
 * @param url a {@code jdbc:h2:} or {@code jdbc:postgresql:} URL
 */
public record Database(String url, String user, String password) {

  public Database {
    Vendor.ofUrl(url);
  }

  /**
   * The embedded default: file {@code <dataDir>/dnv.mv.db}, opened in this JVM only.
   *
   * <p>DB_CLOSE_ON_EXIT=FALSE: H2's own shutdown hook would otherwise close the database while
   * Pekko's coordinated shutdown (also a JVM shutdown hook) may still be writing events. The
   * database closes, and flushes, when its last connection does: the journal's pool is closed
   * when the ActorSystem terminates. No DB_CLOSE_DELAY=-1, which would keep it open (and
   * unflushed) past that. No AUTO_SERVER: one process owns the file.
   */
  public static Database h2File(Path dataDir) {
    Path file = dataDir.toAbsolutePath().resolve("dnv");
    return new Database("jdbc:h2:file:" + file + ";DB_CLOSE_ON_EXIT=FALSE", "sa", "");
  }

  public static Database postgres(String url, String user, String password) {
    if (Vendor.ofUrl(url) != Vendor.POSTGRESQL) {
      throw new IllegalArgumentException("not a PostgreSQL URL: " + url);
    }
    return new Database(url, user, password);
  }

  /**
   * Brings the schema up to date; a database already there is left alone.
   *
   * @return how many migrations were applied now
   */
  public int migrate() {
    return SchemaMigrations.apply(this);
  }

  Vendor vendor() {
    return Vendor.ofUrl(url);
  }

  /** Never prints the password: a Database ends up in logs and exception messages. */
  @Override
  public String toString() {
    return "Database[" + url + " as " + user + "]";
  }
}
