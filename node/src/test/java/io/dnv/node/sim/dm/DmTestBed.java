package io.dnv.node.sim.dm;

import io.dnv.node.kernel.KernelException;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.node.sim.block.BlockDevice;
import io.dnv.node.sim.block.BlockDevices;
import io.dnv.node.sim.block.FileDisk;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertThrows;

/** A simulated kernel for one test: sparse file disks registered as block devices, and a DeviceMapper. */
final class DmTestBed implements AutoCloseable {

    static final int SECTOR = 512;

    private final Path dir;
    private final Map<String, FileDisk> disks = new LinkedHashMap<>();
    private final Map<String, int[]> numbers = new LinkedHashMap<>();
    BlockDevices devices = new BlockDevices();
    DeviceMapper dm = new DeviceMapper(devices);

    DmTestBed(Path dir) {
        this.dir = dir;
    }

    /** A disk of {@code sectors} at {@code path} (e.g. /dev/ram0) with the given numbers. */
    FileDisk disk(String path, int major, int minor, long sectors) {
        FileDisk d = new FileDisk(dir.resolve(path.substring(path.lastIndexOf('/') + 1)), sectors * SECTOR);
        disks.put(path, d);
        numbers.put(path, new int[]{major, minor});
        devices.register(path, major, minor, d);
        return d;
    }

    /** Power cycle: every dm device gone, then a fresh kernel that finds the same disks again. */
    void powerCycle() {
        dm.powerOff();
        devices = new BlockDevices();
        disks.forEach((path, d) -> devices.register(path, numbers.get(path)[0], numbers.get(path)[1], d));
        dm = new DeviceMapper(devices);
    }

    BlockDevice dev(String pathOrName) {
        String path = pathOrName.startsWith("/") ? pathOrName : "/dev/mapper/" + pathOrName;
        return devices.resolve(path).orElseThrow().device();
    }

    String mm(String name) {
        return devices.resolve("/dev/mapper/" + name).orElseThrow().majorMinor();
    }

    ObservedKernel.Dm observe(String name) {
        return dm.list().stream().filter(d -> d.name().equals(name)).findFirst().orElseThrow();
    }

    String table(String name) {
        return observe(name).table();
    }

    String status(String name) {
        return observe(name).status();
    }

    /** The status of a raid1 once its background copy is done (md's sync action idle again), within 10 s. */
    String settled(String name) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        String s = status(name);
        while (!s.contains(" idle ") && System.nanoTime() < deadline) {
            try {
                Thread.sleep(5);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            s = status(name);
        }
        return s;
    }

    KernelException refused(Runnable r) {
        return assertThrows(KernelException.class, r::run);
    }

    /** Asserts that {@code actual} contains every part, showing the whole text when it does not. */
    static void assertContains(String actual, String... parts) {
        for (String p : parts) {
            org.junit.jupiter.api.Assertions.assertTrue(actual.contains(p), () -> "expected to contain <" + p + ">:\n" + actual);
        }
    }

    static byte[] pattern(long seed, int length) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    static byte[] filled(int value, int length) {
        byte[] b = new byte[length];
        Arrays.fill(b, (byte) value);
        return b;
    }

    static byte[] read(BlockDevice d, long offset, int length) {
        byte[] b = new byte[length];
        try {
            d.read(offset, b);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return b;
    }

    static void write(BlockDevice d, long offset, byte[] data) {
        try {
            d.write(offset, data);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Both raid1 sides' linear slices: per side a 1 MiB meta slice and a data slice of
     * {@code dataSectors} on one disk, named &lt;prefix&gt;&lt;i&gt;-m / -d. Returns the raid1 table words after the count.
     */
    String sides(String prefix, List<String> diskPaths, long diskOffset, long dataSectors) {
        List<String> words = new ArrayList<>();
        for (int i = 0; i < diskPaths.size(); i++) {
            String m = prefix + i + "-m";
            String d = prefix + i + "-d";
            dm.create(m, "0 2048 linear " + diskPaths.get(i) + " " + diskOffset);
            dm.create(d, "0 " + dataSectors + " linear " + diskPaths.get(i) + " " + (diskOffset + 2048));
            words.add("/dev/mapper/" + m);
            words.add("/dev/mapper/" + d);
        }
        return diskPaths.size() + " " + String.join(" ", words);
    }

    @Override
    public void close() throws IOException {
        dm.powerOff();
        for (FileDisk d : disks.values()) {
            d.close();
        }
    }
}
