package io.dnv.persistence;

import io.dnv.persistence.testing.ThrowawayPostgres;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(ThrowawayPostgres.class)
class PostgresTaggedEventsTest extends TaggedEventsContract {

  PostgresTaggedEventsTest(Database db) {
    super(db);
  }
}
