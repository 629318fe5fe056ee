package io.dnv.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.jdbc.config.ReadJournalConfig;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.Sequence;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * eventsByTag (what the read side follows) answers the tagged events after an offset, in journal
 * order. It reads them in pages of {@code max-buffer-size} events, 3 here, so that the tests page.
 */
abstract class TaggedEventsContract {

  static final int PAGE = 3;

  final Database db;
  final PersistenceId id = PersistenceId.of("Counter", UUID.randomUUID().toString());
  ActorTestKit kit;

  TaggedEventsContract(Database db) {
    this.db = db;
  }

  @BeforeEach
  void start() {
    db.migrate();
    kit = TestSystems.on(db, "tags", "jdbc-read-journal.max-buffer-size = " + PAGE);
  }

  @AfterEach
  void stop() {
    kit.shutdownTestKit();
  }

  /** Adds 1, 2, ... up to {@code last} to the counter: the odd amounts are tagged. */
  void countTo(int last) {
    TestProbe<Counter.Total> probe = kit.createTestProbe();
    ActorRef<Counter.Command> counter = kit.spawn(new Counter(id));
    for (int amount = 1; amount <= last; amount++) {
      counter.tell(new Counter.Add(amount, probe.ref()));
    }
    probe.receiveSeveralMessages(last, Duration.ofSeconds(30));
  }

  @Test
  void theTaggedEventsAfterAnOffsetComeInJournalOrder() throws Exception {
    countTo(10);
    JdbcReadJournal journal = PersistenceQuery.get(kit.system()).getReadJournalFor(JdbcReadJournal.class,
        JdbcReadJournal.Identifier());

    List<EventEnvelope> all = tagged(journal, Offset.noOffset());
    assertEquals(List.of(1, 3, 5, 7, 9), amounts(all));
    all.forEach(e -> assertEquals(id.id(), e.persistenceId()));

    // the offset is the journal's ordering: the read side resumes after the last one it stored
    assertEquals(List.of(7, 9), amounts(tagged(journal, all.get(2).offset())));
    assertEquals(List.of(), amounts(tagged(journal, all.get(4).offset())));
  }

  /**
   * The journal writes the events of many entities that arrive together as one group, tagged
   * and untagged mixed: every tag still names its own event, and each entity's events keep the
   * order of their sequence numbers.
   */
  @Test
  void eventsWrittenTogetherByManyEntitiesKeepTheirOwnTagsAndOrder() throws Exception {
    List<PersistenceId> ids = new ArrayList<>();
    TestProbe<Counter.Total> probe = kit.createTestProbe();
    List<ActorRef<Counter.Command>> counters = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      ids.add(PersistenceId.of("Counter", UUID.randomUUID().toString()));
      counters.add(kit.spawn(new Counter(ids.get(i))));
    }
    for (int amount = 1; amount <= 10; amount++) {
      for (ActorRef<Counter.Command> counter : counters) {
        counter.tell(new Counter.Add(amount, probe.ref()));
      }
    }
    probe.receiveSeveralMessages(20 * 10, Duration.ofSeconds(30));
    JdbcReadJournal journal = PersistenceQuery.get(kit.system()).getReadJournalFor(JdbcReadJournal.class,
        JdbcReadJournal.Identifier());
    for (PersistenceId counter : ids) {
      List<EventEnvelope> tagged = tagged(journal, Counter.oddTag(counter), Offset.noOffset());
      assertEquals(List.of(1, 3, 5, 7, 9), amounts(tagged));
      tagged.forEach(e -> assertEquals(counter.id(), e.persistenceId()));
      List<EventEnvelope> all = journal.currentEventsByPersistenceId(counter.id(), 0, Long.MAX_VALUE)
          .runWith(Sink.seq(), kit.system()).toCompletableFuture().get();
      assertEquals(List.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), amounts(all));
      List<Long> orderings = all.stream().map(e -> ((Sequence) e.offset()).value()).toList();
      assertEquals(orderings.stream().sorted().toList(), orderings, counter + "'s orderings rise with its sequence numbers");
    }
  }

  /**
   * A page ends where the last one did, whatever was filtered out: an event marked deleted is
   * left out and none after it is skipped or repeated, from the start or from an offset.
   */
  @Test
  void pagesLeaveOutDeletedEventsAndSkipNoneAfterThem() throws Exception {
    countTo(20);
    assertEquals(1, Rows.update(db, "update \"event_journal\" set \"deleted\" = TRUE where \"persistence_id\" = ? and \"sequence_number\" = 5",
        id.id()));
    JdbcReadJournal journal = PersistenceQuery.get(kit.system()).getReadJournalFor(JdbcReadJournal.class,
        JdbcReadJournal.Identifier());

    List<EventEnvelope> all = tagged(journal, Offset.noOffset());
    assertEquals(List.of(1, 3, 7, 9, 11, 13, 15, 17, 19), amounts(all));
    assertEquals(List.of(9, 11, 13, 15, 17, 19), amounts(tagged(journal, all.get(2).offset())));
    assertEquals(List.of(19), amounts(tagged(journal, all.get(7).offset())));
  }

  /**
   * The read side polls for the events after its offset several times a second for as long as
   * the controller runs: the rows the database looks at must be those after the offset, not
   * every tagged event ever written (the plugin's own query reads them all, once per poll).
   */
  @Test
  void readingAfterAnOffsetLooksOnlyAtTheRowsAfterIt() throws Exception {
    countTo(200);
    long last = Rows.count(db, "select max(\"ordering\") from \"event_journal\"");
    String sql = TaggedEventsDao.eventsByTagSql(new ReadJournalConfig(kit.system().settings().config().getConfig("jdbc-read-journal")));
    long read = rowsRead(sql, Counter.oddTag(id), last - 4, last, last - 4, last, 500L);
    assertTrue(read > 0 && read <= 20, "rows looked at for the last 4 events of 200 (100 tagged): " + read);
  }

  /** How many rows the database looks at to answer {@code sql}, as its plan for a poll of the read side would. */
  abstract long rowsRead(String sql, Object... parameters) throws SQLException;

  private List<EventEnvelope> tagged(JdbcReadJournal journal, Offset after) throws Exception {
    return tagged(journal, Counter.oddTag(id), after);
  }

  private List<EventEnvelope> tagged(JdbcReadJournal journal, String tag, Offset after) throws Exception {
    return journal.currentEventsByTag(tag, after).runWith(Sink.seq(), kit.system())
        .toCompletableFuture().get();
  }

  private static List<Integer> amounts(List<EventEnvelope> events) {
    return events.stream().map(e -> ((Counter.Added) e.event()).amount()).toList();
  }
}
