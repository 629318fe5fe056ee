package io.dnv.persistence;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.io.TempDir;

class H2TaggedEventsTest extends TaggedEventsContract {

  H2TaggedEventsTest(@TempDir Path dataDir) {
    super(Database.h2File(dataDir));
  }

  /** H2 counts the rows each table's scan looked at in its EXPLAIN ANALYZE. */
  @Override
  long rowsRead(String sql, Object... parameters) throws SQLException {
    long scanned = 0;
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        PreparedStatement s = Rows.bound(c, "EXPLAIN ANALYZE " + sql, parameters)) {
      try (ResultSet r = s.executeQuery()) {
        r.next();
        Matcher m = Pattern.compile("scanCount: (\\d+)").matcher(r.getString(1));
        while (m.find()) {
          scanned += Long.parseLong(m.group(1));
        }
      }
    }
    return scanned;
  }
}
