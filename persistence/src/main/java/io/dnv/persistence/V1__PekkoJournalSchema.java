package io.dnv.persistence;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.List;
import org.apache.pekko.persistence.jdbc.journal.JdbcAsyncWriteJournal;
import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;

/**
 * The tables pekko-persistence-jdbc writes (event_journal, event_tag, snapshot, durable_state),
 * created from the DDL its own jar ships, so the schema is always the one the plugin on the
 * classpath expects and the project carries no copy of it. Flyway cannot run those files
 * itself: their names are not {@code V<n>__*.sql}.
 */
final class V1__PekkoJournalSchema extends BaseJavaMigration {

  @Override
  public void migrate(Context context) throws SQLException {
    Connection connection = context.getConnection();
    Vendor vendor = Vendor.ofProductName(connection.getMetaData().getDatabaseProductName());
    try (Statement statement = connection.createStatement()) {
      for (String sql : statements(vendor)) {
        statement.execute(sql);
      }
    }
  }

  static List<String> statements(Vendor vendor) {
    String script = pluginResource(vendor.journalSchemaResource);
    if (vendor == Vendor.POSTGRESQL) {
      // CONCURRENTLY cannot run inside Flyway's transaction, and outside it waits forever on
      // Flyway's own lock; the tables are new and empty here, so a plain index costs nothing.
      script = script.replaceAll("(?i)CREATE\\s+INDEX\\s+CONCURRENTLY\\s+(IF\\s+NOT\\s+EXISTS\\s+)?", "CREATE INDEX IF NOT EXISTS ");
    }
    return Arrays.stream(script.split(";")).map(String::strip).filter(s -> !s.isEmpty()).toList();
  }

  private static String pluginResource(String path) {
    try (InputStream in = JdbcAsyncWriteJournal.class.getClassLoader().getResourceAsStream(path)) {
      if (in == null) {
        throw new IllegalStateException(path + " is missing from pekko-persistence-jdbc on the classpath");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("reading " + path, e);
    }
  }
}
