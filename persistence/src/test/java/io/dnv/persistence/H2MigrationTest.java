package io.dnv.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class H2MigrationTest extends MigrationContract {

  H2MigrationTest(@TempDir Path dataDir) {
    super(Database.h2File(dataDir));
  }

  @Test
  void aNewFileGetsTheJournalSchemaAndTheReadSide() {
    assertEquals(2, db.migrate());
  }

  /** A journal from before Volume tagged its events: V2 tags them, and only Volume's. */
  @Test
  void volumeEventsWrittenBeforeTheReadSideAreTaggedByV2() throws SQLException {
    Flyway.configure(getClass().getClassLoader()).dataSource(db.url(), db.user(), db.password())
        .locations(SchemaMigrations.SQL_LOCATION).javaMigrations(new V1__PekkoJournalSchema())
        .target("1").load().migrate();
    untaggedEvent("Volume|old", 1);
    untaggedEvent("Volume|old", 2);
    untaggedEvent("Leg|old/0", 1);
    assertEquals(1, db.migrate());
    assertEquals(2, Rows.count(db, "select count(*) from \"event_tag\" t join \"event_journal\" j on t.\"event_id\" = j.\"ordering\""
        + " where t.\"tag\" = 'volume' and j.\"persistence_id\" = 'Volume|old'"));
    assertEquals(2, Rows.count(db, "select count(*) from \"event_tag\""), "the Leg event stays untagged");
  }

  private void untaggedEvent(String persistenceId, long sequenceNr) throws SQLException {
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        PreparedStatement s = c.prepareStatement("insert into \"event_journal\" (\"persistence_id\", \"sequence_number\","
            + " \"writer\", \"write_timestamp\", \"adapter_manifest\", \"event_payload\", \"event_ser_id\", \"event_ser_manifest\")"
            + " values (?, ?, 'test', 0, '', ?, 33, 'io.dnv.core.volume.Volume$Converged')")) {
      s.setString(1, persistenceId);
      s.setLong(2, sequenceNr);
      s.setBytes(3, new byte[] {0});
      s.executeUpdate();
    }
  }
}
