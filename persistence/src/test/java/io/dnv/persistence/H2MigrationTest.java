package io.dnv.persistence;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;
import java.util.Random;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class H2MigrationTest extends MigrationContract {

  H2MigrationTest(@TempDir Path dataDir) {
    super(Database.h2File(dataDir));
  }

  @Test
  void aNewFileGetsTheJournalSchemaAndTheReadSide() {
    assertEquals(3, db.migrate());
  }

  /** A journal from before Volume tagged its events: V2 tags them, and only Volume's. */
  @Test
  void volumeEventsWrittenBeforeTheReadSideAreTaggedByV2() throws SQLException {
    migrateTo("1");
    untaggedEvent("Volume|old", 1);
    untaggedEvent("Volume|old", 2);
    untaggedEvent("Leg|old/0", 1);
    assertEquals(2, db.migrate());
    assertEquals(2, Rows.count(db, "select count(*) from \"event_tag\" t join \"event_journal\" j on t.\"event_id\" = j.\"ordering\""
        + " where t.\"tag\" = 'volume' and j.\"persistence_id\" = 'Volume|old'"));
    assertEquals(2, Rows.count(db, "select count(*) from \"event_tag\""), "the Leg event stays untagged");
  }

  /** A journal written with the plugin's BLOBs: V3 turns them into VARBINARY and keeps every byte and NOT NULL. */
  @Test
  void payloadsWrittenAsBlobsStayWhole() throws SQLException {
    migrateTo("2");
    byte[] payload = new byte[64 * 1024];
    new Random(3).nextBytes(payload);
    event("Volume|big", 1, payload);
    List<String> nullable = V3__H2PayloadsInRows.PAYLOADS.stream().map(c -> isNullable(c)).toList();
    assertEquals(1, db.migrate());
    for (List<String> column : V3__H2PayloadsInRows.PAYLOADS) {
      assertEquals("BINARY VARYING", Rows.string(db, "select data_type from information_schema.columns where table_name = '"
          + column.get(0) + "' and column_name = '" + column.get(1) + "'"), column.toString());
    }
    assertEquals(nullable, V3__H2PayloadsInRows.PAYLOADS.stream().map(c -> isNullable(c)).toList(), "NOT NULL as before");
    assertEquals("NO", nullable.get(0), "event_payload is NOT NULL");
    assertArrayEquals(payload, Rows.bytes(db, "select \"event_payload\" from \"event_journal\" where \"persistence_id\" = 'Volume|big'"));
  }

  private String isNullable(List<String> column) {
    return Rows.string(db, "select is_nullable from information_schema.columns where table_name = '" + column.get(0)
        + "' and column_name = '" + column.get(1) + "'");
  }

  private void migrateTo(String version) {
    Flyway.configure(getClass().getClassLoader()).dataSource(db.url(), db.user(), db.password())
        .locations(SchemaMigrations.SQL_LOCATION).javaMigrations(new V1__PekkoJournalSchema(), new V3__H2PayloadsInRows())
        .target(version).load().migrate();
  }

  private void untaggedEvent(String persistenceId, long sequenceNr) throws SQLException {
    event(persistenceId, sequenceNr, new byte[] {0});
  }

  private void event(String persistenceId, long sequenceNr, byte[] payload) throws SQLException {
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        PreparedStatement s = c.prepareStatement("insert into \"event_journal\" (\"persistence_id\", \"sequence_number\","
            + " \"writer\", \"write_timestamp\", \"adapter_manifest\", \"event_payload\", \"event_ser_id\", \"event_ser_manifest\")"
            + " values (?, ?, 'test', 0, '', ?, 33, 'io.dnv.core.volume.Volume$Converged')")) {
      s.setString(1, persistenceId);
      s.setLong(2, sequenceNr);
      s.setBytes(3, payload);
      s.executeUpdate();
    }
  }
}
