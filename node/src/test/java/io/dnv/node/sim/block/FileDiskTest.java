package io.dnv.node.sim.block;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** Write-zeroes skips what was never written, and still leaves every byte of the range zero. */
class FileDiskTest {

    @TempDir
    Path dir;

    @Test
    void zeroingLeavesZeroesWhereverDataWasWritten() throws Exception {
        Path file = dir.resolve("disk");
        try (FileDisk disk = new FileDisk(file, 8 << 20)) {
            disk.write(4096, filled(8192, 1));
            disk.write(3 << 20, filled(1 << 20, 2));
            disk.write((3 << 20) + (1 << 20), filled(4096, 3)); // adjacent: merges with the one before
            disk.writeZeroes(0, 8 << 20);
            assertArrayEquals(new byte[8 << 20], read(disk, 0, 8 << 20));
        }
    }

    @Test
    void zeroingPartOfAWriteKeepsTheRest() throws Exception {
        try (FileDisk disk = new FileDisk(dir.resolve("disk"), 1 << 20)) {
            disk.write(0, filled(16384, 7));
            disk.writeZeroes(4096, 4096);
            byte[] back = read(disk, 0, 16384);
            byte[] expected = filled(16384, 7);
            Arrays.fill(expected, 4096, 8192, (byte) 0);
            assertArrayEquals(expected, back);
        }
    }

    @Test
    void aDiskOpenedAgainZeroesWhatItsEarlierLifeWrote() throws Exception {
        Path file = dir.resolve("disk");
        try (FileDisk disk = new FileDisk(file, 1 << 20)) {
            disk.write(512, filled(512, 9));
        }
        try (FileDisk again = new FileDisk(file, 1 << 20)) {
            again.writeZeroes(0, 1 << 20);
            assertArrayEquals(new byte[1 << 20], read(again, 0, 1 << 20));
        }
        assertEquals(1 << 20, Files.size(file));
    }

    @Test
    void zeroingTheMiddleOfAWriteThenWritingAroundItKeepsEveryByte() throws Exception {
        try (FileDisk disk = new FileDisk(dir.resolve("disk"), 1 << 20)) {
            disk.write(0, filled(65536, 5));
            disk.writeZeroes(16384, 16384);
            disk.writeZeroes(16384, 16384);   // zeroes again where it is zero: nothing to do
            disk.write(20480, filled(4096, 6));
            disk.writeZeroes(0, 65536);
            assertArrayEquals(new byte[65536], read(disk, 0, 65536));
            disk.write(8192, filled(512, 4));
            byte[] expected = new byte[65536];
            Arrays.fill(expected, 8192, 8704, (byte) 4);
            assertArrayEquals(expected, read(disk, 0, 65536));
        }
    }

    /**
     * The disk remembers exactly the sectors whose last write carried data: no fewer (zeroing would
     * skip old bytes) and no more (zeroing would write zeroes the file never held, as it did when a
     * removal in the middle of the map stretched a range over the next one's end).
     */
    @Test
    void itRemembersExactlyTheSectorsWhoseLastWriteCarriedData() throws Exception {
        int sectors = 4096;
        boolean[] data = new boolean[sectors];
        java.util.Random random = new java.util.Random(1);
        try (FileDisk disk = new FileDisk(dir.resolve("disk"), sectors * 512L)) {
            for (int i = 0; i < 5000; i++) {
                int first = random.nextInt(sectors);
                int count = 1 + random.nextInt(Math.min(64, sectors - first));
                int op = random.nextInt(3);
                switch (op) {
                    case 0 -> disk.write(first * 512L, filled(count * 512, 1 + random.nextInt(200)));
                    case 1 -> disk.write(first * 512L, new byte[count * 512]);
                    default -> disk.writeZeroes(first * 512L, count * 512L);
                }
                Arrays.fill(data, first, first + count, op == 0);
                boolean[] remembered = new boolean[sectors];
                disk.mayHoldData().forEach((start, end) -> Arrays.fill(remembered, (int) (start / 512), (int) (end / 512), true));
                assertArrayEquals(data, remembered, "after operation " + i);
            }
        }
    }

    @Test
    void randomWritesAndZeroingsReadBackAsAPlainArrayWould() throws Exception {
        int size = 4 << 20;
        byte[] model = new byte[size];
        java.util.Random random = new java.util.Random(42);
        try (FileDisk disk = new FileDisk(dir.resolve("disk"), size)) {
            for (int i = 0; i < 2000; i++) {
                int offset = random.nextInt(size / 512) * 512;
                int length = Math.min(size - offset, (1 + random.nextInt(512)) * 512);
                switch (random.nextInt(3)) {
                    case 0 -> {
                        byte[] data = filled(length, 1 + random.nextInt(200));
                        disk.write(offset, data);
                        System.arraycopy(data, 0, model, offset, length);
                    }
                    case 1 -> {
                        disk.write(offset, new byte[length]);
                        Arrays.fill(model, offset, offset + length, (byte) 0);
                    }
                    default -> {
                        disk.writeZeroes(offset, length);
                        Arrays.fill(model, offset, offset + length, (byte) 0);
                    }
                }
            }
            assertArrayEquals(model, read(disk, 0, size));
        }
    }

    private static byte[] filled(int length, int value) {
        byte[] b = new byte[length];
        Arrays.fill(b, (byte) value);
        return b;
    }

    private static byte[] read(FileDisk disk, long offset, int length) throws Exception {
        byte[] b = new byte[length];
        disk.read(offset, b);
        return b;
    }

    /**
     * I/O from a thread that was interrupted (an executor shut down under it) leaves the disk
     * usable for every other user: on a shared FileChannel it would have closed the channel.
     */
    @Test
    void anInterruptedThreadsIoLeavesTheDiskUsable() throws Exception {
        try (FileDisk disk = new FileDisk(dir.resolve("disk"), 1 << 20)) {
            disk.write(0, filled(4096, 3));
            byte[] got = new byte[4096];
            Thread.currentThread().interrupt();
            try {
                disk.read(0, got, 0, got.length);
                disk.write(4096, filled(4096, 4));
            } finally {
                Thread.interrupted();
            }
            java.util.concurrent.CompletableFuture.runAsync(() -> {
                try {
                    byte[] other = new byte[8192];
                    disk.read(0, other, 0, other.length);
                    assertArrayEquals(filled(4096, 3), Arrays.copyOfRange(other, 0, 4096));
                    assertArrayEquals(filled(4096, 4), Arrays.copyOfRange(other, 4096, 8192));
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).get(5, java.util.concurrent.TimeUnit.SECONDS);
        }
    }
}
