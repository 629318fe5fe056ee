package io.dnv.node.agent;

import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.node.kernel.Kernel;
import io.dnv.node.kernel.KernelException;
import io.dnv.core.kernel.ObservedKernel;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Passes every call to a kernel and counts the ones that change it; can refuse the next host
 * entry as a kernel does when another agent on it created the same entry first; can make
 * zeroing cost the time a disk takes, cut off as a command's timeout cuts it off on Linux, and
 * counts the bytes zeroed.
 */
final class CountingKernel implements Kernel {

    /** A zeroing is passed on in slices this large, so a cut-off one has zeroed what it reached. */
    private static final long ZERO_SLICE = 16L << 20;

    /** One zeroOut call as asked for. */
    record ZeroCall(String device, long offsetBytes, long lengthBytes) {}

    private final Kernel kernel;
    private final AtomicInteger mutations = new AtomicInteger();
    private final AtomicBoolean holdHostLook = new AtomicBoolean();
    private volatile CountDownLatch hostLookHeld = new CountDownLatch(0);
    private volatile CountDownLatch hostLookRelease = new CountDownLatch(0);
    private volatile boolean refuseNextHostCreate;
    /** 0: as fast as the kernel below. */
    private volatile long zeroBytesPerSecond;
    private volatile Duration commandTimeout = Duration.ofDays(1);
    private final AtomicLong zeroedBytes = new AtomicLong();
    /** Operations ("dm create", "dm load", "dm suspend", "dm resume", "dm message", "revalidate") to refuse once, each for an object whose name contains the key. */
    private final List<String[]> refuseOnce = new CopyOnWriteArrayList<>();
    private final List<ZeroCall> zeroCalls = new CopyOnWriteArrayList<>();
    private volatile Consumer<String> beforeRemove = name -> { };
    /** Every dm call that changes a device, as "operation name", in order. */
    private final List<String> dmChanges = new CopyOnWriteArrayList<>();

    CountingKernel(Kernel kernel) {
        this.kernel = kernel;
    }

    @Override
    public java.util.Optional<String> dmStatus(String name) {
        return kernel.dmStatus(name);
    }

    void refuseNextHostCreate() {
        refuseNextHostCreate = true;
    }

    int mutations() {
        return mutations.get();
    }

    /**
     * From now on zeroing costs a disk's time, at this many bytes per second, and a call that
     * takes longer than {@code timeout} ends there with what it zeroed so far, refused as
     * LinuxKernel refuses a command that timed out.
     */
    void zeroAt(long bytesPerSecond, Duration timeout) {
        zeroBytesPerSecond = bytesPerSecond;
        commandTimeout = timeout;
    }

    /** Bytes zeroed so far, counted as each slice lands. */
    long zeroedBytes() {
        return zeroedBytes.get();
    }

    /** Every zeroOut call so far, in order. */
    List<ZeroCall> zeroCalls() {
        return List.copyOf(zeroCalls);
    }

    /** Runs before every dm remove is passed on, with the device's name. */
    void beforeRemove(Consumer<String> check) {
        beforeRemove = check;
    }

    private void count() {
        mutations.incrementAndGet();
    }

    private void countDm(String operation, String name) {
        count();
        dmChanges.add(operation + " " + name);
    }

    /** The dm calls that changed device {@code name} (load, suspend, resume, remove, message), in order. */
    List<String> dmChangesOf(String name) {
        return dmChanges.stream().filter(c -> c.endsWith(" " + name)).toList();
    }

    /**
     * The next {@code operation} on an object whose name contains {@code objectKey} is refused,
     * as a kernel refuses it (EIO), after the kernel below did nothing: a failure injected into
     * one step of a pass.
     */
    void refuseOnce(String operation, String objectKey) {
        refuseOnce.add(new String[]{operation, objectKey});
    }

    /** Injected refusals not met yet. */
    int refusalsLeft() {
        return refuseOnce.size();
    }

    private void refuseIfAsked(String operation, String object) {
        for (String[] r : refuseOnce) {
            if (r[0].equals(operation) && object.contains(r[1]) && refuseOnce.remove(r)) {
                throw new KernelException(object, operation, "Input/output error (injected)");
            }
        }
    }

    @Override
    public ObservedKernel observe() {
        return kernel.observe();
    }

    @Override
    public ObservedKernel observe(java.util.Collection<String> dmNames, java.util.Optional<java.util.Collection<String>> subsystemNqns) {
        return kernel.observe(dmNames, subsystemNqns);
    }

    /** The next look at the host side waits, before it reads, until {@link #releaseHostLook}; {@link #hostLookHeld} tells when it does. */
    void holdNextHostLook() {
        hostLookHeld = new CountDownLatch(1);
        hostLookRelease = new CountDownLatch(1);
        holdHostLook.set(true);
    }

    boolean hostLookHeld(Duration within) throws InterruptedException {
        return hostLookHeld.await(within.toMillis(), TimeUnit.MILLISECONDS);
    }

    void releaseHostLook() {
        hostLookRelease.countDown();
    }

