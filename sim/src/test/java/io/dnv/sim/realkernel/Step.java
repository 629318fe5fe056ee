package io.dnv.sim.realkernel;

import io.dnv.core.kernel.ObservedKernel;
import io.dnv.node.kernel.Kernel;
import io.dnv.node.kernel.KernelException;

import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * One step of a differential case, and what Linux is expected to answer: "ok", "refused ERRNO",
 * a table or status printed back, an md5 of bytes read back, "failed ERRNO" for I/O, or any
 * fact read from the observed kernel. Both kernels must give {@link #expect}; a rule both get
 * wrong fails too.
 *
 * <p>Only the kernel's answers are outcomes. A command that fails for a reason outside the
 * kernel (a broken guest script, a timeout, a lost channel) throws and fails the test as an error.
 */
record Step(String what, Action action, Expect expect) {

    interface Action {
        Outcome run(KernelUnderTest k) throws Exception;
    }

    /** {@code compared} is what must equal the expectation on both kernels; {@code detail} is for people. */
    record Outcome(String compared, String detail) {
        static Outcome of(String s) {
            return new Outcome(s, "");
        }
    }

    /** What Linux answers: {@code value} as compared, {@code shown} as the docs print it. */
    record Expect(String value, String shown) {
        static Expect of(String value) {
            return new Expect(value, value);
        }
    }

    interface KernelCall {
        void run(Kernel k);
    }

    interface TargetCall {
        void run(KernelUnderTest k);
    }

    static Step ok(String what, KernelCall call) {
        return call(what, k -> call.run(k.kernel()), "ok");
    }

    /** A kernel call that needs to know the kernel under test (its own address, its peer). */
    static Step okOn(String what, TargetCall call) {
        return call(what, call, "ok");
    }

    static Step refused(String errno, String what, KernelCall call) {
        return call(what, k -> call.run(k.kernel()), "refused " + errno);
    }

    static Step refusedOn(String errno, String what, TargetCall call) {
        return call(what, call, "refused " + errno);
    }

    private static Step call(String what, TargetCall call, String expected) {
        return new Step(what, k -> {
            try {
                call.run(k);
                return Outcome.of("ok");
            } catch (KernelException e) {
                return new Outcome("refused " + errno(e), e.kernelMessage());
            }
        }, Expect.of(expected));
    }

    /** The errno of a refusal; a failure that names none was not the kernel's answer. */
    private static String errno(KernelException e) {
        String m = e.kernelMessage();
        if (m.startsWith("timed out")) {
            throw new IllegalStateException("not an answer of the kernel: " + e.getMessage(), e);
        }
        return Errnos.of(m).orElseThrow(() -> new IllegalStateException("a failure that names no errno: " + e.getMessage(), e));
    }

    /** `dmsetup table` of a device, devices by name. */
    static Step table(String dm, String expected) {
        return new Step("table of " + dm, k -> {
            ObservedKernel o = k.kernel().observe();
            return Outcome.of(o.dm(dm).map(d -> KernelUnderTest.symbolic(o, d.table())).orElse("<no device " + dm + ">"));
        }, Expect.of(expected));
    }

    /**
     * A look at named dm devices ({@code Kernel.observe(names)}) shows each of them that exists
     * exactly as a whole look does, and no other device.
     */
    static Step namedLook(String... names) {
        List<String> named = List.of(names);
        return new Step("look at " + String.join(", ", named), k -> {
            List<ObservedKernel.Dm> whole = k.kernel().observe().dmDevices().stream().filter(d -> named.contains(d.name()))
                    .sorted(java.util.Comparator.comparing(ObservedKernel.Dm::name)).toList();
            List<ObservedKernel.Dm> looked = k.kernel().observe(named, java.util.Optional.empty()).dmDevices().stream()
                    .sorted(java.util.Comparator.comparing(ObservedKernel.Dm::name)).toList();
            return Outcome.of(whole.equals(looked) ? "as a whole look" : "whole look " + whole + ", named " + looked);
        }, Expect.of("as a whole look"));
    }

    /**
     * A look naming subsystems ({@code Kernel.observe(dmNames, nqns)}) shows each of them that
     * exists exactly as a whole look does, and no other subsystem.
     */
    static Step namedSubsystemLook(String... nqns) {
        List<String> named = List.of(nqns);
        return new Step("look at subsystems " + String.join(", ", named), k -> {
            List<ObservedKernel.Subsystem> whole = k.kernel().observe().subsystems().stream().filter(s -> named.contains(s.nqn()))
                    .sorted(java.util.Comparator.comparing(ObservedKernel.Subsystem::nqn)).toList();
            List<ObservedKernel.Subsystem> looked = k.kernel().observe(List.of(), java.util.Optional.of(named)).subsystems().stream()
                    .sorted(java.util.Comparator.comparing(ObservedKernel.Subsystem::nqn)).toList();
            return Outcome.of(whole.isEmpty() ? "no subsystem named exists" : whole.equals(looked) ? "as a whole look"
                    : "whole look " + whole + ", named " + looked);
        }, Expect.of("as a whole look"));
    }

    /** `dmsetup status` of a device, as {@link Statuses} compares it. */
    static Step status(String dm, String expected) {
        return new Step("status of " + dm, k -> Outcome.of(status(k, dm)), Expect.of(expected));
    }

    /**
     * The status once {@code settled} holds (a resync or hydration running in the background has
     * ended), waiting at most {@code within}; the last status seen if it never does.
     */
    static Step settledStatus(String dm, Predicate<String> settled, Duration within, String expected) {
        return new Step("status of " + dm + " once settled", k -> {
            long deadline = System.nanoTime() + within.toNanos();
            String s = status(k, dm);
            while (!settled.test(s) && System.nanoTime() < deadline) {
                Thread.sleep(100);
                s = status(k, dm);
            }
            return Outcome.of(s);
        }, Expect.of(expected));
    }

    private static String status(KernelUnderTest k, String dm) {
        ObservedKernel o = k.kernel().observe();
        return o.dm(dm).map(d -> Statuses.compared(KernelUnderTest.symbolic(o, d.status()))).orElse("<no device " + dm + ">");
    }

    static Step fact(String what, Object expected, Function<ObservedKernel, Object> read) {
        return new Step(what, k -> Outcome.of(String.valueOf(read.apply(k.kernel().observe()))), Expect.of(String.valueOf(expected)));
    }

    /** Writes {@code length} bytes of pattern {@code seed}; the kernel takes them. */
    static Step write(String device, long offset, int length, long seed) {
        return write(device, offset, length, seed, "ok");
    }

    /** Writes {@code length} bytes of pattern {@code seed}; the kernel fails the write with {@code errno}. */
    static Step writeFails(String errno, String device, long offset, int length, long seed) {
        return write(device, offset, length, seed, "failed " + errno);
    }

    private static Step write(String device, long offset, int length, long seed, String expected) {
        return new Step("write #" + seed + ", " + Bytes.size(length) + " at " + Bytes.size(offset) + " of " + device, k -> {
            try {
                k.write(path(k, device), offset, seed, length);
                return Outcome.of("ok");
            } catch (NoDevice e) {
                return Outcome.of(e.getMessage());
            } catch (KernelUnderTest.IoFailed e) {
                return new Outcome("failed " + e.errno, e.getMessage());
            }
        }, Expect.of(expected));
    }

    /** Reads [offset, offset + length) of a device: the bytes {@code expected} describes, as this kernel made them. */
    static Step md5(String device, long offset, int length, Bytes expected) {
        if (expected.length() != length) {
            throw new IllegalArgumentException(expected.shown() + " is " + expected.length() + " bytes, not " + length);
        }
        return new Step("read " + Bytes.size(length) + " at " + Bytes.size(offset) + " of " + device, k -> {
            try {
                String got = k.md5(path(k, device), offset, length);
                return got.equals(k.md5Of(expected)) ? Outcome.of(expected.shown()) : Outcome.of("other bytes (md5 " + got + ")");
            } catch (NoDevice e) {
                return Outcome.of(e.getMessage());
            } catch (KernelUnderTest.IoFailed e) {
                return new Outcome("failed " + e.errno, e.getMessage());
            }
        }, Expect.of(expected.shown()));
    }

    /** Starts writing pattern {@code seed} in the background: the write may be held (a suspended device). */
    static Step startWrite(String tag, String device, long offset, int length, long seed) {
        return new Step("start write " + tag + " (#" + seed + ", " + Bytes.size(length) + " at " + Bytes.size(offset) + " of " + device + ")",
                k -> {
                    try {
                        k.startWrite(tag, path(k, device), offset, seed, length);
                        return Outcome.of("started");
                    } catch (NoDevice e) {
                        return Outcome.of(e.getMessage());
                    }
                }, Expect.of("started"));
    }

    /** How the write started under {@code tag} ended: "ok", "failed ERRNO", or "pending" after {@code within}. */
    static Step awaitWrite(String tag, Duration within, String expected) {
        return new Step("write " + tag + " within " + within.toSeconds() + " s", k -> Outcome.of(k.awaitWrite(tag, within)),
                Expect.of(expected));
    }

    /** Time for something asynchronous in both kernels (a background write reaching its device). */
    static Step pause(Duration d) {
        return new Step("pause " + d.toMillis() + " ms", k -> {
            Thread.sleep(d.toMillis());
            return Outcome.of("paused");
        }, Expect.of("paused"));
    }

    /** The same step on the kernel's peer (another machine on the network). */
    static Step onPeer(Step s) {
        return new Step("peer: " + s.what, k -> s.action.run(k.peer()), s.expect);
    }

    /** "uuid:&lt;uuid&gt;" is an imported namespace's head, found (waiting up to 5 s for the scan) by its UUID. */
    static String namespace(UUID uuid) {
        return "uuid:" + uuid;
    }

    /** A namespace head that never appeared: an outcome (the kernels disagree on the namespace), not an error. */
    private static final class NoDevice extends Exception {
        NoDevice(String message) {
            super(message);
        }
    }

    private static String path(KernelUnderTest k, String device) throws InterruptedException, NoDevice {
        if (!device.startsWith("uuid:")) {
            return device;
        }
        UUID uuid = UUID.fromString(device.substring("uuid:".length()));
        for (int i = 0; i < 50; i++) {
            String p = k.kernel().observeHost().blockDevices().stream().filter(b -> b.uuid().filter(uuid::equals).isPresent())
                    .map(ObservedKernel.BlockDevice::path).findFirst().orElse(null);
            if (p != null) {
                return p;
            }
            Thread.sleep(100);
        }
        throw new NoDevice("no namespace head " + uuid);
    }
}
