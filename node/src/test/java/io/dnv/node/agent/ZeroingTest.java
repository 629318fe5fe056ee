package io.dnv.node.agent;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.DeviceRef;
import io.dnv.core.kernel.DmDevice;
import io.dnv.core.kernel.DmTable;
import io.dnv.core.kernel.DmTarget;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.node.ZeroingProgress;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Zeroing a released LD takes as long as the disk needs, far longer than a pass may: it runs
 * apart from the passes, goes on where it stopped after the agent restarts, and the LD's device
 * goes only once every byte of its extent is zero; if a power cycle takes the device first, the
 * rest of the extent is zeroed on the disk itself.
 */
class ZeroingTest {

    private static final String DISK = "/dev/ram0";
    private static final long MIB = 1L << 20;
    private static final List<NvmetPort> PORTS = List.of(NvmetPort.tcp(1, "127.0.7.1", 4420));
    private static final NodeAgent.Settings QUICK = new NodeAgent.Settings(Duration.ofSeconds(30), Duration.ofMillis(20),
            Duration.ofMillis(200));

    @TempDir
    Path dir;

    private final ActorTestKit testKit = ActorTestKit.create("ZeroingTest");
    private final List<ActorRef<NodeAgent.Command>> agents = new ArrayList<>();
    private SimulatedKernel simulated;
    private CountingKernel kernel;

    @AfterEach
    void shutdown() {
        testKit.shutdownTestKit();
        if (simulated != null) {
            simulated.shutdown();
        }
    }

    /**
     * While a 2 GiB LD is zeroed (2 s at 1 GiB/s) the agent answers at once, and a new
     * generation's pass creates its device while the old LD is still there being zeroed.
     */
    @Test
    void passesGoOnWhileALargeLdIsZeroed() {
        start(4096 * MIB);
        kernel.zeroAt(1024 * MIB, Duration.ofSeconds(60));
        DmDevice big = ld("a", 0, 2048 * MIB);
        ActorRef<NodeAgent.Command> agent = startAgent();
        apply(agent, 1, big);
        awaitStatus(agent, s -> s.reachedGeneration() == 1);

        apply(agent, 2);
        awaitTrue(() -> kernel.zeroedBytes() > 0, "zeroing started");
        DmDevice small = ld("b", 3072 * MIB, MIB);
        apply(agent, 3, small);
        long asked = System.nanoTime();
        awaitStatus(agent, s -> simulated.observe().dm(small.name()).isPresent());
        assertTrue(System.nanoTime() - asked < Duration.ofMillis(1500).toNanos(), "the new device waited for the zeroing");
        assertTrue(simulated.observe().dm(big.name()).isPresent(), "the LD went before its zeroing could have finished");
        assertTrue(kernel.zeroedBytes() < big.table().sizeSectors() * 512, "the zeroing was over already");

        TestProbe<NodeAgent.Status> probe = testKit.createTestProbe();
        long sent = System.nanoTime();
        agent.tell(new NodeAgent.GetStatus(probe.ref()));
        probe.receiveMessage(Duration.ofSeconds(10));
        assertTrue(System.nanoTime() - sent < Duration.ofMillis(500).toNanos(), "the agent answered only after the zeroing");

        // The passes meanwhile report how far the zeroing got.
        awaitStatus(agent, s -> s.lastPass().orElseThrow().zeroing().stream()
                .anyMatch(z -> z.device().equals(big.name()) && z.doneBytes() > 0 && !z.done()));
        awaitStatus(agent, s -> s.reachedGeneration() == 3);
        assertEquals(List.of(), awaitStatus(agent, s -> true).lastPass().orElseThrow().zeroing());
        assertTrue(simulated.observe().dm(big.name()).isEmpty());
        assertEquals(big.table().sizeSectors() * 512, kernel.zeroedBytes(), "every byte zeroed once");
    }

