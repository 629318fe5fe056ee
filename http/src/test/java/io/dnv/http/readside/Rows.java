package io.dnv.http.readside;

import io.dnv.persistence.Database;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.Optional;

/** Reads the read side's tables directly, so tests see what was committed, not what the code says. */
final class Rows {

    private Rows() {}

    static long offset(Database db) {
        return query(db, "SELECT ordering FROM projection_offset WHERE projection = ?", VolumeList.PROJECTION)
                .map(Long.class::cast).orElse(0L);
    }

    static Optional<Timestamp> updatedAt(Database db, String volumeId) {
        return query(db, "SELECT updated_at FROM volume_list WHERE id = ?", volumeId).map(Timestamp.class::cast);
    }

    private static Optional<Object> query(Database db, String sql, String arg) {
        try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
             PreparedStatement s = c.prepareStatement(sql)) {
            s.setString(1, arg);
            try (ResultSet r = s.executeQuery()) {
                return r.next() ? Optional.of(r.getObject(1)) : Optional.empty();
            }
        } catch (SQLException e) {
            throw new IllegalStateException(sql + " on " + db, e);
        }
    }
}
