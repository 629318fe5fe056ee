package io.dnv.http.readside;

import io.dnv.persistence.Database;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

class H2VolumeListProjectionTest extends VolumeListProjectionContract {

    H2VolumeListProjectionTest(@TempDir Path dataDir) {
        super(Database.h2File(dataDir));
    }
}
