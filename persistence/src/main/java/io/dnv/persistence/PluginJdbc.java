package io.dnv.persistence;

import scala.concurrent.Future;
import slick.dbio.DBIOAction;
import slick.jdbc.JdbcBackend;
import slick.jdbc.SimpleJdbcAction;

/** What dnv's own queries on the plugin's tables share: quoted names, and running on the plugin's pool. */
final class PluginJdbc {

  private PluginJdbc() {}

  /** The plugin's DDL quotes its table and column names (lower case), so both databases keep the case. */
  static String quoted(String name) {
    return '"' + name + '"';
  }

  /**
   * Runs plain JDBC on the plugin's own database pool and threads. Slick's run wants an action
   * whose effects are Scala's Nothing, which Java's generics cannot name.
   */
  @SuppressWarnings({"unchecked", "rawtypes"})
  static <R> Future<R> run(JdbcBackend.JdbcDatabaseDef db, SimpleJdbcAction<R> action) {
    return db.run((DBIOAction) action);
  }
}
