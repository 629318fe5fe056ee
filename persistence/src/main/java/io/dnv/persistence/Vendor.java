package io.dnv.persistence;

import java.util.Arrays;

/** The two databases dnv runs on, with what Slick, JDBC and pekko-persistence-jdbc call each. */
enum Vendor {
  H2("jdbc:h2:", "H2", "org.h2.Driver", "slick.jdbc.H2Profile$", "schema/h2/h2-create-schema.sql"),
  POSTGRESQL(
      "jdbc:postgresql:",
      "PostgreSQL",
      "org.postgresql.Driver",
      "slick.jdbc.PostgresProfile$",
      "schema/postgres/postgres-create-schema.sql");

  final String urlPrefix;
  final String productName;
  final String driver;
  final String slickProfile;
  /** Path of the plugin's own DDL inside the pekko-persistence-jdbc jar. */
  final String journalSchemaResource;

  Vendor(String urlPrefix, String productName, String driver, String slickProfile, String journalSchemaResource) {
    this.urlPrefix = urlPrefix;
    this.productName = productName;
    this.driver = driver;
    this.slickProfile = slickProfile;
    this.journalSchemaResource = journalSchemaResource;
  }

  static Vendor ofUrl(String url) {
    return Arrays.stream(values())
        .filter(v -> url.startsWith(v.urlPrefix))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException(
            "dnv persists to H2 (jdbc:h2:...) or PostgreSQL (jdbc:postgresql:...), not " + url));
  }

  static Vendor ofProductName(String productName) {
    return Arrays.stream(values())
        .filter(v -> v.productName.equals(productName))
        .findFirst()
        .orElseThrow(() -> new IllegalStateException(
            "no pekko-persistence-jdbc schema for database product " + productName));
  }
}
