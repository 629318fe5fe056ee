package io.dnv.persistence;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;

/** Local ActorSystems on a database: persistence needs no cluster. */
final class TestSystems {

  private static final String LOCAL = """
      pekko.actor.provider = local
      pekko.actor.serialization-bindings { "io.dnv.persistence.CborSerializable" = jackson-cbor }
      pekko.loggers = ["org.apache.pekko.event.slf4j.Slf4jLogger"]
      pekko.logging-filter = "org.apache.pekko.event.slf4j.Slf4jLoggingFilter"
      pekko.stdout-loglevel = "OFF"
      """;

  private TestSystems() {}

  static ActorTestKit on(Database db, String name) {
    return on(db, name, "");
  }

  /** With {@code settings} (HOCON) over the defaults. */
  static ActorTestKit on(Database db, String name, String settings) {
    Config config = ConfigFactory.parseString(settings).withFallback(ConfigFactory.parseString(LOCAL))
        .withFallback(PersistenceConfig.of(db));
    return ActorTestKit.create(name, config);
  }
}
