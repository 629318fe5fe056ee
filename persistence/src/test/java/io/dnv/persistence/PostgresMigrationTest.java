package io.dnv.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.dnv.persistence.testing.ThrowawayPostgres;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(ThrowawayPostgres.class)
class PostgresMigrationTest extends MigrationContract {

  PostgresMigrationTest(Database db) {
    super(db);
  }

  /** The plugin's script builds these CONCURRENTLY, which the migration had to rewrite. */
  @Test
  void createsTheDurableStateIndexes() {
    db.migrate();
    assertEquals(2, Rows.count(db, "select count(*) from pg_indexes where schemaname = 'public'"
        + " and indexname in ('state_tag_idx', 'state_global_offset_idx')"));
  }
}
