package io.dnv.app;

import io.dnv.core.DomainError;
import io.dnv.core.kernel.Names;
import io.dnv.core.testing.RunningEntities;
import io.dnv.core.volume.SnapshotGroup;
import io.dnv.core.volume.SnapshotGroupView;
import io.dnv.core.volume.SnapshotView;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.core.volume.VolumeView;
import io.dnv.node.sim.KernelLatencies;
import io.dnv.persistence.testing.ThrowawayPostgres;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Snapshot groups on three control members (PostgreSQL) and six simulated storage nodes. A
 * group that names a missing, busy or repeated volume is refused and changes nothing. Writers
 * write numbered blocks through a simulated host, each block on another member volume than its
 * predecessor (and on another leg), while groups are taken and one active's kernel snapshots
 * its thins 200 ms late: in every group every block present has all its predecessors, whatever
 * volume they are on. A kernel refusal injected at each stage is undone and the group taken
 * again (FAILED after three), leaving nothing suspended and no thin of a FAILED group in any
 * pool. Last, the control member running a group is stopped midway: the group completes on
 * another.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class GroupSnapshotTest {

    static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:5b1e9c3a-7d2f-4e8b-a6c4-3f9d1e7b2a5c";
    static final VolumeSpec SMALL = new VolumeSpec(32L << 20, 1, 1, 2, 2);
    /** Two actives, four legs each. */
    static final VolumeSpec WIDE = new VolumeSpec(32L << 20, 2, 1, 2, 2);
    static final int WRITERS = 2;
    static final int GROUPS = 5;
    static final int BLOCK = 4096;
    static final long CHUNK = VolumeLayout.STRIPE_CHUNK_SECTORS * (long) VolumeLayout.SECTOR;
    private static final byte[] MAGIC = "dnv-grp!".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private FaultyCluster cluster;
    private final String run = UUID.randomUUID().toString().substring(0, 8);

    @BeforeAll
    void start() throws Exception {
        cluster = new FaultyCluster(3, ThrowawayPostgres.ownDatabase(), KernelLatencies.NONE, "g", 9);
    }

    @AfterAll
    void stop() throws Exception {
        cluster.close();
    }

    @Test
    @Order(1)
    void aMissingBusyOrRepeatedMemberIsRefusedAndNothingChanges() throws Exception {
        String a = "ref-a-" + run;
        String b = "ref-b-" + run;
        cluster.create(a, SMALL);
        cluster.create(b, SMALL);
        cluster.attached(a, HOST);
        cluster.attached(b, HOST);

        DomainError missing = cluster.createGroup("g-missing", List.of(a, "nowhere-" + run)).error().orElseThrow();
        assertInstanceOf(DomainError.Invalid.class, missing);
        assertTrue(missing.detail().contains("nowhere-" + run), missing.detail());
        assertInstanceOf(DomainError.Invalid.class, cluster.createGroup("g-twice", List.of(a, a)).error().orElseThrow());

        // b busy: its own snapshot held up by a slow suspend of its stripe.
        String bActive = cluster.view(b).controllers().get(0).node();
        cluster.faulty.get(bActive).slow("dmSuspend", Names.volume(bActive, b), Duration.ofMillis(1500));
        assertTrue(cluster.takeSnapshot(b, "own").snapshot().isPresent());
        DomainError busy = cluster.createGroup("g-busy", List.of(a, b)).error().orElseThrow();
        assertEquals("snapshot", ((DomainError.Conflict) busy).operation().orElseThrow(), busy.toString());
        cluster.faulty.get(bActive).slow("dmSuspend", Names.volume(bActive, b), Duration.ZERO);
        cluster.awaitSnapshot(b + ".1", s -> s.state().equals("READY"));

        for (String name : List.of("g-missing", "g-twice", "g-busy")) {
            assertInstanceOf(DomainError.NotFound.class, cluster.awaitGroup(name, r -> true).error().orElseThrow(), name);
        }
        assertEquals(List.of(), cluster.snapshots(a), "a refused group leaves nothing in its members");
        assertEquals(List.of("own"), cluster.snapshots(b).stream().map(SnapshotView::name).toList());
        assertTrue(cluster.view(a).operation().isEmpty());

        SnapshotGroupView g = cluster.group("g-ok-" + run, List.of(a, b));
        assertEquals("READY", g.state(), g.toString());
        assertEquals(List.of(a, b), g.snapshotIds().stream().map(id -> id.substring(0, id.indexOf('.'))).toList());
        assertEquals(g.snapshotIds().subList(0, 1), cluster.snapshots(a).stream().map(SnapshotView::id).toList());
        assertEquals(g.name(), cluster.snapshots(b).get(1).name(), "each member's snapshot is named as the group");
        assertEquals("READY", cluster.snapshots(b).get(1).state());
        assertEquals(g.snapshotIds(), cluster.createGroup(g.name(), List.of(a, b)).group().orElseThrow().snapshotIds(),
                "asked again, the same group");
        assertInstanceOf(DomainError.Conflict.class, cluster.createGroup(g.name(), List.of(a)).error().orElseThrow());
        DomainError named = cluster.createGroup("own", List.of(a, b)).error().orElseThrow();
        assertTrue(named instanceof DomainError.Conflict && named.detail().contains("named own"), named.toString());
        assertEquals(1, cluster.snapshots(a).size(), "refused because b has a snapshot of the name: a has none more");
        cluster.awaitNothingSuspended();
    }

    /**
     * Writer {@code w}'s block {@code seq} is chunk {@code c = seq * WRITERS + w} of the group,
     * on member {@code c % 3} at that member's chunk {@code c / 3}: each block lands on another
     * volume than its predecessor, and every leg of every member is written.
     */
    @Test
    @Order(2)
    void everyBlockInAGroupHasAllItsPredecessorsAcrossVolumes() throws Exception {
        List<String> ids = List.of("seq-a-" + run, "seq-b-" + run, "seq-c-" + run);
        for (String id : ids) {
            cluster.create(id, WIDE);
        }
        List<VolumeView> views = new ArrayList<>();
        for (String id : ids) {
            VolumeView v = cluster.attached(id, HOST);
            cluster.hosts.read(HOST, v, 0, BLOCK).toCompletableFuture().get(60, TimeUnit.SECONDS);
            views.add(v);
        }
        String late = views.get(0).controllers().get(1).node();
        cluster.faulty.get(late).slow("dmSuspend", "-thin-", Duration.ofMillis(200));
        // The writers fill at most a quarter of the volumes, so the pools hold what they write and
        // what the groups take: each group shares the partly written 1 MiB thin block each writer
        // left on each leg, and the next write there copies it. Writers that filled the volumes
        // while the groups were taken ran a pool out of space on a fast run, and the host's write
        // failed (error_if_no_space), as it should: FullPoolTest is about that. So that they still
        // write while every group is taken, however long the groups take, they may write a share
        // more before each group, and the group waits until they are into it.
        int maxSeq = (int) (ids.size() * (WIDE.sizeBytes() / CHUNK) / WRITERS / 4);
        int share = maxSeq / (GROUPS + 1);
        java.util.concurrent.atomic.AtomicInteger allowed = new java.util.concurrent.atomic.AtomicInteger(share);

        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicIntegerArray acked = new AtomicIntegerArray(WRITERS);
        AtomicReference<String> writerError = new AtomicReference<>();
        List<Thread> writers = new ArrayList<>();
        for (int w = 0; w < WRITERS; w++) {
            int writer = w;
            Thread t = new Thread(() -> {
                for (int seq = 0; seq < maxSeq && writing.get() && writerError.get() == null; seq++) {
                    while (seq >= allowed.get() && writing.get()) {
                        java.util.concurrent.locks.LockSupport.parkNanos(1_000_000);
                    }
                    long c = chunk(writer, seq);
                    try {
                        cluster.hosts.write(HOST, views.get((int) (c % ids.size())), c / ids.size() * CHUNK, block(writer, seq))
                                .toCompletableFuture().get(60, TimeUnit.SECONDS);
                    } catch (Exception e) {
                        writerError.set("writer " + writer + " block " + seq + ": " + e);
                    }
                    acked.set(writer, seq + 1);
                }
            }, "group-writer-" + w);
            writers.add(t);
            t.start();
        }
        List<SnapshotGroupView> groups = new ArrayList<>();
        for (int i = 0; i < GROUPS; i++) {
            long into = allowed.get() - share / 2;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            for (int w = 0; w < WRITERS; w++) {
                while (acked.get(w) < into && writerError.get() == null) {
                    assertTrue(System.nanoTime() < deadline, "writer " + w + " at block " + acked.get(w) + " after 60 s, not " + into);
                    Thread.sleep(5);
                }
            }
            allowed.addAndGet(share);
            SnapshotGroupView g = cluster.group("seq-" + i + "-" + run, ids);
            assertEquals("READY", g.state(), g.toString());
            assertTrue(g.heldMillis() >= 200, "held while the late active snapshotted: " + g.heldMillis() + " ms");
            groups.add(g);
        }
        writing.set(false);
        for (Thread t : writers) {
            t.join(60_000);
        }
        assertEquals(null, writerError.get(), "host I/O never failed while groups were taken");

        int[] previous = new int[WRITERS];
        List<String> counts = new ArrayList<>();
        for (SnapshotGroupView g : groups) {
            Map<String, SnapshotImage> images = new LinkedHashMap<>();
            for (int m = 0; m < ids.size(); m++) {
                String snapshotId = g.snapshotIds().get(m);
                images.put(ids.get(m), SnapshotImage.read(cluster.kernels, cluster.view(ids.get(m)),
                        Integer.parseInt(snapshotId.substring(snapshotId.indexOf('.') + 1))));
            }
            int[] present = new int[WRITERS];
            for (int w = 0; w < WRITERS; w++) {
                boolean gap = false;
                for (int seq = 0; seq < maxSeq; seq++) {
                    long c = chunk(w, seq);
                    byte[] b = images.get(ids.get((int) (c % ids.size()))).volume(c / ids.size() * CHUNK, BLOCK);
                    boolean whole = Arrays.equals(b, block(w, seq));
                    if (!whole && !Arrays.equals(b, new byte[BLOCK])) {
                        fail("group " + g.name() + ": writer " + w + " block " + seq + " is torn");
                    }
                    if (whole && gap) {
                        fail("group " + g.name() + ": writer " + w + " block " + seq + " (on " + ids.get((int) (c % ids.size()))
                                + ") is there without block " + present[w]);
                    }
                    if (whole) {
                        present[w]++;
                    } else {
                        gap = true;
                    }
                }
                assertTrue(present[w] >= previous[w], "a later group holds at least what an earlier one did");
            }
            previous = present;
            counts.add(Arrays.toString(present));
        }
        assertTrue(counts.stream().distinct().count() > 1, "the writers wrote while the groups were taken: " + counts);
        cluster.faulty.get(late).slow("dmSuspend", "-thin-", Duration.ZERO);
        cluster.awaitNothingSuspended();
        System.out.println("blocks per writer in each group: " + counts + "; acknowledged in all: " + acked);
    }

    @Test
    @Order(3)
    void aRefusalInjectedAtEveryStageIsUndoneAndLeavesNothingBehind() throws Exception {
        List<String> ids = List.of("inj-a-" + run, "inj-b-" + run);
        for (String id : ids) {
            cluster.create(id, SMALL);
        }
        List<VolumeView> views = new ArrayList<>();
        for (String id : ids) {
            views.add(cluster.attached(id, HOST));
        }
        // The second member's stripe and its leg 1's pool, on their nodes.
        String active = views.get(1).controllers().get(0).node();
        String stripe = Names.volume(active, ids.get(1));
        String leg1Owner = views.get(1).legs().get(1).owner();
        String leg1Pool = Names.pool(leg1Owner, ids.get(1), 1);
        FaultyKernel k = cluster.faulty.get(active);
        FaultyKernel owner = cluster.faulty.get(leg1Owner);

        k.refuse("dmSuspend", stripe, 1);                                     // hold
        assertEquals("READY", cluster.group("hold-" + run, ids).state());
        owner.refuse("dmMessage", leg1Pool + " 0 create_snap", 1);            // snap: every other leg's thin taken
        assertEquals("READY", cluster.group("snap-" + run, ids).state());
        k.refuse("dmResume", stripe, 1);                                      // release: the agent resumes it again shortly
        assertEquals("READY", cluster.group("release-" + run, ids).state());
        owner.refuse("dmMessage", leg1Pool + " 0 create_snap", 1);
        owner.refuse("dmMessage", " 0 delete", 1);                            // and the undo's delete: asked again
        assertEquals("READY", cluster.group("undo-" + run, ids).state());
        owner.refuse("dmMessage", leg1Pool + " 0 create_snap", 3);            // every try
        SnapshotGroupView failed = cluster.group("failed-" + run, ids);
        assertEquals("FAILED", failed.state());
        assertTrue(failed.error().orElseThrow().contains("injected"), failed.error().orElseThrow());
        assertEquals(0, k.refusalsLeft() + owner.refusalsLeft(), "every refusal was met");

        cluster.awaitNothingSuspended();
        for (int m = 0; m < ids.size(); m++) {
            List<SnapshotView> all = cluster.snapshots(ids.get(m));
            assertEquals(List.of("READY", "READY", "READY", "READY", "FAILED"), all.stream().map(SnapshotView::state).toList());
            for (VolumeView.LegView leg : cluster.view(ids.get(m)).legs()) {
                for (SnapshotView s : all) {
                    int thinId = Integer.parseInt(s.id().substring(s.id().indexOf('.') + 1));
                    assertEquals(s.state().equals("READY"), SnapshotImage.exists(cluster.kernels.get(leg.owner()),
                            Names.pool(leg.owner(), ids.get(m), leg.index()), thinId), s.id() + " (" + s.state() + ") in leg " + leg.index());
                }
            }
        }

        // Deleting a group deletes every member's snapshot from every pool.
        String deleted = "release-" + run;
        assertEquals("DELETING", askDelete(deleted).group().orElseThrow().state());
        assertInstanceOf(DomainError.NotFound.class, cluster.awaitGroup(deleted, r -> r.group().isEmpty()).error().orElseThrow());
        for (String id : ids) {
            cluster.await(id, r -> r.volume().orElseThrow().operation().isEmpty(), "done");
            assertEquals(4, cluster.snapshots(id).size(), "only the group's snapshot went");
            assertTrue(cluster.snapshots(id).stream().noneMatch(s -> s.name().equals(deleted)));
        }
    }

    @Test
    @Order(4)
    void aGroupCompletesOnAnotherControlMemberWhenItsOwnStopsMidway() throws Exception {
        List<String> ids = new ArrayList<>();
        List<byte[]> before = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            ids.add("cut-" + run + "-" + i);
            cluster.create(ids.get(i), SMALL);
        }
        for (int i = 0; i < ids.size(); i++) {
            VolumeView v = cluster.attached(ids.get(i), HOST);
            byte[] data = new byte[1 << 20];
            new Random(20 + i).nextBytes(data);
            cluster.hosts.write(HOST, v, 4L << 20, data).toCompletableFuture().get(30, TimeUnit.SECONDS);
            before.add(data);
        }
        cluster.faulty.values().forEach(f -> f.slow("dmSuspend", "", Duration.ofMillis(500)));
        String name = "cut-" + run;
        assertTrue(cluster.createGroup(name, ids).group().isPresent());
        ActorSystem<Void> victim = cluster.controls.stream()
                .filter(c -> RunningEntities.ids(c, SnapshotGroup.ENTITY_TYPE_KEY).contains(name)).findFirst().orElseThrow();
        assertEquals("CREATING", cluster.awaitGroup(name, r -> true).group().orElseThrow().state(), "stopped midway");
        victim.terminate();
        victim.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        cluster.askThrough(cluster.controls.stream().filter(c -> c != victim).findFirst().orElseThrow());

        SnapshotGroupView g = cluster.awaitGroup(name, r -> r.group().map(x -> !x.state().equals("CREATING")).orElse(false))
                .group().orElseThrow();
        cluster.faulty.values().forEach(f -> f.slow("dmSuspend", "", Duration.ZERO));
        assertEquals("READY", g.state(), g.toString());
        for (int i = 0; i < ids.size(); i++) {
            String snapshotId = g.snapshotIds().get(i);
            assertEquals("READY", cluster.awaitSnapshot(snapshotId, s -> true).state());
            assertArrayEquals(before.get(i), SnapshotImage.read(cluster.kernels, cluster.view(ids.get(i)),
                    Integer.parseInt(snapshotId.substring(snapshotId.indexOf('.') + 1))).volume(4L << 20, before.get(i).length),
                    ids.get(i) + ": the snapshot holds what was written before it");
            cluster.await(ids.get(i), r -> r.volume().orElseThrow().operation().isEmpty(), "done");
        }
        cluster.awaitNothingSuspended();
    }

    private SnapshotGroup.Result askDelete(String name) throws Exception {
        return cluster.sharding().entityRefFor(SnapshotGroup.ENTITY_TYPE_KEY, name).<SnapshotGroup.Result>ask(SnapshotGroup.Delete::new,
                Duration.ofSeconds(10)).toCompletableFuture().get();
    }

    private static long chunk(int writer, int seq) {
        return (long) seq * WRITERS + writer;
    }

    private static byte[] block(int writer, int seq) {
        byte[] b = new byte[BLOCK];
        new Random(writer * 1_000_003L + seq).nextBytes(b);
        ByteBuffer.wrap(b).put(MAGIC).putInt(writer).putInt(seq);
        return b;
    }
}
