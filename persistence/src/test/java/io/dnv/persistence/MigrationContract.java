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
  void createsThePluginsTables() {
    db.migrate();
    for (String table : List.of("event_journal", "event_tag", "snapshot", "durable_state", "flyway_schema_history")) {
      assertTrue(Rows.tableExists(db, table), table + " on " + db);
    }
  }
}
