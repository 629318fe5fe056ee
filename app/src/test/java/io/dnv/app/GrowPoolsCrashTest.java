package io.dnv.app;

import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.ThinPoolStatus;
import io.dnv.core.testing.RunningEntities;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.core.volume.VolumeView;
import io.dnv.node.sim.KernelLatencies;
import io.dnv.persistence.testing.ThrowawayPostgres;
import org.apache.pekko.actor.typed.ActorSystem;
import org.junit.jupiter.api.Test;

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
 * Three control members on PostgreSQL, six simulated storage nodes. Attached volumes of two legs
 * (20 blocks a pool) are written, snapshotted and overwritten until every pool is past the
 * low-water mark (16 of 20 blocks); every pool reload takes 2 s. While the pools grow, the
 * control member hosting a growing volume is stopped abruptly: every growth completes on the
 * survivors (a second group in every leg, 24 blocks a pool), the bytes read back and nothing is
 * left suspended. A snapshot asked for while a pool grows is refused, naming the growth.
 */
class GrowPoolsCrashTest {

    static final int VOLUMES = 3;
    static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:2c4e6a8b-0d1f-4a3b-9c5d-7e9f1a3b5c7d";
    static final VolumeSpec SPEC = new VolumeSpec(32L << 20, 1, 1, 2, 2);
    static final int MIB = 1 << 20;

    @Test
    void everyGrowthCompletesOnTheSurvivorsWhenAControlMemberDiesMidway() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        try (FaultyCluster cluster = new FaultyCluster(3, ThrowawayPostgres.ownDatabase(), KernelLatencies.NONE, "g", 8)) {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < VOLUMES; i++) {
                ids.add("pool-" + run + "-" + i);
                cluster.create(ids.get(i), SPEC);
            }
            List<byte[]> images = new ArrayList<>();
            for (int i = 0; i < VOLUMES; i++) {
                VolumeView v = cluster.attached(ids.get(i), HOST);
                // 24 MiB: 12 blocks of each leg's 20.
                byte[] image = new byte[24 * MIB];
                new Random(i).nextBytes(image);
                write(cluster, v, 0, image);
                images.add(image);
                for (VolumeView.LegView leg : v.legs()) {
                    cluster.faulty.get(leg.owner()).slow("dmLoad", Names.pool(leg.owner(), v.id(), leg.index()), Duration.ofSeconds(2));
                }
            }
            for (int i = 0; i < VOLUMES; i++) {
                assertEquals("READY", cluster.snapshot(ids.get(i), "s").state());
                // 8 MiB overwritten: 4 more blocks of each leg, 16 of 20.
                byte[] over = new byte[8 * MIB];
                new Random(100 + i).nextBytes(over);
                System.arraycopy(over, 0, images.get(i), 0, over.length);
                write(cluster, cluster.view(ids.get(i)), 0, over);
            }

            String growing = awaitAnyGrowing(cluster, ids);
            ActorSystem<Void> victim = cluster.controls.stream()
                    .filter(c -> RunningEntities.ids(c, Volume.ENTITY_TYPE_KEY).contains(growing)).findFirst().orElseThrow();
            assertTrue(cluster.view(growing).operation().filter(o -> o.kind().equals("grow-pools")).isPresent());
            Volume.SnapshotResult busy = cluster.takeSnapshot(growing, "during");
            assertTrue(busy.error().filter(e -> e instanceof io.dnv.core.DomainError.Conflict c
                    && c.operation().equals(java.util.Optional.of("grow-pools"))).isPresent(), "refused naming the growth: " + busy);
            victim.terminate();
            victim.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
            cluster.askThrough(cluster.controls.stream().filter(c -> c != victim).findFirst().orElseThrow());

            for (int i = 0; i < VOLUMES; i++) {
                String id = ids.get(i);
                VolumeView v = cluster.await(id, r -> r.volume().isPresent() && r.volume().get().operation().isEmpty()
                        && r.volume().get().legs().stream().allMatch(l -> l.groups().size() == 2), "grown").volume().orElseThrow();
                assertTrue(v.error().isEmpty(), id + ": " + v.error());
                for (VolumeView.LegView leg : v.legs()) {
                    String pool = Names.pool(leg.owner(), id, leg.index());
                    ThinPoolStatus status = ThinPoolStatus.parse(cluster.kernels.get(leg.owner()).dmStatus(pool).orElseThrow()).orElseThrow();
                    assertEquals(24, status.totalDataBlocks(), id + " leg " + leg.index() + ": " + status);
                }
                byte[] read = cluster.hosts.read(HOST, v, 0, images.get(i).length).toCompletableFuture().get(60, TimeUnit.SECONDS);
                assertArrayEquals(images.get(i), read, id + ": the bytes written before the growth");
            }
            cluster.awaitNothingSuspended();
        }
    }

    private static void write(FaultyCluster cluster, VolumeView v, long offset, byte[] data) throws Exception {
        cluster.hosts.write(HOST, v, offset, data).toCompletableFuture().get(60, TimeUnit.SECONDS);
    }

    /** The first volume seen growing its pools at the stage that reloads them. */
    private static String awaitAnyGrowing(FaultyCluster cluster, List<String> ids) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            for (String id : ids) {
                if (cluster.view(id).operation().filter(o -> o.kind().equals("grow-pools") && o.stage().contains("grow")).isPresent()) {
                    return id;
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no volume grew its pools: " + ids);
    }
}