    /**
     * An agent stopped in the middle of zeroing a 1 GiB LD: the next one goes on where the first
     * stopped, so every byte is zeroed once across both.
     */
    @Test
    void aRestartedAgentGoesOnWhereTheZeroingStopped() {
        start(2048 * MIB);
        kernel.zeroAt(512 * MIB, Duration.ofSeconds(60));
        DmDevice ld = ld("a", 0, 1024 * MIB);
        long ldBytes = ld.table().sizeSectors() * 512;
        ActorRef<NodeAgent.Command> first = startAgent();
        apply(first, 1, ld);
        awaitStatus(first, s -> s.reachedGeneration() == 1);
        apply(first, 2);
        awaitTrue(() -> kernel.zeroedBytes() >= 300 * MIB, "a third of the LD zeroed");
        stop(first);
        long byFirst = kernel.zeroedBytes();
        assertTrue(simulated.observe().dm(ld.name()).isPresent(), "the first agent did not stop until it had zeroed all "
                + byFirst / MIB + " MiB and removed the LD: nothing left to go on with");
        int firstCalls = kernel.zeroCalls().size();

        ActorRef<NodeAgent.Command> second = startAgent();
        apply(second, 2);
        awaitStatus(second, s -> s.reachedGeneration() == 2);
        assertTrue(simulated.observe().dm(ld.name()).isEmpty());
        CountingKernel.ZeroCall resumed = kernel.zeroCalls().get(firstCalls);
        assertEquals(byFirst, resumed.offsetBytes(), "the second agent started where the first had got to");
        assertEquals(ldBytes, kernel.zeroedBytes(), "every byte zeroed once across the restart");
    }

    /**
     * The LD's device is removed only once its extent holds zeroes alone, checked on the disk at
     * the remove; the zeroing of 1 GiB takes 2 s, twice a command's timeout (1 s here).
     */
    @Test
    void theLdGoesOnlyOnceEveryByteOfItsExtentIsZero() throws Exception {
        start(2048 * MIB);
        long extentStart = 512 * MIB;
        DmDevice ld = ld("a", extentStart, 1024 * MIB);
        ActorRef<NodeAgent.Command> agent = startAgent();
        apply(agent, 1, ld);
        awaitStatus(agent, s -> s.reachedGeneration() == 1);
        long[] written = {0, 300 * MIB, 700 * MIB, 1023 * MIB};
        byte[] tenant = new byte[(int) MIB];
        Arrays.fill(tenant, (byte) 0x3c);
        try (SimulatedKernel.Handle h = simulated.open("/dev/mapper/" + ld.name())) {
            for (long at : written) {
                h.write(at, tenant);
            }
        }
        List<String> oldBytesAtRemove = new ArrayList<>();
        kernel.beforeRemove(name -> {
            if (name.equals(ld.name())) {
                oldBytesAtRemove.addAll(oldBytes(extentStart, written));
            }
        });
        kernel.zeroAt(512 * MIB, Duration.ofSeconds(1));

        apply(agent, 2);
        awaitStatus(agent, s -> s.reachedGeneration() == 2);
        assertTrue(simulated.observe().dm(ld.name()).isEmpty());
        assertEquals(List.of(), oldBytesAtRemove, "the LD was removed while its extent still held the old tenant's bytes");
        assertEquals(List.of(), oldBytes(extentStart, written));
    }

