package io.dnv.http.readside;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;

/**
 * Where a projection has got to: the journal ordering of the last event whose effect is
 * committed. Always read and written on the caller's connection, so the offset commits in the
 * same transaction as the effect it stands for.
 */
final class ProjectionOffset {

    private ProjectionOffset() {}

    /** 0 for a projection that never stored one: the journal's orderings start at 1. */
    static long load(Connection c, String projection) throws SQLException {
        try (PreparedStatement s = c.prepareStatement("SELECT ordering FROM projection_offset WHERE projection = ?")) {
            s.setString(1, projection);
            try (ResultSet r = s.executeQuery()) {
                return r.next() ? r.getLong(1) : 0L;
            }
        }
    }

    static void store(Connection c, String projection, long ordering) throws SQLException {
        Timestamp now = Timestamp.from(Instant.now());
        try (PreparedStatement update = c.prepareStatement(
                "UPDATE projection_offset SET ordering = ?, updated_at = ? WHERE projection = ?")) {
            update.setLong(1, ordering);
            update.setTimestamp(2, now);
            update.setString(3, projection);
            if (update.executeUpdate() == 1) {
                return;
            }
        }
        try (PreparedStatement insert = c.prepareStatement(
                "INSERT INTO projection_offset (projection, ordering, updated_at) VALUES (?, ?, ?)")) {
            insert.setString(1, projection);
            insert.setLong(2, ordering);
            insert.setTimestamp(3, now);
            insert.executeUpdate();
        }
    }
}
