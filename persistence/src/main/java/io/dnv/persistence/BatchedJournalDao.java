package io.dnv.persistence;

import static io.dnv.persistence.PluginJdbc.quoted;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.pekko.persistence.jdbc.config.EventJournalTableColumnNames;
import org.apache.pekko.persistence.jdbc.config.JournalConfig;
import org.apache.pekko.persistence.jdbc.journal.dao.DefaultJournalDao;
import org.apache.pekko.persistence.jdbc.journal.dao.JournalTables.JournalPekkoSerializationRow;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.stream.Materializer;
import scala.Tuple2;
import scala.collection.immutable.Seq;
import scala.collection.immutable.Set;
import scala.concurrent.ExecutionContext;
import scala.concurrent.Future;
import scala.jdk.javaapi.CollectionConverters;
import scala.runtime.BoxedUnit;
import slick.jdbc.JdbcBackend;
import slick.jdbc.JdbcProfile;
import slick.jdbc.SimpleJdbcAction;

/**
 * The journal, writing each group of events in one JDBC batch. The plugin (1.1.1) writes a group
 * that holds any tagged event with Slick's insert-returning, which Slick runs one row and one
 * round trip at a time on PostgreSQL; the journal groups concurrent writes of many entities, so
 * one tagged Volume event put every StorageNode event of its group on that path (3645 of 5282
 * rows of a 200-create round). Here the rows go as one batch, asking for the generated ordering
 * only when some row has tags, and the tags as a second batch, in one transaction, as the
 * plugin's do. Rows and columns are the plugin's own; reads stay the plugin's.
 */
public final class BatchedJournalDao extends DefaultJournalDao {

  private final String insertEvent;
  private final String orderingColumn;
  private final String insertTag;

  public BatchedJournalDao(JdbcBackend.JdbcDatabaseDef db, JdbcProfile profile, JournalConfig config,
      Serialization serialization, ExecutionContext ec, Materializer mat) {
    super(db, profile, config, serialization, ec, mat);
    EventJournalTableColumnNames j = config.eventJournalTableConfiguration().columnNames();
    List<String> columns = List.of(j.deleted(), j.persistenceId(), j.sequenceNumber(), j.writer(), j.writeTimestamp(),
        j.adapterManifest(), j.eventPayload(), j.eventSerId(), j.eventSerManifest(), j.metaPayload(), j.metaSerId(),
        j.metaSerManifest());
    this.insertEvent = "INSERT INTO " + quoted(config.eventJournalTableConfiguration().tableName())
        + " (" + String.join(", ", columns.stream().map(PluginJdbc::quoted).toList()) + ")"
        + " VALUES (" + String.join(", ", columns.stream().map(c -> "?").toList()) + ")";
    this.orderingColumn = j.ordering();
    var t = config.eventTagTableConfiguration();
    this.insertTag = "INSERT INTO " + quoted(t.tableName())
        + " (" + quoted(t.columnNames().eventId()) + ", " + quoted(t.columnNames().tag()) + ") VALUES (?, ?)";
  }

  @Override
  public Future<BoxedUnit> writeJournalRows(Seq<Tuple2<JournalPekkoSerializationRow, Set<String>>> rows) {
    List<Tuple2<JournalPekkoSerializationRow, Set<String>>> sorted = new ArrayList<>(CollectionConverters.asJava(rows));
    // as the plugin orders a group: by sequence number, so each entity's events get rising orderings
    sorted.sort(Comparator.comparingLong(r -> r._1().sequenceNumber()));
    return PluginJdbc.run(db(), SimpleJdbcAction.apply(ctx -> {
      write(ctx.connection(), sorted);
      return BoxedUnit.UNIT;
    }));
  }

  private void write(Connection connection, List<Tuple2<JournalPekkoSerializationRow, Set<String>>> rows) {
    try {
      boolean autoCommit = connection.getAutoCommit();
      connection.setAutoCommit(false);
      try {
        insert(connection, rows);
        connection.commit();
      } catch (SQLException | RuntimeException e) {
        connection.rollback();
        throw e;
      } finally {
        connection.setAutoCommit(autoCommit);
      }
    } catch (SQLException e) {
      throw new IllegalStateException("writing " + rows.size() + " journal rows: " + e.getMessage(), e);
    }
  }

  private void insert(Connection connection, List<Tuple2<JournalPekkoSerializationRow, Set<String>>> rows) throws SQLException {
    boolean tagged = rows.stream().anyMatch(r -> r._2().nonEmpty());
    try (PreparedStatement events = tagged
        ? connection.prepareStatement(insertEvent, new String[] {orderingColumn})
        : connection.prepareStatement(insertEvent)) {
      for (Tuple2<JournalPekkoSerializationRow, Set<String>> row : rows) {
        bind(events, row._1());
        events.addBatch();
      }
      events.executeBatch();
      if (tagged) {
        insertTags(connection, rows, orderings(events, rows.size()));
      }
    }
  }

  private static void bind(PreparedStatement s, JournalPekkoSerializationRow r) throws SQLException {
    s.setBoolean(1, r.deleted());
    s.setString(2, r.persistenceId());
    s.setLong(3, r.sequenceNumber());
    s.setString(4, r.writer());
    s.setLong(5, r.writeTimestamp());
    s.setString(6, r.adapterManifest());
    s.setBytes(7, r.eventPayload());
    s.setInt(8, r.eventSerId());
    s.setString(9, r.eventSerManifest());
    s.setBytes(10, r.metaPayload().isDefined() ? r.metaPayload().get() : null);
    if (r.metaSerId().isDefined()) {
      s.setInt(11, (Integer) r.metaSerId().get());
    } else {
      s.setNull(11, Types.INTEGER);
    }
    s.setString(12, r.metaSerManifest().isDefined() ? r.metaSerManifest().get() : null);
  }

  /** The orderings the database gave the batch's rows, in the batch's order. */
  private static long[] orderings(PreparedStatement events, int count) throws SQLException {
    long[] orderings = new long[count];
    int n = 0;
    try (ResultSet keys = events.getGeneratedKeys()) {
      while (keys.next() && n < count) {
        orderings[n++] = keys.getLong(1);
      }
    }
    if (n != count) {
      throw new SQLException("the database returned " + n + " generated orderings for " + count + " journal rows");
    }
    return orderings;
  }

  private void insertTags(Connection connection, List<Tuple2<JournalPekkoSerializationRow, Set<String>>> rows, long[] orderings)
      throws SQLException {
    try (PreparedStatement tags = connection.prepareStatement(insertTag)) {
      for (int i = 0; i < rows.size(); i++) {
        for (String tag : CollectionConverters.asJava(rows.get(i)._2())) {
          tags.setLong(1, orderings[i]);
          tags.setString(2, tag);
          tags.addBatch();
        }
      }
      tags.executeBatch();
    }
  }
}
