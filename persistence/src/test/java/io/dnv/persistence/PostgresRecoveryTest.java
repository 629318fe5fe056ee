package io.dnv.persistence;

import io.dnv.persistence.testing.ThrowawayPostgres;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(ThrowawayPostgres.class)
class PostgresRecoveryTest extends RecoveryContract {

  PostgresRecoveryTest(Database db) {
    super(db);
  }
}
