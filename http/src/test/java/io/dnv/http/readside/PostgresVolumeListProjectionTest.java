package io.dnv.http.readside;

import io.dnv.persistence.Database;
import io.dnv.persistence.testing.ThrowawayPostgres;
import org.junit.jupiter.api.extension.ExtendWith;

@ExtendWith(ThrowawayPostgres.class)
class PostgresVolumeListProjectionTest extends VolumeListProjectionContract {

    PostgresVolumeListProjectionTest(Database db) {
        super(db);
    }
}
