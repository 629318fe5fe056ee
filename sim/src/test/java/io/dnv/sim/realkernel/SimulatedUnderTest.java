package io.dnv.sim.realkernel;

import io.dnv.node.kernel.Kernel;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** The simulated kernel, built afresh (new disks, new fabric) for every case, with its peer on the same fabric. */
final class SimulatedUnderTest implements KernelUnderTest {

    private static final Duration IO_TIMEOUT = Duration.ofSeconds(60);

    private final String address;
    private final List<String> disks;
    private final long diskBytes;
    private final SimulatedUnderTest peer;
    private final Map<String, CompletableFuture<String>> writes = new HashMap<>();
    /** Write #N's bytes in this case; shared with the peer. */
    private final Map<Long, byte[]> made;
    private SimulatedKernel kernel;
    private Path dir;

    /** This kernel at {@code address} and its peer at {@code peerAddress}, on one fabric. */
    SimulatedUnderTest(String address, String peerAddress, List<String> disks, int diskMib) throws IOException {
        this(address, disks, diskMib, new SimulatedUnderTest(peerAddress, disks, diskMib, null));
        reset();
    }

    private SimulatedUnderTest(String address, List<String> disks, int diskMib, SimulatedUnderTest peer) {
        this.address = address;
        this.disks = disks;
        this.diskBytes = (long) diskMib << 20;
        this.peer = peer;
        this.made = peer == null ? new HashMap<>() : peer.made;
    }

    @Override
    public Kernel kernel() {
        return kernel;
    }

    @Override
    public String address() {
        return address;
    }

    @Override
    public KernelUnderTest peer() {
        if (peer == null) {
            throw new IllegalStateException("the peer has no peer of its own");
        }
        return peer;
    }

    @Override
    public void write(String device, long offset, long seed, int length) throws IoFailed {
        byte[] bytes = make(seed, length);
        bounded("write " + device, () -> {
            try (SimulatedKernel.Handle h = kernel.open(device)) {
                h.write(offset, bytes);
            }
            return null;
        });
    }

    @Override
    public String md5(String device, long offset, int length) throws IoFailed {
        return bounded("read " + device, () -> {
            byte[] buf = new byte[length];
            try (SimulatedKernel.Handle h = kernel.open(device)) {
                h.read(offset, buf);
            }
            return Bytes.md5(buf);
        });
    }

    private interface Io<T> {
        T run() throws IOException;
    }

    /**
     * I/O that the simulator holds (a device left suspended) would hang the suite: like the
     * guest's command timeout, it is an error of the test after a minute, not an outcome.
     */
    private static <T> T bounded(String what, Io<T> io) throws IoFailed {
        CompletableFuture<T> done = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try {
                done.complete(io.run());
            } catch (Throwable e) {
                done.completeExceptionally(e);
            }
        }, "differential-io");
        t.setDaemon(true);
        t.start();
        try {
            return done.get(IO_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new IllegalStateException(what + " did not end within " + IO_TIMEOUT.toSeconds() + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(what + " interrupted", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException failure) {
                throw failed(failure);
            }
            throw new IllegalStateException(what + " broke in the simulator", e.getCause());
        }
    }

    /** Write #seed's bytes: pseudo-random from the seed, the same whichever kernel of the pair writes them. */
    private byte[] make(long seed, int length) {
        byte[] b = made.computeIfAbsent(seed, s -> {
            byte[] r = new byte[length];
            new Random(s).nextBytes(r);
            return r;
        });
        if (b.length != length) {
            throw new IllegalStateException("write #" + seed + " was made with another length");
        }
        return b;
    }

    @Override
    public String md5Of(Bytes expected) {
        return Bytes.md5(expected.resolve(seed -> {
            byte[] b = made.get(seed);
            if (b == null) {
                throw new IllegalStateException("write #" + seed + " was never made in this case");
            }
            return b;
        }));
    }

    @Override
    public void startWrite(String tag, String device, long offset, long seed, int length) {
        byte[] bytes = make(seed, length);
        SimulatedKernel.Handle h = kernel.open(device);
        CompletableFuture<String> done = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try (h) {
                h.write(offset, bytes);
                done.complete("ok");
            } catch (IOException e) {
                done.complete("failed " + failed(e).errno);
            } catch (RuntimeException e) {
                done.completeExceptionally(e);
            }
        }, "differential-write-" + tag);
        t.setDaemon(true);
        t.start();
        writes.put(tag, done);
    }

    @Override
    public String awaitWrite(String tag, Duration within) throws InterruptedException {
        try {
            return writes.get(tag).get(within.toNanos(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            return "pending";
        } catch (ExecutionException e) {
            throw new IllegalStateException("write " + tag + " broke in the simulator", e.getCause());
        }
    }

    /** Both kernels go (held writes fail with them) and come back empty on a new fabric. */
    @Override
    public void reset() throws IOException {
        made.clear();
        Fabric fabric = new Fabric();
        peer.boot(fabric);
        boot(fabric);
    }

    /** Both kernels off for good, their disk files deleted. */
    void shutdown() throws IOException {
        peer.halt();
        halt();
    }

    private void halt() throws IOException {
        if (kernel != null) {
            kernel.shutdown();
            deleteDisks();
            kernel = null;
        }
    }

    private void boot(Fabric fabric) throws IOException {
        halt();
        writes.clear();
        dir = Files.createTempDirectory("dnv-differential-");
        kernel = new SimulatedKernel(address, fabric);
        for (int i = 0; i < disks.size(); i++) {
            kernel.addDisk(disks.get(i), dir.resolve("disk" + i), diskBytes);
        }
    }

    private void deleteDisks() throws IOException {
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.delete(f);
            }
        }
        Files.delete(dir);
    }

    /** The simulator fails I/O with Linux's strerror text first; a message without one differs from any Linux answer. */
    private static IoFailed failed(IOException e) {
        String errno = Errnos.of(e.getMessage()).orElse("(no errno: " + e.getMessage() + ")");
        return new IoFailed(errno, e.getMessage());
    }
}
