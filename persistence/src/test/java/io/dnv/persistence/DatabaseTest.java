package io.dnv.persistence;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class DatabaseTest {

  @Test
  void refusesDatabasesThePluginWiringDoesNotKnow() {
    assertThrows(IllegalArgumentException.class, () -> new Database("jdbc:mysql://h/db", "u", "p"));
    assertThrows(IllegalArgumentException.class, () -> Database.postgres("jdbc:h2:mem:x", "u", "p"));
  }

  @Test
  void keepsThePasswordOutOfItsText() {
    assertFalse(Database.postgres("jdbc:postgresql://h/db", "dnv", "s3cret").toString().contains("s3cret"));
  }

  @Test
  void configPicksTheSlickProfileAndDriverOfTheUrl() {
    Config h2 = PersistenceConfig.of(Database.h2File(Path.of("/var/lib/dnv")));
    Config pg = PersistenceConfig.of(Database.postgres("jdbc:postgresql://h/db", "dnv", "x"));
    assertEquals("slick.jdbc.H2Profile$", h2.getString(PersistenceConfig.SLICK + ".profile"));
    assertEquals("org.h2.Driver", h2.getString(PersistenceConfig.SLICK + ".db.driver"));
    assertEquals("slick.jdbc.PostgresProfile$", pg.getString(PersistenceConfig.SLICK + ".profile"));
    assertEquals("org.postgresql.Driver", pg.getString(PersistenceConfig.SLICK + ".db.driver"));
  }

  /** Sharding looks its plugins up by these ids: each must name a plugin block that exists. */
  @Test
  void shardingPluginIdsNameConfiguredPlugins() {
    Config config = PersistenceConfig.of(Database.h2File(Path.of("/var/lib/dnv")))
        .withFallback(ConfigFactory.defaultReference()).resolve();
    for (String key : new String[] {"journal-plugin-id", "snapshot-plugin-id"}) {
      String plugin = config.getString("pekko.cluster.sharding." + key);
      assertEquals(config.getString("pekko.persistence." + (key.startsWith("journal") ? "journal" : "snapshot-store") + ".plugin"), plugin);
      assertEquals(true, config.hasPath(plugin + ".class"), plugin + " has no plugin class");
    }
  }
}
