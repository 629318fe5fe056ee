package io.dnv.persistence;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;

/**
 * The Pekko settings that put journal, snapshots, the read journal and sharding's remembered
 * entities on one {@link Database}. Layer an application's own config over it
 * ({@code appConfig.withFallback(PersistenceConfig.of(db))}) to change pool sizes.
 */
public final class PersistenceConfig {

  static final String SLICK = "pekko-persistence-jdbc.shared-databases.slick";

  // One shared pool for journal, snapshots and queries: by default the plugin opens a pool of
  // 20 connections for each. 4 threads suit the 2-core machines dnv is built for; Slick wants
  // maxConnections >= numThreads or a transaction can wait on a connection it cannot get.
  private static final String FIXED = """
      pekko.persistence.journal.plugin = "jdbc-journal"
      pekko.persistence.snapshot-store.plugin = "jdbc-snapshot-store"
      jdbc-journal.use-shared-db = "slick"
      jdbc-snapshot-store.use-shared-db = "slick"
      jdbc-read-journal.use-shared-db = "slick"
      # each group of concurrent writes as one batch (see BatchedJournalDao)
      jdbc-journal.dao = "io.dnv.persistence.BatchedJournalDao"
      # Writes waiting for their batch. A node's failure tells every volume on it at once, and
      # each persists its failover: the default 1000 refused the rest of a burst (a persist
      # failure stops the entity) in a 1000-volume run; a waiting write costs a few hundred bytes.
      jdbc-journal.bufferSize = 20000
      # How often a caught-up live query (the read side's eventsByTag) looks for new events,
      # and how often the plugin reads the highest gap-free ordering it may deliver up to: together
      # the lists' lag behind the entities. The defaults (1 s each) are slow for an API; small
      # indexed queries every 200 ms are cheap. A gap in the orderings (a write not committed
      # yet) is waited for max-tries x query-delay before it is taken as a rolled-back write and
      # skipped: 50 x 200 ms keeps the default's 10 s, so a slow commit is not skipped sooner.
      jdbc-read-journal {
        # eventsByTag bounded on both tables (see TaggedEventsDao)
        dao = "io.dnv.persistence.TaggedEventsDao"
        refresh-interval = 200ms
        journal-sequence-retrieval { query-delay = 200ms, max-tries = 50 }
      }
      pekko-persistence-jdbc.shared-databases.slick.db {
        numThreads = 4
        maxConnections = 4
        minConnections = 1
      }
      # Shards remember their entities in the same journal, so a restarted cluster brings back
      # the entities that were running. Coordinator state stays in ddata ("persistence" mode is
      # deprecated).
      pekko.cluster.sharding {
        remember-entities-store = "eventsourced"
        journal-plugin-id = "jdbc-journal"
        snapshot-plugin-id = "jdbc-snapshot-store"
        state-store-mode = "ddata"
      }
      """;

  private PersistenceConfig() {}

  public static Config of(Database db) {
    Vendor vendor = db.vendor();
    return ConfigFactory.parseString(FIXED)
        .withValue(SLICK + ".profile", ConfigValueFactory.fromAnyRef(vendor.slickProfile))
        .withValue(SLICK + ".db.driver", ConfigValueFactory.fromAnyRef(vendor.driver))
        .withValue(SLICK + ".db.url", ConfigValueFactory.fromAnyRef(db.url()))
        .withValue(SLICK + ".db.user", ConfigValueFactory.fromAnyRef(db.user()))
        .withValue(SLICK + ".db.password", ConfigValueFactory.fromAnyRef(db.password()));
  }
}
