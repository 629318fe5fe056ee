package io.dnv.persistence.testing;

import io.dnv.persistence.Database;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * A real PostgreSQL for tests, one per JVM: the first test that asks starts it, every later
 * test class shares it, and a shutdown hook stops and deletes it when the JVM exits. Tests
 * either call {@link #database()} or declare a {@link Database} parameter under
 * {@code @ExtendWith(ThrowawayPostgres.class)}. Share-safe tests use ids of their own.
 * A test that runs a whole cluster is not share-safe whatever its ids: every storage node that
 * ever registered stays in the witness ring, and a later class's nodes would go on trying to
 * witness nodes long gone. Such a test takes a database of its own ({@link #ownDatabase()}).
 *
 * <p>With {@value #URL_ENV} set (and {@value #USER_ENV}, {@value #PASSWORD_ENV}; both default
 * to {@code dnv}) the tests use that server instead and start none; {@link #ownDatabase()} then
 * needs a user that may create databases.
 */
public final class ThrowawayPostgres implements ParameterResolver {

  public static final String URL_ENV = "DNV_TEST_PG_URL";
  public static final String USER_ENV = "DNV_TEST_PG_USER";
  public static final String PASSWORD_ENV = "DNV_TEST_PG_PASSWORD";

  private static Database database;
  // A failed start fails every later test the same way instead of retrying initdb each time.
  private static RuntimeException failure;

  public static synchronized Database database() {
    if (failure != null) {
      throw failure;
    }
    if (database == null) {
      try {
        database = fromEnvironment().orElseGet(ThrowawayPostgres::startForThisJvm);
      } catch (RuntimeException e) {
        failure = e;
        throw e;
      }
    }
    return database;
  }

  /** A new, empty database on the same server as {@link #database()}, for this caller alone. */
  public static Database ownDatabase() {
    Database shared = database();
    String name = "dnv_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    try (Connection c = DriverManager.getConnection(shared.url(), shared.user(), shared.password());
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new IllegalStateException("creating database " + name + " on " + shared, e);
    }
    return Database.postgres(withDatabaseName(shared.url(), name), shared.user(), shared.password());
  }

  /** {@code jdbc:postgresql://host:port/db?params} with another {@code db}. */
  static String withDatabaseName(String url, String name) {
    int query = url.indexOf('?');
    String base = query < 0 ? url : url.substring(0, query);
    int slash = base.lastIndexOf('/');
    if (slash < "jdbc:postgresql://".length()) {
      throw new IllegalArgumentException("no database name in " + url);
    }
    return base.substring(0, slash + 1) + name + (query < 0 ? "" : url.substring(query));
  }

  @Override
  public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
    return parameter.getParameter().getType() == Database.class;
  }

  @Override
  public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
    return database();
  }

  private static Optional<Database> fromEnvironment() {
    return Optional.ofNullable(System.getenv(URL_ENV)).map(url -> Database.postgres(
        url, envOr(USER_ENV, "dnv"), envOr(PASSWORD_ENV, "dnv")));
  }

  private static String envOr(String name, String fallback) {
    String value = System.getenv(name);
    return value == null ? fallback : value;
  }

  private static Database startForThisJvm() {
    PostgresServer server = PostgresServer.start();
    Runtime.getRuntime().addShutdownHook(new Thread(server::close, "dnv-throwaway-postgres-stop"));
    return server.database();
  }
}