    /**
     * A node power-cycled (its agent stops, its kernel starts empty over the same disk) in the
     * middle of zeroing a 1 GiB LD: the LD's device is gone, and the next agent zeroes the rest of
     * the extent on the disk itself, from where the first had got to. Until every byte is zero
     * each pass still reports the LD (so its volume stays a leftover and its extent reserved), and
     * nothing outside the extent is touched.
     */
    @Test
    void aPowerCycleInTheMiddleOfZeroingLeavesTheRestToBeZeroedOnTheDisk() throws Exception {
        start(2048 * MIB);
        long extentStart = 512 * MIB;
        DmDevice ld = ld("a", extentStart, 1024 * MIB);
        long ldBytes = ld.table().sizeSectors() * 512;
        ActorRef<NodeAgent.Command> first = startAgent();
        apply(first, 1, ld);
        awaitStatus(first, s -> s.reachedGeneration() == 1);
        long[] written = {0, 300 * MIB, 700 * MIB, 1023 * MIB};
        byte[] tenant = filled((byte) 0x3c);
        try (SimulatedKernel.Handle h = simulated.open("/dev/mapper/" + ld.name())) {
            for (long at : written) {
                h.write(at, tenant);
            }
        }
        byte[] neighbour = filled((byte) 0x5a);
        long[] around = {extentStart - MIB, extentStart + ldBytes};
        try (SimulatedKernel.Handle disk = simulated.open(DISK)) {
            for (long at : around) {
                disk.write(at, neighbour);
            }
        }
        kernel.zeroAt(512 * MIB, Duration.ofSeconds(60));
        apply(first, 2);
        awaitTrue(() -> kernel.zeroedBytes() >= 300 * MIB, "a third of the LD zeroed");
        stop(first);
        long byFirst = kernel.zeroedBytes();
        assertTrue(byFirst < ldBytes, "the first agent zeroed all of the LD before it stopped");
        simulated.powerCycle();
        int firstCalls = kernel.zeroCalls().size();

        ActorRef<NodeAgent.Command> second = startAgent();
        apply(second, 2);
        awaitStatus(second, s -> {
            if (s.lastPass().isEmpty() || reports(s.lastPass().get(), ld.name())) {
                return false;
            }
            assertEquals(List.of(), oldBytes(extentStart, written), "the LD was no longer reported while its extent held old bytes");
            return true;
        });
        assertEquals(new CountingKernel.ZeroCall(DISK, extentStart + byFirst, Zeroing.CHUNK_BYTES), kernel.zeroCalls().get(firstCalls),
                "the rest was zeroed on the disk, from where the first agent had got to");
        assertEquals(ldBytes, kernel.zeroedBytes(), "every byte zeroed once across the power cycle");
        try (SimulatedKernel.Handle disk = simulated.open(DISK)) {
            for (long at : around) {
                byte[] buf = new byte[(int) MIB];
                disk.read(at, buf);
                assertTrue(Arrays.equals(neighbour, buf), "the disk's bytes at " + at / MIB + " MiB, outside the extent, changed");
            }
        }
    }

    /** Whether a pass still shows the LD: its device in the kernel, or how far its zeroing got. */
    private static boolean reports(PassResult pass, String device) {
        return pass.observed().dm(device).isPresent() || pass.zeroing().stream().anyMatch(z -> z.device().equals(device));
    }

    private static byte[] filled(byte b) {
        byte[] bytes = new byte[(int) MIB];
        Arrays.fill(bytes, b);
        return bytes;
    }

    /** Nothing in the kernel changes when a zeroing ends: the agent is told, and removes the LD before its next retry is due. */
    @Test
    void theLdGoesAsSoonAsItsZeroingEnds() {
        start(1024 * MIB);
        kernel.zeroAt(512 * MIB, Duration.ofSeconds(60));
        DmDevice ld = ld("a", 0, 256 * MIB);
        NodeAgent.Settings slowRetries = new NodeAgent.Settings(Duration.ofSeconds(60), Duration.ofSeconds(20), Duration.ofSeconds(20));
        ActorRef<NodeAgent.Command> agent = testKit.spawn(NodeAgent.create("n1", Optional.of(DISK), kernel, slowRetries), "agent",
                DispatcherSelector.blocking());
        apply(agent, 1, ld);
        awaitStatus(agent, s -> s.reachedGeneration() == 1);

        long released = System.nanoTime();
        apply(agent, 2);
        awaitStatus(agent, s -> s.reachedGeneration() == 2);
        assertTrue(System.nanoTime() - released < Duration.ofSeconds(5).toNanos(), "the LD went at the retry 20 s later");
    }

