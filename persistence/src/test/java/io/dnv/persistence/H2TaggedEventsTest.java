package io.dnv.persistence;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.persistence.jdbc.config.ReadJournalConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class H2TaggedEventsTest extends TaggedEventsContract {

  H2TaggedEventsTest(@TempDir Path dataDir) {
    super(Database.h2File(dataDir));
  }

  /**
   * The read side polls for the events after its offset several times a second for as long as
   * the controller runs: the rows H2 looks at must be those after the offset, not every tagged
   * event ever written (the plugin's own query scans them all, once per poll).
   */
  @Test
  void readingAfterAnOffsetLooksOnlyAtTheRowsAfterIt() throws Exception {
    countTo(200);
    long last = Rows.count(db, "select max(\"ordering\") from \"event_journal\"");

    String sql = H2ReadJournalDao.eventsByTagSql(new ReadJournalConfig(kit.system().settings().config().getConfig("jdbc-read-journal")));
    long scanned = 0;
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        PreparedStatement s = c.prepareStatement("EXPLAIN ANALYZE " + sql)) {
      s.setString(1, Counter.oddTag(id));
      s.setLong(2, last - 4);
      s.setLong(3, last);
      s.setLong(4, 500);
      try (ResultSet r = s.executeQuery()) {
        r.next();
        Matcher m = Pattern.compile("scanCount: (\\d+)").matcher(r.getString(1));
        while (m.find()) {
          scanned += Long.parseLong(m.group(1));
        }
      }
    }
    assertTrue(scanned > 0 && scanned <= 20, "rows looked at for the last 4 events of 200 (100 tagged): " + scanned);
  }
}
