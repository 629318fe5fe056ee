package io.dnv.persistence;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/** Reads the database directly, so tests see what reached the tables, not what Pekko says. */
final class Rows {

  private Rows() {}

  /** Identifiers quoted lowercase: H2's tables were created so, and PostgreSQL folds to it. */
  static long count(Database db, String sql, Object... args) {
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        PreparedStatement s = c.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        s.setObject(i + 1, args[i]);
      }
      try (ResultSet r = s.executeQuery()) {
        r.next();
        return r.getLong(1);
      }
    } catch (SQLException e) {
      throw new IllegalStateException(sql + " on " + db, e);
    }
  }

  static boolean tableExists(Database db, String table) {
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        ResultSet r = c.getMetaData().getTables(null, null, table, new String[] {"TABLE"})) {
      return r.next();
    } catch (SQLException e) {
      throw new IllegalStateException("looking up " + table + " on " + db, e);
    }
  }
}
