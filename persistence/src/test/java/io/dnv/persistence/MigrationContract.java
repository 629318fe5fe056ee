package io.dnv.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** What migrating must do on every database dnv supports. */
abstract class MigrationContract {

  final Database db;

  MigrationContract(Database db) {
    this.db = db;
  }

  @Test
  void migratingTwiceAppliesTheJournalSchemaOnce() {
    db.migrate();
    assertEquals(0, db.migrate(), "second migrate on " + db);
    assertEquals(1, Rows.count(db,
        "select count(*) from \"flyway_schema_history\" where \"version\" = '1' and \"success\""));
  }

  @Test
  void createsTheReadSideTablesEmpty() {
    db.migrate();
    assertEquals(1, Rows.count(db,
        "select count(*) from \"flyway_schema_history\" where \"version\" = '2' and \"success\""));
    // unquoted names, as the read side queries them on both databases
    assertEquals(0, Rows.count(db, "select count(*) from volume_list where id = 'no-such-volume'"));
    assertEquals(0, Rows.count(db, "select count(*) from projection_offset where projection = 'no-such-projection'"));
  }

  @Test
  void createsThePluginsTables() {
    db.migrate();
    for (String table : List.of("event_journal", "event_tag", "snapshot", "durable_state", "flyway_schema_history")) {
      assertTrue(Rows.tableExists(db, table), table + " on " + db);
    }
  }
}
