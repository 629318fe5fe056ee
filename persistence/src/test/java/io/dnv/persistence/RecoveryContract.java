package io.dnv.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.UUID;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** An entity's state survives its ActorSystem on every database dnv supports. */
abstract class RecoveryContract {

  final Database db;
  // Unique per run: the PostgreSQL database may be shared with other tests, or outlive the run.
  final PersistenceId id = PersistenceId.of("Counter", UUID.randomUUID().toString());

  RecoveryContract(Database db) {
    this.db = db;
  }

  @BeforeEach
  void migrate() {
    db.migrate();
  }

  @Test
  void aNewActorSystemRecoversWhatTheLastOnePersisted() {
    ActorTestKit first = TestSystems.on(db, "first");
    try {
      TestProbe<Counter.Total> probe = first.createTestProbe();
      ActorRef<Counter.Command> counter = first.spawn(new Counter(id));
      for (int amount = 1; amount <= 5; amount++) {
        counter.tell(new Counter.Add(amount, probe.ref()));
      }
      // A fresh system's first writes open the pool and the journal's queue: on a loaded 2-core
      // machine PostgreSQL took over a second a write (2 of 5 in the probe's default 3 s).
      probe.receiveSeveralMessages(5, Duration.ofSeconds(30));
      // the snapshot is stored after its event is acknowledged: wait until it is a row
      probe.awaitAssert(Duration.ofSeconds(10), () -> {
        assertEquals(1, Rows.count(db, "select count(*) from \"snapshot\" where \"persistence_id\" = ?", id.id()));
        return null;
      });
    } finally {
      first.shutdownTestKit();
    }
    assertEquals(5, Rows.count(db, "select count(*) from \"event_journal\" where \"persistence_id\" = ?", id.id()));

    ActorTestKit second = TestSystems.on(db, "second");
    try {
      TestProbe<Counter.Total> probe = second.createTestProbe();
      second.spawn(new Counter(id)).tell(new Counter.Get(probe.ref()));
      probe.expectMessage(Duration.ofSeconds(15), new Counter.Total(1 + 2 + 3 + 4 + 5));
    } finally {
      second.shutdownTestKit();
    }
  }
}