    /**
     * What an agent recorded is for the device it zeroed: another device under the same name,
     * over another extent, starts at 0, and the rest of the extent the old device mapped is zeroed
     * on the disk (here with no actors: one pass, one chunk, another pass).
     */
    @Test
    void anotherDeviceUnderTheSameNameStartsAtZero() {
        start(1024 * MIB);
        Path state = dir.resolve("agent");
        Zeroing before = new Zeroing(Optional.of(new ZeroingFile(state)), Optional.of(DISK));
        Reconciler first = new Reconciler(kernel, Optional.of(DISK), before);
        DmDevice ld = ld("a", 0, 512 * MIB);
        first.reconcile(desired(1, ld));
        first.reconcile(desired(2));
        assertTrue(before.zeroNext(kernel));
        assertEquals(List.of(new ZeroingProgress(ld.name(), Zeroing.CHUNK_BYTES, 512 * MIB)), before.progress());

        // While no agent runs, the device goes and another of its name maps the next extent.
        simulated.dmRemove(ld.name());
        simulated.dmCreate(ld.name(), "0 " + 512 * MIB / 512 + " linear " + DISK + " " + 512 * MIB / 512);
        Zeroing after = new Zeroing(Optional.of(new ZeroingFile(state)), Optional.of(DISK));
        Reconciler second = new Reconciler(kernel, Optional.of(DISK), after);
        assertEquals(List.of(new ZeroingProgress(ld.name(), 0, 512 * MIB),
                new ZeroingProgress(ld.name(), Zeroing.CHUNK_BYTES, 512 * MIB)), second.reconcile(desired(2)).zeroing());
        while (after.zeroNext(kernel)) {
            // the new device, then the rest of the old extent
        }
        assertEquals(List.of(new CountingKernel.ZeroCall("/dev/mapper/" + ld.name(), 0, Zeroing.CHUNK_BYTES),
                new CountingKernel.ZeroCall("/dev/mapper/" + ld.name(), Zeroing.CHUNK_BYTES, Zeroing.CHUNK_BYTES),
                new CountingKernel.ZeroCall(DISK, Zeroing.CHUNK_BYTES, Zeroing.CHUNK_BYTES)), kernel.zeroCalls().subList(1, 4));
    }

    /**
     * A record whose device went and that does not say on which disk its range lies (written
     * before records named the disk, or the node's configuration names another disk now) is not
     * zeroed on a guess: it stays in the file and in every pass's report (so its volume stays a
     * leftover), named among the waits.
     */
    @Test
    void aRecordThatDoesNotNameTheConfiguredDiskIsKeptAndReportedButNotZeroed() throws IOException {
        start(1024 * MIB);
        Path state = dir.resolve("agent");
        String table = "0 " + 512 * MIB / 512 + " linear 1:0 0";
        Files.createDirectories(state);
        Files.writeString(state.resolve("zeroing.json"), "[{\"device\":\"dnv-n1-ld-a-0-0-0\",\"table\":\"" + table
                + "\",\"totalBytes\":" + 512 * MIB + ",\"doneBytes\":" + Zeroing.CHUNK_BYTES + "},"
                + "{\"device\":\"dnv-n1-ld-b-0-0-0\",\"table\":\"" + table + "\",\"disk\":\"/dev/nvme9n1\",\"totalBytes\":"
                + 512 * MIB + ",\"doneBytes\":0}]");
        Zeroing zeroing = new Zeroing(Optional.of(new ZeroingFile(state)), Optional.of(DISK));

        PassResult pass = new Reconciler(kernel, Optional.of(DISK), zeroing).reconcile(desired(1));
        List<ZeroingProgress> kept = List.of(new ZeroingProgress("dnv-n1-ld-a-0-0-0", Zeroing.CHUNK_BYTES, 512 * MIB),
                new ZeroingProgress("dnv-n1-ld-b-0-0-0", 0, 512 * MIB));
        assertEquals(kept, pass.zeroing());
        assertEquals(2, pass.waiting().stream().filter(w -> w.contains("does not name the disk")).count(), pass.waiting().toString());
        assertFalse(zeroing.zeroNext(kernel));
        assertEquals(List.of(), kernel.zeroCalls());
        assertEquals(kept, new Zeroing(Optional.of(new ZeroingFile(state)), Optional.of(DISK)).progress(), "the file lost them");
    }

