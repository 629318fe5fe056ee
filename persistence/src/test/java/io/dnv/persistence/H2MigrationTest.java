package io.dnv.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class H2MigrationTest extends MigrationContract {

  H2MigrationTest(@TempDir Path dataDir) {
    super(Database.h2File(dataDir));
  }

  @Test
  void aNewFileGetsExactlyTheJournalSchema() {
    assertEquals(1, db.migrate());
  }
}
