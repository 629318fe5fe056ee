package io.dnv.app;

import io.dnv.persistence.Database;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The benchmark measures a new cluster: a database that already holds a journal is refused. */
class BenchCommandTest {

    @TempDir
    Path dir;

    @Test
    void aDatabaseCountsAsUsedOnceItsJournalHoldsAnEvent() throws Exception {
        Database db = Database.h2File(dir);
        assertFalse(BenchCommand.holdsAJournal(db), "no schema yet");
        db.migrate();
        assertFalse(BenchCommand.holdsAJournal(db), "schema, no events");
        try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password()); Statement s = c.createStatement()) {
            s.executeUpdate("INSERT INTO \"event_journal\" (\"persistence_id\", \"sequence_number\", \"writer\", \"event_ser_id\","
                    + " \"event_ser_manifest\", \"event_payload\", \"write_timestamp\", \"adapter_manifest\")"
                    + " VALUES ('Volume|v1', 1, 'w', 1, '', X'00', 0, '')");
        }
        assertTrue(BenchCommand.holdsAJournal(db));
    }
}
