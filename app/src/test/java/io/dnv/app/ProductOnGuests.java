package io.dnv.app;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.dnv.core.failover.FailureDetector;
import io.dnv.core.node.NodeInfo;
import io.dnv.http.Api;
import io.dnv.http.ApiServer;
import io.dnv.http.ApiToken;
import io.dnv.http.ControlPlane;
import io.dnv.http.readside.ReadSide;
import io.dnv.node.agent.NodeAgent;
import io.dnv.persistence.Database;
import io.dnv.sim.vm.GuestServer;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.http.javadsl.ServerBinding;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The product on real kernels: a control member (H2 journal, failure detector, the HTTP API on
 * loopback) in this JVM, and one storage-node member per server, as `dnv agent` runs it, whose
 * agent drives a guest's kernel through LinuxKernel. The guests belong to the caller.
 */
final class ProductOnGuests implements AutoCloseable {

    private static final Config WITNESS_LOOK = ConfigFactory.parseString("dnv.agent.witness-look = 1s");
    /**
     * A snapshot's steps under a hold are a few commands, each a good part of a second in a TCG
     * guest, not the milliseconds of a server: the 2 s bound lapsed every try. Still below the
     * hosts' I/O timeout (30 s), so a hold that lapses is a pause to them, never an error.
     */
    private static final Config HOLD_BOUND = ConfigFactory.parseString("dnv.snapshot.hold-bound = 25s");

    /** A server and the roles it registers with. */
    record Server(GuestServer server, Set<String> roles) {}

    private final Path dir;
    private final ActorSystem<Void> control;
    private final ControlPlane controlPlane;
    private final ServerBinding http;
    private final ApiToken token;
    private final Map<String, NodeInfo> infos = new LinkedHashMap<>();
    private final Map<String, GuestServer> servers = new LinkedHashMap<>();
    private final Map<String, ActorSystem<?>> members = new LinkedHashMap<>();

    private ProductOnGuests(Path dir, List<Server> list, long diskBytes) throws Exception {
        this.dir = dir;
        Database db = Database.h2File(dir.resolve("db"));
        db.migrate();
        token = ApiToken.loadOrCreate(dir);
        control = Members.control("127.0.0.1", 0, List.of(), db, Members.LOOPBACK_MANAGEMENT, HOLD_BOUND);
        Cluster.get(control).manager().tell(Join.create(Cluster.get(control).selfMember().address()));
        controlPlane = new ControlPlane(control, ReadSide.start(control, db));
        http = ApiServer.bind(control, "127.0.0.1", 0, new Api(controlPlane, token, Optional.empty(), Optional.empty()))
                .toCompletableFuture().get(30, TimeUnit.SECONDS);
        for (Server s : list) {
            GuestServer g = s.server();
            servers.put(g.id(), g);
            infos.put(g.id(), new NodeInfo(g.endpoints(), diskBytes, s.roles(), Map.of(), g.kernel().capabilities()));
            startMember(g.id());
        }
    }

    static ProductOnGuests start(Path dir, List<Server> servers, long diskBytes) throws Exception {
        return new ProductOnGuests(dir, servers, diskBytes);
    }

    ApiClient api() {
        return new ApiClient(http.localAddress().getPort(), token.value());
    }

    ActorSystem<Void> control() {
        return control;
    }

    /**
     * The server's member (its agent) joined to the control member; a new incarnation re-adopts its
     * kernel. Its witness imports are read every second, not every 100 ms: a read is a command
     * into the guest, which costs a TCG guest a good part of a second of its only CPU, and the
     * watchers of two servers would leave their agents little of it.
     */
    void startMember(String id) {
        ActorSystem<?> member = Members.storageNode("127.0.0.1", 0, List.of(), infos.get(id), servers.get(id).kernel(),
                NodeAgent.Settings.DEFAULT.withStateDirectory(dir.resolve("agents").resolve(id)), WITNESS_LOOK);
        Cluster.get(member).manager().tell(Join.create(Cluster.get(control).selfMember().address()));
        members.put(id, member);
    }

    /** Ends the server's member and waits until it is gone: its agent issues no command any more. */
    void stopMember(String id) throws Exception {
        ActorSystem<?> member = members.remove(id);
        member.terminate();
        member.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    /** Every server up, its disk zeroed where it was not known to be. */
    void awaitNodesUp(Duration wait) throws Exception {
        long deadline = System.nanoTime() + wait.toNanos();
        long up = 0;
        while (System.nanoTime() < deadline) {
            try {
                up = controlPlane.nodesReady().toCompletableFuture().get(10, TimeUnit.SECONDS);
                if (up >= servers.size()) {
                    return;
                }
            } catch (Exception notYet) {
                // sharding is still starting: ask again
            }
            Thread.sleep(500);
        }
        throw new AssertionError(up + " of " + servers.size() + " servers up with their disks zeroed after " + wait.toSeconds() + " s");
    }

    @Override
    public void close() {
        try {
            http.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
        } catch (Exception ignored) {
            // going away either way
        }
        // Members stopped on purpose have not failed: the detector stops first.
        FailureDetector.stop(control);
        members.values().forEach(ActorSystem::terminate);
        for (ActorSystem<?> m : members.values()) {
            m.getWhenTerminated().toCompletableFuture().orTimeout(60, TimeUnit.SECONDS).exceptionally(t -> null).join();
        }
        control.terminate();
        control.getWhenTerminated().toCompletableFuture().orTimeout(60, TimeUnit.SECONDS).exceptionally(t -> null).join();
    }
}
