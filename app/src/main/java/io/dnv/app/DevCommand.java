package io.dnv.app;

import io.dnv.core.failover.FailureDetector;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.node.NodeInfo;
import io.dnv.http.Api;
import io.dnv.http.ApiServer;
import io.dnv.http.ApiToken;
import io.dnv.http.ControlPlane;
import io.dnv.http.readside.ReadSide;
import io.dnv.node.agent.NodeAgent;
import io.dnv.node.sim.KernelLatencies;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.NvmeHost;
import io.dnv.node.sim.nvme.Fabric;
import io.dnv.persistence.Database;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.management.javadsl.PekkoManagement;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The whole system on a laptop: one controller and six simulated storage nodes (each a disk
 * node and a controller node with a 64 GiB sparse disk), every one its own cluster member in
 * this JVM (their dispatchers share one pool, {@link SharedExecutor}), on an H2 journal under
 * the data directory. Stop it and start it again: that is a power cycle of every node, and the
 * volumes come back from the metadata on their disks.
 */
@Command(name = "dev", mixinStandardHelpOptions = true,
        description = "Run a controller and 6 simulated storage nodes in one JVM, with the HTTP API.")
public final class DevCommand implements Callable<Integer> {

    static final int NODES = 6;
    static final long DISK_BYTES = 64L << 30;

    @Option(names = "--data-dir", defaultValue = "./data", description = "where the journal, disks and API token live (default ${DEFAULT-VALUE})")
    Path dataDir;

    @Option(names = "--http-port", defaultValue = "8080", description = "HTTP API port (default ${DEFAULT-VALUE})")
    int httpPort;

