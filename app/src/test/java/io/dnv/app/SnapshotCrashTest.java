package io.dnv.app;

import io.dnv.core.kernel.Names;
import io.dnv.core.testing.RunningEntities;
import io.dnv.core.volume.SnapshotView;
import io.dnv.core.volume.Volume;
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

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Three control members on PostgreSQL, six simulated storage nodes whose kernels take 300 ms to
 * suspend a device (so a snapshot runs long enough to be cut). First a kernel refusal is injected
 * into each stage of a snapshot (a stripe's suspend, a pool's create_snap, a stripe's resume, the
 * undo's thin delete), and one refused at every try: each is undone and taken again, or FAILED;
 * nothing is left suspended and no pool holds a thin but those of READY snapshots. Then attached
 * volumes with bytes on them are snapshotted at once and the control member hosting most of them
 * is stopped abruptly: every snapshot completes on the survivors and holds the bytes written
 * before it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SnapshotCrashTest {

    static final int VOLUMES = 6;
    static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b";
    static final VolumeSpec SPEC = new VolumeSpec(32L << 20, 1, 1, 2, 2);
    static final KernelLatencies SLOW_SUSPEND = KernelLatencies.NONE.with(KernelLatencies.Op.DM_SUSPEND, Duration.ofMillis(300));

    private FaultyCluster cluster;
    private final String run = UUID.randomUUID().toString().substring(0, 8);

    @BeforeAll
    void start() throws Exception {
        cluster = new FaultyCluster(3, ThrowawayPostgres.ownDatabase(), SLOW_SUSPEND, "k", 7);
    }

    @AfterAll
    void stop() throws Exception {
        cluster.close();
    }

    @Test
    @Order(1)
    void aRefusalInjectedAtEveryStageIsUndoneAndLeavesNothingBehind() throws Exception {
        String id = "inject-" + run;
        cluster.create(id, SPEC);
        VolumeView v = cluster.attached(id, HOST);
        bytesOn(v, 1);
        String active = v.controllers().get(0).node();
        String stripe = Names.volume(active, id);
        String leg1Pool = Names.pool(v.legs().get(1).owner(), id, 1);
        FaultyKernel k = cluster.faulty.get(active);

        k.refuse("dmSuspend", stripe, 1);                                 // hold
        assertEquals("READY", cluster.snapshot(id, "hold").state());
        k.refuse("dmMessage", leg1Pool + " 0 create_snap", 1);            // snap: leg 0's thin taken, leg 1's refused
        assertEquals("READY", cluster.snapshot(id, "snap").state());
        k.refuse("dmResume", stripe, 1);                                  // release: the agent resumes it again shortly
        assertEquals("READY", cluster.snapshot(id, "release").state());
        k.refuse("dmMessage", leg1Pool + " 0 create_snap", 1);
        k.refuse("dmMessage", " 0 delete", 1);                            // and the undo's delete: the undo is asked again
        assertEquals("READY", cluster.snapshot(id, "undo").state());
        k.refuse("dmMessage", leg1Pool + " 0 create_snap", 3);            // every try
        SnapshotView failed = cluster.snapshot(id, "failed");
        assertEquals("FAILED", failed.state());
        assertTrue(failed.error().orElseThrow().contains("injected"), failed.error().orElseThrow());
        assertEquals(0, k.refusalsLeft(), "every refusal was met");

        cluster.awaitNothingSuspended();
        List<SnapshotView> all = cluster.snapshots(id);
        assertEquals(List.of("READY", "READY", "READY", "READY", "FAILED"), all.stream().map(SnapshotView::state).toList());
        for (VolumeView.LegView leg : cluster.view(id).legs()) {
            for (SnapshotView s : all) {
                int thinId = Integer.parseInt(s.id().substring(s.id().indexOf('.') + 1));
                assertEquals(s.state().equals("READY"), SnapshotImage.exists(cluster.kernels.get(leg.owner()),
                        Names.pool(leg.owner(), id, leg.index()), thinId), s.id() + " (" + s.state() + ") in the pool of leg " + leg.index());
            }
        }
    }

    @Test
    @Order(2)
    void everySnapshotCompletesOnTheSurvivorsWhenAControlMemberDiesMidway() throws Exception {
        List<String> ids = new ArrayList<>();
        List<byte[]> before = new ArrayList<>();
        for (int i = 0; i < VOLUMES; i++) {
            ids.add("cut-" + run + "-" + i);
            cluster.create(ids.get(i), SPEC);
        }
        for (int i = 0; i < VOLUMES; i++) {
            before.add(bytesOn(cluster.attached(ids.get(i), HOST), 10 + i));
        }
        for (String id : ids) {
            Volume.SnapshotResult r = cluster.takeSnapshot(id, "cut");
            assertTrue(r.snapshot().isPresent(), r.error().toString());
        }
        ActorSystem<Void> victim = cluster.controls.stream().max(java.util.Comparator.comparingLong(c -> hosted(c, ids))).orElseThrow();
        List<String> running = new ArrayList<>(RunningEntities.ids(victim, Volume.ENTITY_TYPE_KEY));
        running.retainAll(ids);
        boolean midway = false;
        for (String id : running) {
            midway |= cluster.view(id).operation().isPresent();
        }
        victim.terminate();
        victim.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        cluster.askThrough(cluster.controls.stream().filter(c -> c != victim).findFirst().orElseThrow());
        assertTrue(midway, "the stopped member hosted snapshots still being taken: " + running);

        for (int i = 0; i < VOLUMES; i++) {
            String id = ids.get(i);
            SnapshotView s = cluster.awaitSnapshot(id + ".1", x -> !x.state().equals("CREATING"));
            assertEquals("READY", s.state(), s.toString());
            assertArrayEquals(before.get(i), SnapshotImage.read(cluster.kernels, cluster.view(id), 1).volume(4L << 20,
                    before.get(i).length), id + ": the snapshot holds what was written before it");
        }
        cluster.awaitNothingSuspended();
    }

    private byte[] bytesOn(VolumeView v, int seed) throws Exception {
        byte[] data = new byte[1 << 20];
        new Random(seed).nextBytes(data);
        cluster.hosts.write(HOST, v, 4L << 20, data).toCompletableFuture().get(30, TimeUnit.SECONDS);
        return data;
    }

    private static long hosted(ActorSystem<?> member, List<String> ids) {
        return RunningEntities.ids(member, Volume.ENTITY_TYPE_KEY).stream().filter(ids::contains).count();
    }
}