    @Override
    public HostSide observeHost() {
        if (holdHostLook.compareAndSet(true, false)) {
            hostLookHeld.countDown();
            try {
                hostLookRelease.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        return kernel.observeHost();
    }

    @Override
    public java.util.List<ObservedKernel.Controller> observeControllers(java.util.Collection<String> names) {
        return kernel.observeControllers(names);
    }

    @Override
    public Set<String> capabilities() {
        return kernel.capabilities();
    }

    @Override
    public void dmCreate(String name, String table) {
        countDm("create", name);
        refuseIfAsked("dm create", name);
        kernel.dmCreate(name, table);
    }

    @Override
    public void dmLoad(String name, String table) {
        countDm("load", name);
        refuseIfAsked("dm load", name);
        kernel.dmLoad(name, table);
    }

    @Override
    public void dmSuspend(String name) {
        countDm("suspend", name);
        refuseIfAsked("dm suspend", name);
        kernel.dmSuspend(name);
    }

    @Override
    public void dmResume(String name) {
        countDm("resume", name);
        refuseIfAsked("dm resume", name);
        kernel.dmResume(name);
    }

    @Override
    public void dmRemove(String name) {
        countDm("remove", name);
        beforeRemove.accept(name);
        kernel.dmRemove(name);
    }

    @Override
    public String dmMessage(String name, long sector, String message) {
        countDm("message", name);
        refuseIfAsked("dm message", name + " " + message);
        return kernel.dmMessage(name, sector, message);
    }

    @Override
    public void zeroOut(String devicePath, long offsetBytes, long lengthBytes) {
        count();
        zeroCalls.add(new ZeroCall(devicePath, offsetBytes, lengthBytes));
        long rate = zeroBytesPerSecond;
        long deadline = System.nanoTime() + commandTimeout.toNanos();
        long done = 0;
        try {
            while (done < lengthBytes) {
                if (System.nanoTime() > deadline) {
                    throw new KernelException(devicePath, "zero " + offsetBytes + "+" + lengthBytes, "timed out (it may still complete)");
                }
                long slice = Math.min(ZERO_SLICE, lengthBytes - done);
                Thread.sleep(rate == 0 ? 0 : slice * 1000 / rate);
                kernel.zeroOut(devicePath, offsetBytes + done, slice);
                done += slice;
                zeroedBytes.addAndGet(slice);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KernelException(devicePath, "zero " + offsetBytes + "+" + lengthBytes, "interrupted");
        }
    }

    @Override
    public void nvmetPortCreate(NvmetPort port) {
        count();
        kernel.nvmetPortCreate(port);
    }

    @Override
    public void nvmetPortRemove(int portId) {
        count();
        kernel.nvmetPortRemove(portId);
    }

    @Override
    public void nvmetAnaGroupCreate(int portId, int group) {
        count();
        kernel.nvmetAnaGroupCreate(portId, group);
    }

    @Override
    public void nvmetAnaGroupRemove(int portId, int group) {
        count();
        kernel.nvmetAnaGroupRemove(portId, group);
    }

    @Override
    public void nvmetAnaState(int portId, int group, AnaState state) {
        count();
        kernel.nvmetAnaState(portId, group, state);
    }

    @Override
    public void nvmetHostCreate(String hostNqn) {
        count();
        if (refuseNextHostCreate) {
            refuseNextHostCreate = false;
            throw new KernelException(hostNqn, "nvmet host create",
                    "mkdir: can't create directory '/sys/kernel/config/nvmet/hosts/" + hostNqn + "': File exists");
        }
        kernel.nvmetHostCreate(hostNqn);
    }

    @Override
    public void nvmetHostRemove(String hostNqn) {
        count();
        kernel.nvmetHostRemove(hostNqn);
    }

    @Override
    public void nvmetSubsystemCreate(String nqn, int cntlidMin, int cntlidMax, String serial) {
        count();
        kernel.nvmetSubsystemCreate(nqn, cntlidMin, cntlidMax, serial);
    }

    @Override
    public void nvmetSubsystemRemove(String nqn) {
        count();
        kernel.nvmetSubsystemRemove(nqn);
    }

    @Override
    public void nvmetAllowAnyHost(String nqn, boolean allow) {
        count();
        kernel.nvmetAllowAnyHost(nqn, allow);
    }

    @Override
    public void nvmetAllowHost(String nqn, String hostNqn) {
        count();
        kernel.nvmetAllowHost(nqn, hostNqn);
    }

    @Override
    public void nvmetDisallowHost(String nqn, String hostNqn) {
        count();
        kernel.nvmetDisallowHost(nqn, hostNqn);
    }

    @Override
    public void nvmetNamespaceCreate(String nqn, int nsid, String devicePath, UUID uuid, String nguid, int anaGroup) {
        count();
        kernel.nvmetNamespaceCreate(nqn, nsid, devicePath, uuid, nguid, anaGroup);
    }

    @Override
    public void nvmetNamespaceAnaGroup(String nqn, int nsid, int group) {
        count();
        kernel.nvmetNamespaceAnaGroup(nqn, nsid, group);
    }

    @Override
    public void nvmetNamespaceRevalidate(String nqn, int nsid) {
        count();
        refuseIfAsked("revalidate", nqn);
        kernel.nvmetNamespaceRevalidate(nqn, nsid);
    }

    @Override
    public void nvmetNamespaceEnable(String nqn, int nsid, boolean enable) {
        count();
        kernel.nvmetNamespaceEnable(nqn, nsid, enable);
    }

    @Override
    public void nvmetNamespaceRemove(String nqn, int nsid) {
        count();
        kernel.nvmetNamespaceRemove(nqn, nsid);
    }

    @Override
    public void nvmetLink(int portId, String nqn) {
        count();
        kernel.nvmetLink(portId, nqn);
    }

    @Override
    public void nvmetUnlink(int portId, String nqn) {
        count();
        kernel.nvmetUnlink(portId, nqn);
    }

    @Override
    public boolean answers(NvmeConnection connection, java.time.Duration timeout) {
        return kernel.answers(connection, timeout);
    }

    @Override
    public String nvmeConnect(NvmeConnection connection) {
        count();
        return kernel.nvmeConnect(connection);
    }

    @Override
    public void nvmeDisconnect(String controller) {
        count();
        kernel.nvmeDisconnect(controller);
    }
}
