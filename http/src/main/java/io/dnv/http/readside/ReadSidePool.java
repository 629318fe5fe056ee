package io.dnv.http.readside;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.dnv.persistence.Database;
import org.apache.pekko.actor.typed.ActorSystem;

/**
 * The read side's own small pool on the journal's database. Its own rather than the journal's
 * Slick pool: the read side runs plain JDBC transactions, and its blocking calls must not take
 * the journal's four connections from the entities.
 */
final class ReadSidePool {

    /** One connection for the projection's writes, one for list queries. */
    static final int SIZE = 2;

    private ReadSidePool() {}

    /** Closed once the system has terminated, after the projection's stream has stopped writing. */
    static HikariDataSource open(ActorSystem<?> system, Database db) {
        HikariConfig config = new HikariConfig();
        config.setPoolName("dnv-read-side");
        config.setJdbcUrl(db.url());
        config.setUsername(db.user());
        config.setPassword(db.password());
        config.setMaximumPoolSize(SIZE);
        config.setMinimumIdle(1);
        HikariDataSource pool = new HikariDataSource(config);
        system.getWhenTerminated().thenRun(pool::close);
        return pool;
    }
}
