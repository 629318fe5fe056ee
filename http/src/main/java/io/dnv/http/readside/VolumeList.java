package io.dnv.http.readside;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.dnv.core.volume.VolumeView;
import io.dnv.http.Json;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The volume_list table: one row per existing volume holding its API view as JSON. Blocking
 * JDBC; callers run it on a blocking dispatcher.
 */
public final class VolumeList {

    /** The projection that keeps this table, as named in projection_offset. */
    static final String PROJECTION = "volume-list";

    /** What the projection learnt about a volume: its view now, or empty once it is gone. */
    record Change(String id, Optional<VolumeView> view) {}

    private final DataSource pool;

    VolumeList(DataSource pool) {
        this.pool = pool;
    }

    /** Up to {@code limit} volumes whose id comes after {@code after}, in id order (keyset paging). */
    public List<VolumeView> page(int limit, Optional<String> after) {
        try (Connection c = pool.getConnection();
             PreparedStatement s = c.prepareStatement("SELECT view_json FROM volume_list WHERE id > ? ORDER BY id LIMIT ?")) {
            // ids are [a-z0-9][a-z0-9-]*, so every id sorts after the empty string
            s.setString(1, after.orElse(""));
            s.setInt(2, limit);
            List<VolumeView> views = new ArrayList<>();
            try (ResultSet r = s.executeQuery()) {
                while (r.next()) {
                    views.add(Json.MAPPER.readValue(r.getString(1), VolumeView.class));
                }
            }
            return views;
        } catch (SQLException | JsonProcessingException e) {
            throw new IllegalStateException("reading volume_list", e);
        }
    }

    long offset() {
        try (Connection c = pool.getConnection()) {
            return ProjectionOffset.load(c, PROJECTION);
        } catch (SQLException e) {
            throw new IllegalStateException("reading the offset of " + PROJECTION, e);
        }
    }

    /**
     * Writes every change and the offset {@code ordering} in one transaction: after a crash
     * either both are there or neither, and the events after the stored offset are seen again.
     * Each kind of statement goes as one batch: a burst changes hundreds of volumes per
     * transaction, and a round trip per row was most of the read side's cost on PostgreSQL.
     */
    void apply(List<Change> changes, long ordering) {
        try (Connection c = pool.getConnection()) {
            c.setAutoCommit(false);
            try {
                List<VolumeView> views = changes.stream().flatMap(ch -> ch.view().stream()).toList();
                List<String> gone = changes.stream().filter(ch -> ch.view().isEmpty()).map(Change::id).toList();
                insert(c, update(c, views, ordering), ordering);
                delete(c, gone);
                ProjectionOffset.store(c, PROJECTION, ordering);
                c.commit();
            } catch (SQLException | JsonProcessingException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        } catch (SQLException | JsonProcessingException e) {
            throw new IllegalStateException("writing volume_list up to ordering " + ordering, e);
        }
    }

    // Update, else insert: plain SQL both databases take (MERGE and ON CONFLICT differ between
    // them). Only one projection writes, so no other insert can come between the two.

    /** Updates the rows of the volumes that have one; answers the views that had none. */
    private static List<Row> update(Connection c, List<VolumeView> views, long ordering) throws SQLException, JsonProcessingException {
        List<Row> rows = new ArrayList<>();
        for (VolumeView v : views) {
            rows.add(new Row(v, Json.MAPPER.writeValueAsString(v)));
        }
        if (rows.isEmpty()) {
            return rows;
        }
        Timestamp now = Timestamp.from(Instant.now());
        try (PreparedStatement update = c.prepareStatement(
                "UPDATE volume_list SET name = ?, state = ?, view_json = ?, ordering = ?, updated_at = ? WHERE id = ?")) {
            for (Row r : rows) {
                update.setString(1, r.view().name());
                update.setString(2, r.view().state());
                update.setString(3, r.json());
                update.setLong(4, ordering);
                update.setTimestamp(5, now);
                update.setString(6, r.view().id());
                update.addBatch();
            }
            int[] updated = update.executeBatch();
            List<Row> missing = new ArrayList<>();
            for (int i = 0; i < updated.length; i++) {
                // both drivers count the rows each statement of a batch changed
                if (updated[i] == 0) {
                    missing.add(rows.get(i));
                } else if (updated[i] != 1) {
                    throw new SQLException("updating volume " + rows.get(i).view().id() + " answered a count of " + updated[i]);
                }
            }
            return missing;
        }
    }

    private static void insert(Connection c, List<Row> rows, long ordering) throws SQLException {
        if (rows.isEmpty()) {
            return;
        }
        Timestamp now = Timestamp.from(Instant.now());
        try (PreparedStatement insert = c.prepareStatement(
                "INSERT INTO volume_list (id, name, state, view_json, ordering, updated_at) VALUES (?, ?, ?, ?, ?, ?)")) {
            for (Row r : rows) {
                insert.setString(1, r.view().id());
                insert.setString(2, r.view().name());
                insert.setString(3, r.view().state());
                insert.setString(4, r.json());
                insert.setLong(5, ordering);
                insert.setTimestamp(6, now);
                insert.addBatch();
            }
            insert.executeBatch();
        }
    }

    private static void delete(Connection c, List<String> ids) throws SQLException {
        if (ids.isEmpty()) {
            return;
        }
        try (PreparedStatement s = c.prepareStatement("DELETE FROM volume_list WHERE id = ?")) {
            for (String id : ids) {
                s.setString(1, id);
                s.addBatch();
            }
            s.executeBatch();
        }
    }

    private record Row(VolumeView view, String json) {}
}