    /**
     * A record is forgotten only once the file no longer holds it: while the file cannot be
     * replaced, a record all zero is still reported (its volume a leftover), since a restarted
     * agent would find it there and zero its range on the disk, by then maybe another volume's.
     */
    @Test
    void aRecordAllZeroIsReportedUntilTheFileNoLongerHoldsIt() throws IOException {
        start(1024 * MIB);
        Path state = dir.resolve("agent");
        Zeroing zeroing = new Zeroing(Optional.of(new ZeroingFile(state)), Optional.of(DISK));
        Reconciler reconciler = new Reconciler(kernel, Optional.of(DISK), zeroing);
        DmDevice ld = ld("a", 0, Zeroing.CHUNK_BYTES);
        reconciler.reconcile(desired(1, ld));
        reconciler.reconcile(desired(2));
        simulated.powerCycle();
        Path cannotReplace = Files.createDirectories(state.resolve("zeroing.json.new"));

        reconciler.reconcile(desired(2));
        assertTrue(zeroing.zeroNext(kernel));
        List<ZeroingProgress> allZero = List.of(new ZeroingProgress(ld.name(), Zeroing.CHUNK_BYTES, Zeroing.CHUNK_BYTES));
        assertEquals(allZero, reconciler.reconcile(desired(2)).zeroing());

        Files.delete(cannotReplace);
        assertEquals(List.of(), reconciler.reconcile(desired(2)).zeroing());
        assertEquals(List.of(), new Zeroing(Optional.of(new ZeroingFile(state)), Optional.of(DISK)).progress());
    }

    /** The MiB at each offset of the extent that still holds something other than zeroes, as "at N MiB". */
    private List<String> oldBytes(long extentStart, long[] offsets) {
        List<String> old = new ArrayList<>();
        byte[] buf = new byte[(int) MIB];
        try (SimulatedKernel.Handle disk = simulated.open(DISK)) {
            for (long at : offsets) {
                disk.read(extentStart + at, buf);
                if (!Arrays.equals(new byte[(int) MIB], buf)) {
                    old.add("at " + at / MIB + " MiB");
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return old;
    }

    private void start(long diskBytes) {
        simulated = new SimulatedKernel("127.0.7.1", new Fabric()).addDisk(DISK, dir.resolve("disk"), diskBytes);
        kernel = new CountingKernel(simulated);
    }

    /** An agent of node n1 that keeps its state where the one before it did. */
    private ActorRef<NodeAgent.Command> startAgent() {
        NodeAgent.Settings settings = QUICK.withStateDirectory(dir.resolve("agent"));
        ActorRef<NodeAgent.Command> agent = testKit.spawn(NodeAgent.create("n1", Optional.of(DISK), kernel, settings),
                "agent-" + agents.size(), DispatcherSelector.blocking());
        agents.add(agent);
        return agent;
    }

    /** Stops an agent and waits until it and what it spawned have stopped. */
    private void stop(ActorRef<NodeAgent.Command> agent) {
        testKit.stop(agent, Duration.ofSeconds(30));
    }

    private static void apply(ActorRef<NodeAgent.Command> agent, long generation, DmDevice... devices) {
        agent.tell(new NodeAgent.Apply(desired(generation, devices)));
    }

    private static DesiredNode desired(long generation, DmDevice... devices) {
        return new DesiredNode("n1", generation, PORTS, List.of(devices), List.of(), List.of());
    }

    private static DmDevice ld(String volume, long offsetBytes, long bytes) {
        return new DmDevice("dnv-n1-ld-" + volume + "-0-0-0",
                DmTable.of(bytes / 512, new DmTarget.Linear(new DeviceRef.Disk(DISK), offsetBytes / 512)));
    }

    private NodeAgent.Status awaitStatus(ActorRef<NodeAgent.Command> agent, java.util.function.Predicate<NodeAgent.Status> done) {
        TestProbe<NodeAgent.Status> probe = testKit.createTestProbe();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            agent.tell(new NodeAgent.GetStatus(probe.ref()));
            NodeAgent.Status s = probe.receiveMessage(Duration.ofSeconds(30));
            if (done.test(s)) {
                return s;
            }
            if (System.nanoTime() > deadline) {
                fail("the agent never reached the expected status: " + s.lastPass().map(p -> p.failures() + " " + p.waiting()));
            }
            sleep(20);
        }
    }

    private static void awaitTrue(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("never: " + what);
            }
            sleep(10);
        }
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