    @Override
    public Integer call() throws Exception {
        DevSystem dev = DevSystem.start(dataDir.toAbsolutePath(), httpPort, NODES, DISK_BYTES,
                Database.h2File(dataDir.toAbsolutePath().resolve("db")), KernelLatencies.MEASURED);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            dev.close();
            stopped.countDown();
        }, "dnv-dev-shutdown"));
        dev.awaitNodesUp(Duration.ofSeconds(60));
        System.out.println(dev.banner());
        stopped.await();
        return 0;
    }

    /** The running pieces, so tests can start and stop the same system the command runs. */
    public static final class DevSystem implements AutoCloseable {
        /** Every member on the shared pool, with the transport's blackholes a partition uses. */
        private static final com.typesafe.config.Config MEMBERS = DevFaults.TRANSPORT_TEST_MODE.withFallback(SharedExecutor.CONFIG);
        /** Where the remoting transport reports connections cut and associations dropped. */
        private static final List<String> TRANSPORT_LOGGERS = List.of("org.apache.pekko.stream.Materializer",
                "org.apache.pekko.remote.artery.Association");
        final Path dataDir;
        final ApiToken token;
        final ActorSystem<Void> control;
        final List<ActorSystem<?>> nodes = new ArrayList<>();
        final List<SimulatedKernel> kernels = new ArrayList<>();
        final List<NodeInfo> infos = new ArrayList<>();
        /** The network the simulated kernels (storage nodes and hosts) share. */
        final Fabric fabric = new Fabric();
        final SimHosts hosts;
        final DevFaults faults = new DevFaults(this);
        /** Closing on purpose: members that end now are not replaced. */
        volatile boolean closing;
        final ServerBinding http;
        final String managementUrl;
        final ControlPlane controlPlane;

        final KernelLatencies latencies;
        /** What every member of this system runs with: {@link #MEMBERS}, under a test's overrides. */
        private final com.typesafe.config.Config members;

        private DevSystem(Path dataDir, int httpPort, int nodeCount, long diskBytes, Database db, KernelLatencies latencies,
                          com.typesafe.config.Config overrides) throws Exception {
            this.latencies = latencies;
            this.members = overrides.withFallback(MEMBERS);
            this.dataDir = dataDir;
            this.token = ApiToken.loadOrCreate(dataDir);
            db.migrate();
            control = Members.control("127.0.0.1", 0, List.of(), db, Members.LOOPBACK_MANAGEMENT, members);
            Cluster.get(control).manager().tell(Join.create(Cluster.get(control).selfMember().address()));
            managementUrl = PekkoManagement.get(control).start().toCompletableFuture().get(30, TimeUnit.SECONDS).toString();
            for (int i = 1; i <= nodeCount; i++) {
                String id = "n" + i;
                String address = "127.0.1." + i;
                Path nodeDir = dataDir.resolve("nodes").resolve(id);
                SimulatedKernel kernel = new SimulatedKernel(address, fabric, latencies, NvmeHost.DEFAULT_IO_TIMEOUT).addDisk("/dev/ram0", nodeDir.resolve("disk0"), diskBytes);
                kernels.add(kernel);
                infos.add(new NodeInfo(new NodeEndpoints(id, address, Optional.of("/dev/ram0"),
                        Optional.of(NvmetPort.tcp(1, address, 4420)), Optional.of(NvmetPort.tcp(2, address, 4421)),
                        List.of(NvmetPort.tcp(3, address, 4422))), diskBytes, Set.of("disk", "ctrl"), Map.of(), kernel.capabilities()));
                nodes.add(startMember(i - 1));
            }
            hosts = new SimHosts(fabric);
            controlPlane = new ControlPlane(control, ReadSide.start(control, db));
            http = ApiServer.bind(control, "127.0.0.1", httpPort, new Api(controlPlane, token, Optional.of(hosts), Optional.of(faults)))
                    .toCompletableFuture().get(30, TimeUnit.SECONDS);
        }

        /**
         * Node {@code index}'s member (its agent) over its kernel, joined to the control member
         * (cut off first if the node is partitioned: {@link DevFaults#started}).
         */
        ActorSystem<?> startMember(int index) {
            NodeInfo info = infos.get(index);
            ActorSystem<?> node = Members.storageNode("127.0.0.1", 0, List.of(), info, kernels.get(index),
                    NodeAgent.Settings.DEFAULT.withStateDirectory(dataDir.resolve("nodes").resolve(info.nodeId()).resolve("agent")),
                    members);
            faults.started(index, node);
            Cluster.get(node).manager().tell(Join.create(Cluster.get(control).selfMember().address()));
            return node;
        }

        /** On the embedded default (an H2 file under the data directory), kernels that cost no time: tests. */
        public static DevSystem start(Path dataDir, int httpPort, int nodeCount, long diskBytes) throws Exception {
            return start(dataDir, httpPort, nodeCount, diskBytes, Database.h2File(dataDir.resolve("db")), KernelLatencies.NONE);
        }

        /** {@code latencies}: what each simulated kernel operation costs (./dnv dev and the benchmark: measured on Linux). */
        public static DevSystem start(Path dataDir, int httpPort, int nodeCount, long diskBytes, Database db,
                                      KernelLatencies latencies) throws Exception {
            return start(dataDir, httpPort, nodeCount, diskBytes, db, latencies, com.typesafe.config.ConfigFactory.empty());
        }

        /**
         * {@code overrides}: settings every member takes over the product's, for a test that is not
         * about them (a shorter split-brain resolver wait, so a crashed node's member is removed
         * and the node's next member can join sooner).
         */
        static DevSystem start(Path dataDir, int httpPort, int nodeCount, long diskBytes, Database db,
                               KernelLatencies latencies, com.typesafe.config.Config overrides) throws Exception {
            return new DevSystem(dataDir, httpPort, nodeCount, diskBytes, db, latencies, overrides);
        }

        public int httpPort() {
            return http.localAddress().getPort();
        }

        public String token() {
            return token.value();
        }

        /** Every storage node up, with its disk zeroed where it was not known to be (capacity is offered as it is). */
        public void awaitNodesUp(Duration wait) throws Exception {
            long deadline = System.nanoTime() + wait.toNanos();
            while (System.nanoTime() < deadline) {
                try {
                    long up = controlPlane.nodesReady().toCompletableFuture().get(10, TimeUnit.SECONDS);
                    if (up >= nodes.size()) {
                        return;
                    }
                } catch (Exception notYet) {
                    // sharding is still starting: ask again
                }
                Thread.sleep(200);
            }
            throw new IllegalStateException("storage nodes did not all come up with their disks zeroed within " + wait.toSeconds() + " s");
        }

        String banner() {
            String api = "http://127.0.0.1:" + httpPort();
            String auth = "-H 'Authorization: Bearer " + token() + "'";
            String host = "nqn.2014-08.org.nvmexpress:uuid:00000000-0000-4000-8000-000000000001";
            return String.join("\n",
                    "",
                    "dnv dev is up: 1 controller, " + nodes.size() + " simulated storage nodes, data in " + dataDir,
                    "  API          " + api + "/v1   (OpenAPI: " + api + "/v1/openapi.json)",
                    "  management   " + managementUrl.replaceAll("/$", "") + "/cluster/members",
                    "  API token    " + token() + "   (also in " + dataDir.resolve("api-token") + ")",
                    "",
                    "Try it (copy and paste):",
                    "  curl -s " + auth + " " + api + "/v1/nodes",
                    "  curl -s " + auth + " -H 'Content-Type: application/json' -d '{\"name\":\"vol1\",\"sizeBytes\":67108864}' "
                            + api + "/v1/volumes",
                    "  until curl -s " + auth + " " + api + "/v1/volumes/vol1 | grep -q '\"state\":\"READY\"'; do sleep 0.5; done",
                    "  curl -s " + auth + " -H 'Content-Type: application/json' -d '{\"hostNqn\":\"" + host + "\"}' "
                            + api + "/v1/volumes/vol1/attachments",
                    "  head -c 1048576 /dev/urandom > /tmp/dnv-block",
                    "  curl -s " + auth + " -X PUT --data-binary @/tmp/dnv-block '" + api + "/v1/sim/hosts/" + host
                            + "/volumes/vol1/data?offset=0&length=1048576'",
                    "  curl -s " + auth + " '" + api + "/v1/sim/hosts/" + host + "/volumes/vol1/data?offset=0&length=1048576' | cmp - /tmp/dnv-block && echo same bytes",
                    "  curl -s " + auth + " -X DELETE " + api + "/v1/volumes/vol1/attachments/" + host,
                    "  curl -s " + auth + " -X DELETE " + api + "/v1/volumes/vol1",
                    "",
                    "Ctrl-C stops everything; starting again finds every volume and its bytes.");
        }

        @Override
        public void close() {
            try {
                http.unbind().toCompletableFuture().get(10, TimeUnit.SECONDS);
            } catch (Exception ignored) {
                // the JVM is going away either way
            }
            // Members stopping together cut each other's remoting connections and drop the system
            // messages under way between them; each member's transport logs every cut and every
            // dropped association as a warning, dozens of them after the last line a user reads.
            // Here they are the stop itself, not news: the transport's loggers are muted while this
            // system stops (any other warning, a shard hand-off that timed out, still shows).
            List<ch.qos.logback.classic.Logger> transport = TRANSPORT_LOGGERS.stream()
                    .map(name -> (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(name)).toList();
            List<ch.qos.logback.classic.Level> before = transport.stream().map(ch.qos.logback.classic.Logger::getLevel).toList();
            transport.forEach(l -> l.setLevel(ch.qos.logback.classic.Level.ERROR));
            closing = true;
            try {
                // The storage nodes first, then the control member: a node still heartbeating
                // while the control member hands its shards off has its messages dropped, and the
                // region says so. The failure detector stops before them: nodes stopped on purpose
                // have not failed.
                FailureDetector.stop(control);
                for (ActorSystem<?> n : nodes) {
                    n.terminate();
                }
                for (ActorSystem<?> m : nodes) {
                    m.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
                }
                control.terminate();
                control.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                System.err.println("dnv dev: not every member stopped cleanly: " + e);
            } finally {
                for (int i = 0; i < transport.size(); i++) {
                    transport.get(i).setLevel(before.get(i));
                }
            }
            hosts.close();
            kernels.forEach(SimulatedKernel::shutdown);
        }
    }
}
