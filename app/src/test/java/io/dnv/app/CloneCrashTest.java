package io.dnv.app;

import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.core.testing.RunningEntities;
import io.dnv.core.volume.Snapshot;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.core.volume.VolumeView;
import io.dnv.node.sim.KernelLatencies;
import io.dnv.persistence.Database;
import io.dnv.persistence.testing.ThrowawayPostgres;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Clones of an attached volume (docs/clone.md) on three control members on PostgreSQL and six
 * simulated storage nodes whose dm-clone copies 64 KiB in 6 ms (so a 32 MiB clone hydrates for
 * about 3 s). First a kernel refusal is injected at each stage of a clone (the source's
 * create_snap, the import's connect, the clone's devices, the throttle's message, the swap's
 * reload, the metadata thin's delete, the export's removal): each clone goes forward and is
 * done; a refusal held while the create converges shows on the volume; a snapshot refused at
 * every try fails the clone, naming the refusal. Then a clone is asked for at a time, the stage
 * that matters made slow, and the control member running it stopped abruptly there: the clone
 * completes on the survivors. Every clone holds the source's bytes at its clone point (the
 * source is overwritten once the clone knows its snapshot), read through the simulated host, and
 * afterwards nothing is left: no export or import of the source's snapshots, no clone device,
 * nothing suspended, the snapshots taken for the clones gone, every reserved byte a side of a
 * volume.
 *
 * <p>A stop costs some 15 s however quick the kernels (the resolver downs the member, its shards
 * and the sharding coordinator start again on the survivors), so the seven stops run on three
 * such clusters side by side, each with its own database, source and clones.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CloneCrashTest {

    static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
    static final VolumeSpec SPEC = new VolumeSpec(32L << 20, 1, 1, 2, 2);
    static final KernelLatencies COSTS = KernelLatencies.NONE.with(KernelLatencies.Op.KCOPYD_64K, Duration.ofMillis(6));
    static final Duration SLOW = Duration.ofSeconds(3);
    static final int MIB = 1 << 20;
    /** For everything one cluster does in a test: each of its waits has a deadline of its own, well inside this. */
    static final Duration SIDE_BY_SIDE = Duration.ofMinutes(10);

    private Rig first;
    private Rig second;
    private Rig third;

    @BeforeAll
    void start() throws Exception {
        Database one = ThrowawayPostgres.ownDatabase();
        Database two = ThrowawayPostgres.ownDatabase();
        Database three = ThrowawayPostgres.ownDatabase();
        sideBySide(() -> first = new Rig(one, "r", 10), () -> second = new Rig(two, "s", 11), () -> third = new Rig(three, "t", 12));
    }

    @AfterAll
    void stop() throws Exception {
        for (Rig r : new Rig[]{first, second, third}) {
            if (r != null) {
                r.cluster.close();
            }
        }
    }

    @Test
    @Order(1)
    void aRefusalInjectedAtEveryStageIsMetAndTheCloneGoesForward() throws Exception {
        Rig r = third;
        FaultyCluster cluster = r.cluster;
        String source = r.source;
        String id = "cinj-" + r.run;
        List<String[]> injected = List.of(
                new String[]{"dmMessage", " create_snap"},                                   // the source's snapshot
                new String[]{"nvmeConnect", "snap:" + source + ":"},                         // the import
                new String[]{"dmCreate", "-clmeta-" + id},                                   // the clone's devices
                new String[]{"dmCreate", "-clsrc-" + id},
                new String[]{"dmMessage", "hydration_threshold"},                            // the throttle, every look
                new String[]{"dmLoad", "-vol-" + id},                                        // the swap
                new String[]{"dmMessage", "delete " + Snapshot.CLONE_METADATA_THIN_ID},      // the metadata thin
                new String[]{"dmRemove", "-snapx-" + source + "-"});                         // the export's release
        for (String[] x : injected) {
            cluster.faulty.values().forEach(k -> k.refuse(x[0], x[1], 1));
        }
        try {
            r.cloneAndCheck(id, v -> true, null);
        } finally {
            cluster.faulty.values().forEach(FaultyKernel::forgive);
        }
        Set<String> met = new TreeSet<>();
        cluster.faulty.values().forEach(k -> met.addAll(k.met()));
        for (String[] x : injected) {
            assertTrue(met.contains(x[0] + " " + x[1]), "refused " + x[0] + " " + x[1] + ": met " + met);
        }

        // Held: the create waits, and says what for; let go, it goes on.
        String held = "chold-" + r.run;
        cluster.faulty.values().forEach(k -> k.refuse("dmCreate", "-vol-" + held, 10_000));
        assertTrue(cluster.clone(held, source, SPEC).volume().isPresent());
        r.clones.add(held);
        VolumeView waiting = cluster.await(held, x -> x.volume().flatMap(VolumeView::operation)
                .flatMap(o -> o.waitingFor().or(o::lastError)).filter(w -> w.contains("injected")).isPresent(),
                "waiting for a refused device, naming it").volume().orElseThrow();
        assertEquals("CREATING", waiting.state(), waiting.toString());
        cluster.faulty.values().forEach(FaultyKernel::forgive);
        r.awaitDone(held);
        r.checkClone(held);

        // Refused at every try: the snapshot FAILED, the clone FAILED naming it, nothing of it left.
        String failed = "cfail-" + r.run;
        cluster.faulty.values().forEach(k -> k.refuse("dmMessage", " create_snap", 10_000));
        assertTrue(cluster.clone(failed, source, SPEC).volume().isPresent());
        VolumeView v = cluster.await(failed, x -> x.volume().filter(y -> y.state().equals("FAILED")).isPresent(), "FAILED")
                .volume().orElseThrow();
        assertTrue(v.error().orElse("").contains("injected"), v.toString());
        cluster.faulty.values().forEach(FaultyKernel::forgive);
        assertTrue(v.legs().isEmpty(), "nothing placed: " + v.legs());
        r.assertNothingLeft();
    }

    @Test
    @Order(2)
    void aCloneCompletesOnTheSurvivorsWhenTheMemberRunningItStopsAtAnyStage() throws Exception {
        sideBySide(() -> {
            Rig r = first;
            r.cut("export", id -> r.slow("nvmeConnect", "snap:" + r.source + ":"),
                    v -> v.operation().filter(o -> o.kind().equals("create") && o.stage().equals("import")).isPresent());
            r.cut("hydrating", id -> { },
                    v -> v.state().equals("READY") && v.cloneOf().filter(c -> c.status().equals("HYDRATING") && c.percent() < 80).isPresent());
            r.assertNothingLeft();
        }, () -> {
            Rig r = second;
            r.cut("apply", id -> r.slow("dmCreate", "-vol-" + id),
                    v -> v.operation().filter(o -> o.kind().equals("create") && Set.of("apply", "converge").contains(o.stage())).isPresent());
            r.cut("release", id -> r.slow("dmRemove", "-snapx-" + r.source + "-"),
                    v -> v.operation().filter(o -> o.kind().equals("finish-clone") && o.stage().equals("release")).isPresent());
            r.assertNothingLeft();
        }, () -> {
            Rig r = third;
            r.cut("source", id -> r.slow("dmSuspend", "-vol-" + r.source),
                    v -> v.operation().filter(o -> o.kind().equals("create") && o.stage().equals("source")).isPresent());
            r.cut("swap", id -> r.slow("dmLoad", "-vol-" + id),
                    v -> v.operation().filter(o -> o.kind().equals("finish-clone") && o.stage().startsWith("swap")).isPresent());
            r.cut("metadata", id -> r.slow("dmMessage", "delete " + Snapshot.CLONE_METADATA_THIN_ID),
                    v -> v.operation().filter(o -> o.kind().equals("finish-clone") && o.stage().equals("drop_metadata")).isPresent());
            r.assertNothingLeft();
        });
    }

    private interface Action {
        void run() throws Exception;
    }

    /** Runs each at once, on a thread of its own; the first failure is thrown, the others' added to it. */
    private static void sideBySide(Action... actions) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(actions.length);
        try {
            List<Future<Object>> running = new ArrayList<>();
            for (Action a : actions) {
                running.add(threads.submit(() -> {
                    a.run();
                    return null;
                }));
            }
            long deadline = System.nanoTime() + SIDE_BY_SIDE.toNanos();
            Throwable failed = null;
            for (Future<Object> f : running) {
                try {
                    f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
                } catch (ExecutionException e) {
                    failed = withSuppressed(failed, e.getCause());
                } catch (java.util.concurrent.TimeoutException e) {
                    failed = withSuppressed(failed, new AssertionError("not done within " + SIDE_BY_SIDE.toMinutes() + " min", e));
                }
            }
            if (failed instanceof Exception e) {
                throw e;
            }
            if (failed instanceof Error e) {
                throw e;
            }
        } finally {
            threads.shutdownNow();
        }
    }

    private static Throwable withSuppressed(Throwable failed, Throwable next) {
        if (failed == null) {
            return next;
        }
        failed.addSuppressed(next);
        return failed;
    }

    private interface Slowing {
        void of(String cloneId) throws Exception;
    }

    /** Three control members, six storage nodes and a source holding the host's bytes: each run side by side with another. */
    private static final class Rig {
        final FaultyCluster cluster;
        final String run = UUID.randomUUID().toString().substring(0, 8);
        final String source = "csrc-" + run;
        final List<String> clones = new ArrayList<>();
        /** The source's bytes as the host wrote them. */
        private final byte[] image;
        private int writes;

        Rig(Database db, String prefix, int net) throws Exception {
            cluster = new FaultyCluster(3, db, COSTS, prefix, net);
            cluster.create(source, SPEC);
            VolumeView v = cluster.attached(source, HOST);
            image = new byte[(int) SPEC.sizeBytes()];
            new Random(1).nextBytes(image);
            cluster.hosts.write(HOST, v, 0, image).toCompletableFuture().get(60, TimeUnit.SECONDS);
        }

        /**
         * A clone asked for with {@code slowing} in place; once it is {@code at} the stage, the member
         * hosting the clone is stopped and replaced; the
         * kernels are quick again, and the clone must complete.
         */
        private void cut(String stage, Slowing slowing, Predicate<VolumeView> at) throws Exception {
            String id = "ccut-" + stage + "-" + run;
            slowing.of(id);
            cloneAndCheck(id, at, () -> {
                // A shard may be handed to a member that joined since: found once it runs there.
                long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                Optional<ActorSystem<Void>> host = Optional.empty();
                while (host.isEmpty() && System.nanoTime() < until) {
                    host = cluster.live().stream().filter(c -> RunningEntities.ids(c, Volume.ENTITY_TYPE_KEY).contains(id)).findFirst();
                    Thread.sleep(host.isEmpty() ? 100 : 0);
                }
                ActorSystem<Void> victim = host.orElseThrow(() -> new AssertionError(stage + ": no member runs " + id + ": "
                        + cluster.controls.stream().map(c -> org.apache.pekko.cluster.typed.Cluster.get(c).selfMember() + " runs "
                        + RunningEntities.ids(c, Volume.ENTITY_TYPE_KEY)).toList()));
                VolumeView before = cluster.view(id);
                assertTrue(at.test(before), stage + ": still at the stage when stopped: " + before);
                cluster.replace(victim);
                cluster.faulty.values().forEach(FaultyKernel::quick);
            });
        }

        private void slow(String method, String key) {
            cluster.faulty.values().forEach(k -> k.slow(method, key, SLOW));
        }

        /**
         * Clones the source; once it is {@code at} a stage, runs {@code atStage}; once the clone knows
         * its snapshot, overwrites 1 MiB of the source. Then awaits the clone done and checks it.
         */
        private void cloneAndCheck(String id, Predicate<VolumeView> at, Action atStage) throws Exception {
            byte[] expected = null;
            boolean acted = atStage == null;
            Volume.Result asked = cluster.clone(id, source, SPEC);
            assertTrue(asked.volume().isPresent(), asked.error().toString());
            clones.add(id);
            long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
            while (!acted || expected == null) {
                VolumeView v = cluster.view(id);
                if (System.nanoTime() > deadline) {
                    throw new AssertionError(id + ": never at its stage (" + acted + ") or its snapshot (" + (expected != null) + "): " + v);
                }
                if (expected == null && v.cloneOf().flatMap(VolumeView.CloneView::snapshotId).isPresent()) {
                    expected = image.clone();
                    overwriteSource();
                }
                if (!acted && at.test(v)) {
                    atStage.run();
                    acted = true;
                }
                Thread.sleep(50);
            }
            awaitDone(id);
            checkClone(id);
            assertArrayEquals(expected, read(id), id + ": the source's bytes at the clone point");
        }

        private void awaitDone(String id) throws Exception {
            VolumeView done = cluster.await(id, r -> r.volume().filter(v -> v.operation().isEmpty()
                    && v.cloneOf().filter(c -> c.status().equals("DONE")).isPresent()).isPresent(), "hydrated and finished").volume().orElseThrow();
            assertEquals("READY", done.state(), done.toString());
            assertEquals(100, done.cloneOf().orElseThrow().percent());
        }

        /** Done: attached, nothing of the source held for it, nothing left on the kernels. */
        private void checkClone(String id) throws Exception {
            cluster.attached(id, HOST);
            assertNothingLeft();
        }

        private void overwriteSource() throws Exception {
            byte[] fresh = new byte[MIB];
            new Random(1000 + writes).nextBytes(fresh);
            int at = (writes++ * 5 % 32) * MIB;
            cluster.hosts.write(HOST, cluster.view(source), at, fresh).toCompletableFuture().get(60, TimeUnit.SECONDS);
            System.arraycopy(fresh, 0, image, at, fresh.length);
        }

        private byte[] read(String id) throws Exception {
            return cluster.hosts.read(HOST, cluster.view(id), 0, image.length).toCompletableFuture().get(60, TimeUnit.SECONDS);
        }

        /**
         * No node exports or imports a snapshot of the source, no clone device or suspended device is
         * left, the source keeps no snapshot taken for a clone, and every reserved byte is a side of
         * the source or of a clone.
         */
        private void assertNothingLeft() throws Exception {
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            List<String> left = kernelLeftovers();
            while (!left.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(200);
                left = kernelLeftovers();
            }
            assertEquals(List.of(), left, "left on the kernels");
            // The clone's release asks the source to delete its snapshot; the source deletes it as an operation of its own.
            List<String> snapshots = cluster.snapshots(source).stream().map(s -> s.id() + " " + s.name() + " " + s.state()).toList();
            while (!snapshots.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(200);
                snapshots = cluster.snapshots(source).stream().map(s -> s.id() + " " + s.name() + " " + s.state()).toList();
            }
            assertEquals(List.of(), snapshots, "the snapshots taken for the clones are gone");
            long sides = 0;
            List<String> volumes = new ArrayList<>(clones);
            volumes.add(source);
            for (String v : volumes) {
                for (VolumeView.LegView leg : cluster.view(v).legs()) {
                    for (VolumeView.GroupView g : leg.groups()) {
                        for (VolumeView.Side s : g.sides()) {
                            sides += s.lengthSectors() * 512;
                        }
                    }
                }
            }
            long expected = sides;
            long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            long reserved = cluster.reservedBytes();
            while (reserved != expected && System.nanoTime() < until) {
                Thread.sleep(200);
                reserved = cluster.reservedBytes();
            }
            assertEquals(expected, reserved, "every reserved byte is a side of a volume");
        }

        private List<String> kernelLeftovers() {
            List<String> left = new ArrayList<>();
            for (var e : cluster.kernels.entrySet()) {
                ObservedKernel o = e.getValue().observe();
                String node = e.getKey();
                for (ObservedKernel.Dm d : o.dmDevices()) {
                    if (d.name().contains("-snapx-") || d.name().contains("-clsrc-") || d.name().contains("-clmeta-")
                            || d.name().contains("-cldst-")) {
                        left.add(node + " " + d.name());
                    }
                    if (d.suspended()) {
                        left.add(node + " suspended " + d.name());
                    }
                }
                o.subsystems().stream().filter(s -> s.nqn().startsWith(Names.NQN_PREFIX + "snap:"))
                        .forEach(s -> left.add(node + " exports " + s.nqn()));
                o.controllers().stream().filter(c -> c.subsystemNqn().startsWith(Names.NQN_PREFIX + "snap:"))
                        .forEach(c -> left.add(node + " imports " + c.subsystemNqn()));
            }
            return left;
        }
    }
}
