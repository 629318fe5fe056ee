package io.dnv.sim.realkernel;

import io.dnv.node.kernel.Kernel;
import io.dnv.node.kernel.KernelException;
import io.dnv.core.kernel.ObservedKernel;

import java.util.Random;
import java.util.function.Function;

/**
 * One step of a differential case and what it observed: "ok", "refused" (with the kernel's
 * words, shown but not compared: the simulator speaks Linux's errno, not its log), a table,
 * an md5 of bytes, or any fact read from the observed kernel.
 */
record Step(String what, Action action) {

    interface Action {
        Outcome run(KernelUnderTest k) throws Exception;
    }

    /** {@code compared} is what must be equal on both kernels; {@code detail} is for people. */
    record Outcome(String compared, String detail) {
        static Outcome of(String s) {
            return new Outcome(s, "");
        }
    }

    interface KernelCall {
        void run(Kernel k);
    }

    static Step op(String what, KernelCall call) {
        return new Step(what, k -> {
            try {
                call.run(k.kernel());
                return Outcome.of("ok");
            } catch (KernelException e) {
                return new Outcome("refused", e.kernelMessage());
            }
        });
    }

    interface TargetCall {
        void run(KernelUnderTest k);
    }

    /** A kernel call that needs to know the kernel under test (its own address, say). */
    static Step opOn(String what, TargetCall call) {
        return new Step(what, k -> {
            try {
                call.run(k);
                return Outcome.of("ok");
            } catch (KernelException e) {
                return new Outcome("refused", e.kernelMessage());
            }
        });
    }

    static Step table(String dm) {
        return new Step("table of " + dm, k -> Outcome.of(KernelUnderTest.symbolicTable(k.kernel().observe(), dm)));
    }

    static Step fact(String what, Function<ObservedKernel, Object> read) {
        return new Step(what, k -> Outcome.of(String.valueOf(read.apply(k.kernel().observe()))));
    }

    /** Writes {@code length} bytes derived from {@code seed}: the same bytes on both kernels. */
    static Step write(String device, long offset, int length, long seed) {
        return new Step("write " + length + " bytes at " + offset + " of " + device, k -> {
            try {
                k.write(device, offset, pattern(length, seed));
                return Outcome.of("ok");
            } catch (Exception e) {
                return new Outcome("failed", String.valueOf(e.getMessage()));
            }
        });
    }

    static Step md5(String device, long offset, int length) {
        return new Step("md5 of " + length + " bytes at " + offset + " of " + device, k -> {
            try {
                return Outcome.of(k.md5(device, offset, length));
            } catch (Exception e) {
                return new Outcome("failed", String.valueOf(e.getMessage()));
            }
        });
    }

    static byte[] pattern(int length, long seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }
}
