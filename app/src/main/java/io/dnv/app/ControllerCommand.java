package io.dnv.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.dnv.http.Api;
import io.dnv.http.ApiServer;
import io.dnv.http.ApiToken;
import io.dnv.http.ControlPlane;
import io.dnv.http.readside.ReadSide;
import io.dnv.persistence.Database;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.management.javadsl.PekkoManagement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;

/** A control member for production: entities on PostgreSQL, the read side, the HTTP API, management routes. */
@Command(name = "controller", mixinStandardHelpOptions = true, description = "Run a controller (control member) for production.")
public final class ControllerCommand implements Callable<Integer> {

    private static final Logger log = LoggerFactory.getLogger(ControllerCommand.class);

    @Option(names = "--config", required = true, description = "HOCON file: see conf/controller.conf")
    Path config;

    @Override
    public Integer call() throws Exception {
        Config c = ConfigFactory.parseFile(config.toFile()).resolve().getConfig("dnv");
        Config db = c.getConfig("database");
        Database database = Database.postgres(db.getString("url"), db.getString("user"), db.getString("password"));
        database.migrate();
        Config cluster = c.getConfig("cluster");
        ActorSystem<Void> system = Members.control(cluster.getString("host"), cluster.getInt("port"),
                cluster.getStringList("seed-nodes"), database, c.getConfig("management"));
        PekkoManagement.get(system).start().toCompletableFuture().get(30, TimeUnit.SECONDS);
        ApiToken token = ApiToken.loadOrCreate(Path.of(c.getString("data-dir")));
        Config http = c.getConfig("http");
        ApiServer.bind(system, http.getString("host"), http.getInt("port"),
                        new Api(new ControlPlane(system, ReadSide.start(system, database)), token, Optional.empty()))
                .toCompletableFuture().get(30, TimeUnit.SECONDS);
        log.info("controller up: API on {}:{}, cluster {}:{}", http.getString("host"), http.getInt("port"),
                cluster.getString("host"), cluster.getInt("port"));
        return MemberExit.await(system);
    }
}
