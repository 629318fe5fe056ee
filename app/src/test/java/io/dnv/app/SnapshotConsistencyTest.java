package io.dnv.app;

import io.dnv.core.volume.SnapshotView;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.core.volume.VolumeView;
import io.dnv.node.sim.KernelLatencies;
import io.dnv.persistence.Database;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Crash consistency: several writers write numbered blocks through a simulated host (multipath
 * over both active controllers of a volume of four legs), each block in the next 16 KiB chunk of
 * the stripe, so consecutive blocks land on different legs, each written only once its
 * predecessor was acknowledged. Snapshots are taken while they write, and the second active's
 * kernel takes 200 ms longer to suspend each of its legs' thins than the first's, so its legs
 * are snapshotted well after the first's: only the held stripes keep the writers from going on
 * meanwhile (without them, this test finds blocks without their predecessors).
 * In every snapshot, read back from the legs' pools, every block present has all its
 * predecessors, and every block is whole or absent (never torn).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SnapshotConsistencyTest {

    static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:2a7c4e1b-8d3f-4b6a-9c5e-7f1a3b5d9e2c";
    static final int WRITERS = 3;
    static final int SNAPSHOTS = 8;
    static final int BLOCK = 4096;
    static final long CHUNK = VolumeLayout.STRIPE_CHUNK_SECTORS * (long) VolumeLayout.SECTOR;
    static final long SIZE = 128L << 20;
    /**
     * Each writer writes a stretch of its own from its start, chunk after chunk, never a block
     * twice. A stretch is a twelfth of the volume, so the volume's pools hold what the writers and
     * the snapshots take: each snapshot shares every writer's partly written 1 MiB thin block on
     * each leg, and the next write there copies it (up to 3 copies per leg per snapshot, 24 MiB per
     * leg for 8); with the 8 MiB written per leg that stays within a pool of the 32 MiB leg plus
     * its reserve (39 MiB). Writers that filled the volume while 8 snapshots were taken ran a pool
     * out of space on a fast machine, and the host's write failed (error_if_no_space), as it should.
     */
    static final long STRETCH = SIZE / WRITERS / 4 / CHUNK * CHUNK;
    static final int MAX_SEQ = (int) (STRETCH / CHUNK);
    private static final byte[] MAGIC = "dnv-seq!".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    private FaultyCluster cluster;

    @BeforeAll
    void start() throws Exception {
        Path dir = Files.createTempDirectory("dnv-snapshot-consistency");
        cluster = new FaultyCluster(1, Database.h2File(dir.resolve("db")), KernelLatencies.NONE, "q", 8);
    }

    @AfterAll
    void stop() throws Exception {
        cluster.close();
    }

    @Test
    void everyBlockInASnapshotHasAllItsPredecessors() throws Exception {
        cluster.create("seq", new VolumeSpec(SIZE, 2, 1, 2, 2));
        VolumeView view = cluster.attached("seq", HOST);
        String late = view.controllers().get(1).node();
        cluster.faulty.get(late).slow("dmSuspend", "-thin-", Duration.ofMillis(200));
        cluster.hosts.read(HOST, view, 0, BLOCK).toCompletableFuture().get(60, TimeUnit.SECONDS);   // connected before the writers start

        AtomicBoolean writing = new AtomicBoolean(true);
        AtomicIntegerArray acked = new AtomicIntegerArray(WRITERS);
        AtomicReference<String> writerError = new AtomicReference<>();
        List<Thread> writers = new ArrayList<>();
        for (int w = 0; w < WRITERS; w++) {
            int writer = w;
            Thread t = new Thread(() -> {
                for (int seq = 0; seq < MAX_SEQ && writing.get() && writerError.get() == null; seq++) {
                    try {
                        cluster.hosts.write(HOST, view, offset(writer, seq), block(writer, seq)).toCompletableFuture().get(60, TimeUnit.SECONDS);
                    } catch (Exception e) {
                        writerError.set("writer " + writer + " block " + seq + ": " + e);
                    }
                    acked.set(writer, seq + 1);
                }
            }, "snapshot-writer-" + w);
            writers.add(t);
            t.start();
        }

        List<String> ids = new ArrayList<>();
        for (int i = 0; i < SNAPSHOTS; i++) {
            Thread.sleep(50);
            SnapshotView s = cluster.snapshot("seq", "s" + i);
            assertEquals("READY", s.state(), s.toString());
            assertTrue(s.heldMillis() >= 200, "held while the late active snapshotted: " + s.heldMillis() + " ms");
            ids.add(s.id());
        }
        writing.set(false);
        for (Thread t : writers) {
            t.join(60_000);
        }
        assertEquals(null, writerError.get(), "host I/O never failed while snapshots were taken");

        VolumeView volume = cluster.view("seq");
        int[] previous = new int[WRITERS];
        List<String> counts = new ArrayList<>();
        for (int i = 0; i < SNAPSHOTS; i++) {
            int thinId = Integer.parseInt(ids.get(i).substring(ids.get(i).indexOf('.') + 1));
            SnapshotImage image = SnapshotImage.read(cluster.kernels, volume, thinId);
            int[] present = new int[WRITERS];
            for (int w = 0; w < WRITERS; w++) {
                boolean gap = false;
                for (int seq = 0; seq < MAX_SEQ; seq++) {
                    byte[] b = image.volume(offset(w, seq), BLOCK);
                    boolean whole = Arrays.equals(b, block(w, seq));
                    if (!whole && !Arrays.equals(b, new byte[BLOCK])) {
                        fail("snapshot " + ids.get(i) + ": writer " + w + " block " + seq + " is torn");
                    }
                    if (whole && gap) {
                        fail("snapshot " + ids.get(i) + ": writer " + w + " block " + seq + " is there without block " + present[w]);
                    }
                    if (whole) {
                        present[w]++;
                    } else {
                        gap = true;
                    }
                }
                assertTrue(present[w] >= previous[w], "a later snapshot holds at least what an earlier one did");
            }
            previous = present;
            counts.add(Arrays.toString(present));
        }
        assertTrue(counts.stream().distinct().count() > 1, "the writers wrote while the snapshots were taken: " + counts);
        for (int w = 0; w < WRITERS; w++) {
            assertTrue(previous[w] <= acked.get(w), "a snapshot holds only what was written");
        }
        cluster.awaitNothingSuspended();
        System.out.println("blocks per writer in each snapshot: " + counts + "; acknowledged in all: " + acked);
    }

    /** Block {@code seq} of a writer starts the stripe's chunk after its predecessor's, on the next leg. */
    private static long offset(int writer, int seq) {
        return writer * STRETCH + seq * CHUNK;
    }

    private static byte[] block(int writer, int seq) {
        byte[] b = new byte[BLOCK];
        new Random(writer * 1_000_003L + seq).nextBytes(b);
        ByteBuffer.wrap(b).put(MAGIC).putInt(writer).putInt(seq);
        return b;
    }
}
