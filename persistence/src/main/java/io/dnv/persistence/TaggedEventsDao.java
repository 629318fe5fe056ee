package io.dnv.persistence;

import static io.dnv.persistence.PluginJdbc.quoted;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.NotUsed;
import org.apache.pekko.persistence.PersistentRepr;
import org.apache.pekko.persistence.jdbc.PekkoSerialization;
import org.apache.pekko.persistence.jdbc.config.EventJournalTableColumnNames;
import org.apache.pekko.persistence.jdbc.config.ReadJournalConfig;
import org.apache.pekko.persistence.jdbc.journal.dao.JournalTables.JournalPekkoSerializationRow;
import org.apache.pekko.persistence.jdbc.query.dao.DefaultReadJournalDao;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.scaladsl.Source;
import scala.Option;
import scala.Tuple2;
import scala.Tuple3;
import scala.collection.immutable.Set;
import scala.concurrent.ExecutionContext;
import scala.jdk.javaapi.FutureConverters;
import scala.util.Try;
import scala.concurrent.Future;
import slick.jdbc.JdbcBackend;
import slick.jdbc.JdbcProfile;
import slick.jdbc.SimpleJdbcAction;

/**
 * The read journal with eventsByTag (what the read side polls, several times a second, for as
 * long as a controller runs) as a join bounded by the ordering range on both tables. The
 * plugin's query (1.1.1) joins the tag table to a derived table of the whole journal and bounds
 * only the journal side, so the tag side is read from its first row:
 * - H2 plans it as a scan of every row with the tag, running the derived table once for each;
 * - PostgreSQL, once it switches the prepared query to a generic plan, merge-joins the tag
 *   table's index from its start (11 ms a poll after 800 creates; every poll costs more).
 * Either way each poll cost time in proportion to every tagged event ever written. With the
 * range on the tag table's own key too, each side reads only the rows after the offset. The
 * rows and their decoding are the plugin's own.
 */
public final class TaggedEventsDao extends DefaultReadJournalDao {

  private final Serialization serialization;
  private final String sql;

  public TaggedEventsDao(JdbcBackend.JdbcDatabaseDef db, JdbcProfile profile, ReadJournalConfig config,
      Serialization serialization, ExecutionContext ec, Materializer mat) {
    super(db, profile, config, serialization, ec, mat);
    this.serialization = serialization;
    this.sql = eventsByTagSql(config);
  }

  static String eventsByTagSql(ReadJournalConfig config) {
    EventJournalTableColumnNames j = config.eventJournalTableConfiguration().columnNames();
    var t = config.eventTagTableConfiguration().columnNames();
    String columns = String.join(", ", List.of(j.ordering(), j.deleted(), j.persistenceId(), j.sequenceNumber(),
        j.writer(), j.writeTimestamp(), j.adapterManifest(), j.eventPayload(), j.eventSerId(), j.eventSerManifest(),
        j.metaPayload(), j.metaSerId(), j.metaSerManifest()).stream().map(c -> "j." + quoted(c)).toList());
    return "SELECT " + columns
        + " FROM " + quoted(config.eventJournalTableConfiguration().tableName()) + " j"
        + " JOIN " + quoted(config.eventTagTableConfiguration().tableName()) + " t ON t." + quoted(t.eventId()) + " = j." + quoted(j.ordering())
        + " WHERE t." + quoted(t.tag()) + " = ?"
        + " AND t." + quoted(t.eventId()) + " > ? AND t." + quoted(t.eventId()) + " <= ?"
        + " AND j." + quoted(j.ordering()) + " > ? AND j." + quoted(j.ordering()) + " <= ?"
        + " AND j." + quoted(j.deleted()) + " = FALSE"
        + " ORDER BY j." + quoted(j.ordering()) + " LIMIT ?";
  }

  @Override
  public Source<Try<Tuple3<PersistentRepr, Set<String>, Object>>, NotUsed> eventsByTag(String tag, long offset,
      long maxOffset, long max) {
    // On the plugin's own database pool and threads, like the query it replaces.
    Future<List<JournalPekkoSerializationRow>> read = PluginJdbc.run(db(), SimpleJdbcAction.apply(
        ctx -> rows(ctx.connection(), tag, offset, maxOffset, correctMaxForH2Driver(max))));
    return org.apache.pekko.stream.javadsl.Source.completionStage(FutureConverters.asJava(read))
        .mapConcat(rows -> rows)
        .map(this::decode)
        .asScala();
  }

  private List<JournalPekkoSerializationRow> rows(Connection connection, String tag, long offset, long maxOffset,
      long max) {
    try (PreparedStatement s = connection.prepareStatement(sql)) {
      s.setString(1, tag);
      s.setLong(2, offset);
      s.setLong(3, maxOffset);
      s.setLong(4, offset);
      s.setLong(5, maxOffset);
      s.setLong(6, max);
      List<JournalPekkoSerializationRow> rows = new ArrayList<>();
      try (ResultSet r = s.executeQuery()) {
        while (r.next()) {
          int metaSerId = r.getInt(12);
          Option<Object> meta = r.wasNull() ? Option.empty() : Option.apply(metaSerId);
          rows.add(new JournalPekkoSerializationRow(r.getLong(1), r.getBoolean(2), r.getString(3), r.getLong(4),
              r.getString(5), r.getLong(6), r.getString(7), r.getBytes(8), r.getInt(9), r.getString(10),
              Option.apply(r.getBytes(11)), meta, Option.apply(r.getString(13))));
        }
      }
      return rows;
    } catch (SQLException e) {
      throw new IllegalStateException("reading events tagged " + tag + " after " + offset + ": " + e.getMessage(), e);
    }
  }

  /** As the plugin answers: the event, no tags (it never reads them back), its ordering. */
  private Try<Tuple3<PersistentRepr, Set<String>, Object>> decode(JournalPekkoSerializationRow row) {
    Try<Tuple2<PersistentRepr, Object>> decoded = PekkoSerialization.fromRow(serialization, row);
    return decoded.map(t -> new Tuple3<>(t._1(), scala.collection.immutable.Set$.MODULE$.<String>empty(), t._2()));
  }
}
