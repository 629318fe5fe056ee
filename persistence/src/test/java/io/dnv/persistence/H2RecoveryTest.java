package io.dnv.persistence;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

class H2RecoveryTest extends RecoveryContract {

  H2RecoveryTest(@TempDir Path dataDir) {
    super(Database.h2File(dataDir));
  }
}
