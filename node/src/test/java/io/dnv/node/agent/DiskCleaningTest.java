package io.dnv.node.agent;

import io.dnv.core.kernel.DiskRange;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The free ranges of the disk the desired state names are zeroed on the disk, and reported as far as they got. */
class DiskCleaningTest {

    private static final String DISK = "/dev/ram0";
    private static final long CHUNK_SECTORS = Zeroing.CHUNK_BYTES / 512;

    @TempDir
    Path dir;

    private SimulatedKernel kernel;

    @AfterEach
    void stop() {
        kernel.shutdown();
    }

    @Test
    void aRangeIsZeroedChunkByChunkAndReportedUnderItsEpochAsFarAsItGot() throws Exception {
        kernel = new SimulatedKernel("127.0.8.1", new Fabric()).addDisk(DISK, dir.resolve("d"), 2 * Zeroing.CHUNK_BYTES);
        byte[] old = new byte[4096];
        Arrays.fill(old, (byte) 0x5a);
        try (SimulatedKernel.Handle disk = kernel.open(DISK)) {
            disk.write(Zeroing.CHUNK_BYTES + 4096, old);
        }
        DiskCleaning cleaning = new DiskCleaning(Optional.of(DISK));
        DiskRange whole = new DiskRange(0, 2 * CHUNK_SECTORS, 1);
        cleaning.want(List.of(whole));

        assertTrue(cleaning.zeroNext(kernel));
        assertEquals(List.of(new DiskRange(0, CHUNK_SECTORS, 1)), cleaning.cleaned(), "one chunk reported");
        cleaning.want(List.of(new DiskRange(CHUNK_SECTORS, CHUNK_SECTORS, 1)));
        assertEquals(List.of(), cleaning.cleaned(), "the control plane took the first chunk as clean: nothing more to report yet");
        assertTrue(cleaning.zeroNext(kernel));
        assertFalse(cleaning.zeroNext(kernel), "all of it zero");
        assertEquals(List.of(new DiskRange(CHUNK_SECTORS, CHUNK_SECTORS, 1)), cleaning.cleaned());
        byte[] read = new byte[4096];
        try (SimulatedKernel.Handle disk = kernel.open(DISK)) {
            disk.read(Zeroing.CHUNK_BYTES + 4096, read);
        }
        assertTrue(Arrays.equals(new byte[4096], read), "the old bytes are gone from the disk");

        cleaning.want(List.of(new DiskRange(0, CHUNK_SECTORS, 2)));
        assertEquals(List.of(), cleaning.cleaned(), "the same bytes freed again (a new epoch) start again");
        assertTrue(cleaning.zeroNext(kernel));
    }

    @Test
    void aNodeWithoutADiskZeroesNothing() {
        kernel = new SimulatedKernel("127.0.8.2", new Fabric());
        DiskCleaning cleaning = new DiskCleaning(Optional.empty());
        cleaning.want(List.of(new DiskRange(0, CHUNK_SECTORS, 1)));
        assertFalse(cleaning.zeroNext(kernel));
    }
}
