package io.dnv.app;

import io.dnv.node.sim.KernelLatencies;
import io.dnv.persistence.Database;
import io.dnv.sim.bench.CreateBenchmark;
import io.dnv.sim.bench.FailoverBenchmark;
import io.dnv.sim.bench.CloneBenchmark;
import io.dnv.sim.bench.SnapshotBenchmark;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/** Benchmarks that start their own simulated cluster and print numbers ending in one key=value line. */
@Command(name = "bench", mixinStandardHelpOptions = true, description = "Benchmarks on a simulated cluster of their own.",
        subcommands = {BenchCommand.Create.class, BenchCommand.Failover.class, BenchCommand.Snapshot.class,
                BenchCommand.Clone.class})
public final class BenchCommand {

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "N concurrent volume creates through the HTTP API on 6 simulated storage nodes, each to READY.")
    static final class Create implements Callable<Integer> {

        @Option(names = "--volumes", defaultValue = "200", description = "concurrent creates (default ${DEFAULT-VALUE})")
        int volumes;

        @Option(names = "--size-mib", defaultValue = "64", description = "volume size (default ${DEFAULT-VALUE} MiB)")
        int sizeMib;

        @Option(names = "--warmup-volumes", defaultValue = "200",
                description = "creates (then deletes) before the measured round, so the JVM has compiled its code (default ${DEFAULT-VALUE}; 0: none)")
        int warmupVolumes;

        @Option(names = "--warmup-rounds", defaultValue = "3", description = "warm-up rounds (default ${DEFAULT-VALUE})")
        int warmupRounds;

        @Option(names = "--jdbc-url", description = "PostgreSQL URL (default: embedded H2 in a temporary directory)")
        String jdbcUrl;

        @Option(names = "--jdbc-user", defaultValue = "dnv")
        String jdbcUser;

        @Option(names = "--jdbc-password", defaultValue = "dnv")
        String jdbcPassword;

        @Override
        public Integer call() throws Exception {
            Path dir = Files.createTempDirectory("dnv-bench-");
            Database db = jdbcUrl == null ? Database.h2File(dir.resolve("db")) : Database.postgres(jdbcUrl, jdbcUser, jdbcPassword);
            if (holdsAJournal(db)) {
                System.err.println("dnv bench: " + db + " already holds a journal; give the benchmark an empty database (its simulated"
                        + " disks are new, so the volumes there would be rebuilt while it measures, and their names would collide)");
                return 2;
            }
            System.out.println("bench create: " + volumes + " volumes of " + sizeMib + " MiB, 6 simulated storage nodes, journal on "
                    + (jdbcUrl == null ? "H2" : "PostgreSQL") + ", " + Runtime.getRuntime().availableProcessors() + " cores, JVM options "
                    + ManagementFactory.getRuntimeMXBean().getInputArguments());
            CreateBenchmark.Result result;
            try {
                // Kernel operations cost what they cost on Linux, so the figures cannot make them look free.
                System.out.print(KernelLatencies.MEASURED.print());
                try (DevCommand.DevSystem dev = DevCommand.DevSystem.start(dir, 0, 6, 64L << 30, db, KernelLatencies.MEASURED)) {
                    dev.awaitNodesUp(Duration.ofSeconds(60));
                    CreateBenchmark bench = new CreateBenchmark("http://127.0.0.1:" + dev.httpPort(), dev.token());
                    for (int round = 0; warmupVolumes > 0 && round < warmupRounds; round++) {
                        bench.warmUp(round + 1, warmupVolumes, (long) sizeMib << 20, Duration.ofMinutes(10), System.out);
                    }
                    result = bench.run(volumes, (long) sizeMib << 20, Duration.ofMinutes(10), BenchCommand::usedHeapAfterGc, System.out);
                }
            } finally {
                deleteTree(dir);
            }
            System.out.println(result.line());
            return 0;
        }
    }

    @Command(name = "failover", mixinStandardHelpOptions = true,
            description = "A storage node carrying the active controller of N volumes crashes while simulated hosts write to them all.")
    static final class Failover implements Callable<Integer> {

        /** The node crashed: the benchmark steers the volumes' actives there. */
        static final String FAILED_NODE = "n1";
        static final long DISK_BYTES = 256L << 30;
        /**
         * Every member runs in this one JVM. Starved of CPU (a 1000-volume run on two cores), it
         * heartbeats late for all of them at once, the cluster's reachability flaps, and the
         * split-brain resolver's down-all-when-unstable downed every member 42 s into a failover.
         * Separate machines do not starve together, and the cluster's failure detector is no
         * evidence for a failover, so the benchmark leaves that rule out; the rest of the
         * resolver's rules stand.
         */
        static final com.typesafe.config.Config ONE_JVM = com.typesafe.config.ConfigFactory.parseString(
                "pekko.cluster.split-brain-resolver.down-all-when-unstable = off");

        @Option(names = "--volumes", split = ",", description = "volumes with their active on the crashed node, one run each (default 1,100,1000)")
        List<Integer> volumes = List.of(1, 100, 1000);

        @Option(names = "--nodes", defaultValue = "" + DEFAULT_NODES, description = "simulated storage nodes (default ${DEFAULT-VALUE})")
        int nodes;

        @Option(names = "--timeout-s", defaultValue = "900", description = "how long each phase of a run may take (default ${DEFAULT-VALUE} s)")
        int timeoutSeconds;

        @Override
        public Integer call() throws Exception {
            System.out.println("bench failover: " + volumes + " volumes with their active on " + FAILED_NODE + ", " + nodes
                    + " simulated storage nodes, journal on H2, " + Runtime.getRuntime().availableProcessors() + " cores, JVM options "
                    + ManagementFactory.getRuntimeMXBean().getInputArguments() + ", " + ONE_JVM.root().render(
                    com.typesafe.config.ConfigRenderOptions.concise()));
            // Kernel operations cost what they cost on Linux, so fencing and promoting cannot look free.
            System.out.print(KernelLatencies.MEASURED.print());
            List<FailoverBenchmark.Result> results = new ArrayList<>();
            for (int n : volumes) {
                System.out.println("== " + n + " volume(s) on " + FAILED_NODE);
                Path dir = Files.createTempDirectory("dnv-bench-failover-");
                try (DevCommand.DevSystem dev = DevCommand.DevSystem.start(dir, 0, nodes, DISK_BYTES, Database.h2File(dir.resolve("db")),
                        KernelLatencies.MEASURED, ONE_JVM)) {
                    dev.awaitNodesUp(Duration.ofSeconds(120));
                    results.add(new FailoverBenchmark("http://127.0.0.1:" + dev.httpPort(), dev.token(), dev.fabric, () -> spent(dev))
                            .run(FAILED_NODE, n, Duration.ofSeconds(timeoutSeconds), System.out));
                } finally {
                    deleteTree(dir);
                }
            }
            results.forEach(r -> System.out.println(r.line()));
            return 0;
        }

        static Map<String, Map<KernelLatencies.Op, KernelLatencies.Spent>> spent(DevCommand.DevSystem dev) {
            Map<String, Map<KernelLatencies.Op, KernelLatencies.Spent>> out = new TreeMap<>();
            for (int i = 0; i < dev.infos.size(); i++) {
                out.put(dev.infos.get(i).nodeId(), dev.kernels.get(i).spent().snapshot());
            }
            return out;
        }
    }

    /** Storage nodes of the failover benchmark (see docs/operations.md, "The failover benchmark"). */
    static final int DEFAULT_NODES = 6;

    @Command(name = "snapshot", mixinStandardHelpOptions = true,
            description = "Snapshots of a volume of 1, 4 and 16 legs, and of a group of 16 volumes, through the HTTP API on 6 simulated"
                    + " storage nodes: how long host I/O was held and request -> done.")
    static final class Snapshot implements Callable<Integer> {

        @Option(names = "--legs", split = ",", defaultValue = "1,4,16", description = "the shapes: legs of one active (default ${DEFAULT-VALUE})")
        java.util.List<Integer> legs;

        @Option(names = "--snapshots", defaultValue = "50", description = "measured snapshots per shape (default ${DEFAULT-VALUE})")
        int snapshots;

        @Option(names = "--warmups", defaultValue = "10", description = "snapshots per shape before the measured ones (default ${DEFAULT-VALUE})")
        int warmups;

        @Option(names = "--leg-mib", defaultValue = "16", description = "size of each leg (default ${DEFAULT-VALUE} MiB)")
        int legMib;

        @Option(names = "--group-volumes", defaultValue = "16", description = "also a snapshot group of this many volumes of one leg"
                + " (0: none; default ${DEFAULT-VALUE})")
        int groupVolumes;

        @Override
        public Integer call() throws Exception {
            Path dir = Files.createTempDirectory("dnv-bench-");
            System.out.println("bench snapshot: one volume per shape (1 active controller, legs " + legs + ", " + legMib + " MiB per leg)"
                    + (groupVolumes > 0 ? " and a group of " + groupVolumes + " volumes of one leg" : "") + ", "
                    + warmups + " + " + snapshots + " snapshots each, 6 simulated storage nodes, journal on H2, "
                    + Runtime.getRuntime().availableProcessors() + " cores");
            java.util.List<SnapshotBenchmark.Result> results = new java.util.ArrayList<>();
            try {
                System.out.print(KernelLatencies.MEASURED.print());
                try (DevCommand.DevSystem dev = DevCommand.DevSystem.start(dir, 0, 6, 64L << 30, Database.h2File(dir.resolve("db")),
                        KernelLatencies.MEASURED)) {
                    dev.awaitNodesUp(Duration.ofSeconds(60));
                    SnapshotBenchmark bench = new SnapshotBenchmark("http://127.0.0.1:" + dev.httpPort(), dev.token());
                    for (int n : legs) {
                        results.add(bench.run(n, (long) n * legMib << 20, warmups, snapshots, Duration.ofMinutes(5), System.out));
                    }
                    if (groupVolumes > 0) {
                        results.add(bench.runGroup(groupVolumes, (long) legMib << 20, warmups, snapshots, Duration.ofMinutes(5), System.out));
                    }
                }
            } finally {
                deleteTree(dir);
            }
            results.forEach(r -> System.out.println(r.line()));
            return 0;
        }
    }

    @Command(name = "clone", mixinStandardHelpOptions = true,
            description = "A clone of a volume through the HTTP API on 6 simulated storage nodes: request -> READY, hydration"
                    + " throughput, the finish (docs/clone.md).")
    static final class Clone implements Callable<Integer> {

        @Option(names = "--size-mib", defaultValue = "1024", description = "the source's size (default ${DEFAULT-VALUE} MiB)")
        int sizeMib;

        @Option(names = "--legs", defaultValue = "4", description = "legs of the source and the clone, one active (default ${DEFAULT-VALUE})")
        int legs;

        @Override
        public Integer call() throws Exception {
            Path dir = Files.createTempDirectory("dnv-bench-clone-");
            System.out.println("bench clone: a volume of " + sizeMib + " MiB over " + legs + " legs cloned, 6 simulated storage nodes,"
                    + " journal on H2, " + Runtime.getRuntime().availableProcessors() + " cores; the simulated dm-clone holds to its"
                    + " throttle and charges kcopyd_64k a region on top of the nodes' disk files");
            try {
                System.out.print(KernelLatencies.MEASURED.print());
                try (DevCommand.DevSystem dev = DevCommand.DevSystem.start(dir, 0, 6, 64L << 30, Database.h2File(dir.resolve("db")),
                        KernelLatencies.MEASURED)) {
                    dev.awaitNodesUp(Duration.ofSeconds(60));
                    CloneBenchmark.Result r = new CloneBenchmark("http://127.0.0.1:" + dev.httpPort(), dev.token())
                            .run((long) sizeMib << 20, legs, Duration.ofMinutes(15), System.out);
                    System.out.println(r.line());
                }
            } finally {
                deleteTree(dir);
            }
            return 0;
        }
    }

    static boolean holdsAJournal(Database db) throws SQLException {
        try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
             ResultSet tables = c.getMetaData().getTables(null, null, "event_journal", null)) {
            if (!tables.next()) {
                return false;
            }
            try (Statement s = c.createStatement(); ResultSet any = s.executeQuery("SELECT 1 FROM \"event_journal\" LIMIT 1")) {
                return any.next();
            }
        }
    }

    /** The simulated disks and the H2 file are the benchmark's own: nothing of it stays behind. */
    private static void deleteTree(Path dir) throws java.io.IOException {
        try (var paths = Files.walk(dir)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    static long usedHeapAfterGc() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
