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
    return first(db, sql, r -> r.getLong(1), args);
  }

  static String string(Database db, String sql, Object... args) {
    return first(db, sql, r -> r.getString(1), args);
  }

  static byte[] bytes(Database db, String sql, Object... args) {
    return first(db, sql, r -> r.getBytes(1), args);
  }

  /** Runs an UPDATE or DELETE; answers the rows it changed. */
  static int update(Database db, String sql, Object... args) {
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        PreparedStatement s = bound(c, sql, args)) {
      return s.executeUpdate();
    } catch (SQLException e) {
      throw new IllegalStateException(sql + " on " + db, e);
    }
  }

  /** {@code sql} prepared on {@code c} with {@code args} bound in order. */
  static PreparedStatement bound(Connection c, String sql, Object... args) throws SQLException {
    PreparedStatement s = c.prepareStatement(sql);
    for (int i = 0; i < args.length; i++) {
      s.setObject(i + 1, args[i]);
    }
    return s;
  }

  private interface Column<T> {
    T read(ResultSet row) throws SQLException;
  }

  /** The first column of the first row; a query that finds no row fails. */
  private static <T> T first(Database db, String sql, Column<T> column, Object... args) {
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        PreparedStatement s = bound(c, sql, args)) {
      try (ResultSet r = s.executeQuery()) {
        if (!r.next()) {
          throw new IllegalStateException("no row: " + sql);
        }
        return column.read(r);
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
