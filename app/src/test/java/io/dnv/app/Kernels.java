package io.dnv.app;

import io.dnv.node.sim.SimulatedKernel;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** What tests ask of the simulated kernels of a dev system. */
final class Kernels {

    private Kernels() {}

    /**
     * Waits until no kernel holds an object of a volume (every agent collected its garbage); each
     * node's own witness export and imports stay.
     */
    static void awaitNoObjects(List<SimulatedKernel> kernels, Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        List<String> left = List.of();
        while (System.nanoTime() < deadline) {
            left = new ArrayList<>();
            for (SimulatedKernel k : kernels) {
                for (String o : k.observe().volumeObjects()) {
                    left.add(k.name() + " " + o);
                }
            }
            if (left.isEmpty()) {
                return;
            }
            ApiClient.sleep(200);
        }
        throw new AssertionError("objects with the prefix left: " + left);
    }
}
