package io.dnv.persistence;

import io.dnv.persistence.testing.ThrowawayPostgres;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(ThrowawayPostgres.class)
class PostgresTaggedEventsTest extends TaggedEventsContract {

  private static final Pattern ACTUAL_ROWS = Pattern.compile("actual time=[0-9.]+\\.\\.[0-9.]+ rows=([0-9.]+) loops=(\\d+)");
  private static final Pattern FILTERED = Pattern.compile("Rows Removed by Filter: (\\d+)");

  PostgresTaggedEventsTest(Database db) {
    super(db);
  }

  /**
   * The rows the plan's scans returned and those their filters dropped, summed (a scan that
   * filters out every old row returns few but reads them all; the nodes above a scan only see
   * what it returned). The plan is the generic one: a prepared query (the plugin's are) is
   * planned once for any parameters after a few executions, and it is that plan which read the
   * tag table from its start.
   */
  @Override
  long rowsRead(String sql, Object... parameters) throws SQLException {
    StringBuilder numbered = new StringBuilder();
    int n = 0;
    for (char ch : sql.toCharArray()) {
      numbered.append(ch == '?' ? "$" + ++n : String.valueOf(ch));
    }
    StringBuilder values = new StringBuilder();
    for (Object p : parameters) {
      values.append(values.length() == 0 ? "" : ", ").append(p instanceof String ? "'" + p + "'" : p.toString());
    }
    long rows = 0;
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        Statement s = c.createStatement()) {
      s.execute("SET plan_cache_mode = force_generic_plan");
      s.execute("PREPARE poll AS " + numbered);
      try (ResultSet r = s.executeQuery("EXPLAIN (ANALYZE) EXECUTE poll(" + values + ")")) {
        while (r.next()) {
          String line = r.getString(1);
          Matcher m = ACTUAL_ROWS.matcher(line);
          if (line.contains(" Scan ") && m.find()) {
            rows += Math.round(Double.parseDouble(m.group(1)) * Long.parseLong(m.group(2)));
          }
          Matcher f = FILTERED.matcher(line);
          if (f.find()) {
            rows += Long.parseLong(f.group(1));
          }
        }
      }
    }
    return rows;
  }
}
