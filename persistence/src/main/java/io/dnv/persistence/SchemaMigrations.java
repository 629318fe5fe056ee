package io.dnv.persistence;

import org.flywaydb.core.Flyway;

/** Flyway over the project's SQL migrations and its Java ones (the journal schema, H2's payload columns). */
final class SchemaMigrations {

  /**
   * SQL migrations of dnv's own tables ({@code V2__...sql} on): one set for both databases, so
   * they are written in the SQL both H2 and PostgreSQL accept.
   */
  static final String SQL_LOCATION = "classpath:db/migration/common";

  private SchemaMigrations() {}

  static int apply(Database db) {
    return Flyway.configure(SchemaMigrations.class.getClassLoader())
        .dataSource(db.url(), db.user(), db.password())
        .locations(SQL_LOCATION)
        .javaMigrations(new V1__PekkoJournalSchema(), new V3__H2PayloadsInRows())
        .load()
        .migrate()
        .migrationsExecuted;
  }
}
