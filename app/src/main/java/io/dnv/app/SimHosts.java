package io.dnv.app;

import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.core.volume.HostContract;
import io.dnv.core.volume.VolumeView;
import io.dnv.http.Problem;
import io.dnv.http.SimulatedHosts;
import io.dnv.node.kernel.KernelException;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Simulated hosts for ./dnv dev: one simulated kernel per host NQN on the storage nodes'
 * fabric, connected like Linux native multipath to every controller of a volume with the
 * settings the control plane publishes; I/O goes down the whole device stack.
 */
final class SimHosts implements SimulatedHosts, AutoCloseable {

    private final Fabric fabric;
    private final Map<String, SimulatedKernel> kernels = new ConcurrentHashMap<>();
    private final ExecutorService io = Executors.newFixedThreadPool(4, r -> {
        Thread t = new Thread(r, "sim-host-io");
        t.setDaemon(true);
        return t;
    });

    SimHosts(Fabric fabric) {
        this.fabric = fabric;
    }

    @Override
    public CompletionStage<byte[]> read(String hostNqn, VolumeView volume, long offset, int length) {
        checkRange(volume, offset, length);
        return CompletableFuture.supplyAsync(() -> {
            byte[] buf = new byte[length];
            withVolume(hostNqn, volume, h -> h.read(offset, buf));
            return buf;
        }, io);
    }

    @Override
    public CompletionStage<Void> write(String hostNqn, VolumeView volume, long offset, byte[] data) {
        checkRange(volume, offset, data.length);
        return CompletableFuture.runAsync(() -> withVolume(hostNqn, volume, h -> h.write(offset, data)), io);
    }

    private static void checkRange(VolumeView volume, long offset, long length) {
        if (!volume.state().equals("READY")) {
            throw new Problem.Raised(Problem.of(409, "Conflict", "volume " + volume.id() + " is " + volume.state() + ", not READY"));
        }
        // Not offset + length: near the top of a long that sum wraps negative and passes.
        if (offset > volume.sizeBytes() - length) {
            throw new Problem.Raised(Problem.invalid(java.util.List.of(new Problem.FieldError("offset",
                    "offset + length must be at most the volume's size (" + volume.sizeBytes() + " bytes)"))));
        }
    }

    private interface Io {
        void run(SimulatedKernel.Handle h) throws IOException;
    }

    private void withVolume(String hostNqn, VolumeView volume, Io op) {
        SimulatedKernel kernel = kernels.computeIfAbsent(hostNqn, h -> new SimulatedKernel("host:" + h, fabric));
        connect(kernel, hostNqn, volume);
        String head = head(kernel, volume.id());
        try (SimulatedKernel.Handle h = kernel.open(head)) {
            op.run(h);
        } catch (IOException e) {
            throw new Problem.Raised(Problem.of(502, "Bad Gateway", "I/O error through the volume: " + e.getMessage()
                    + " | " + String.join(" | ", kernel.hostLog().subList(Math.max(0, kernel.hostLog().size() - 8), kernel.hostLog().size()))));
        }
    }

    /** One controller per path, as `nvme connect` per path would make; a refused path says why. */
    private static void connect(SimulatedKernel kernel, String hostNqn, VolumeView volume) {
        String nqn = Names.volumeNqn(volume.id());
        HostContract c = HostContract.forVolume(volume.spec().activeControllers());
        for (VolumeView.Controller path : volume.controllers()) {
            boolean connected = kernel.observe().controllers().stream().anyMatch(k -> k.subsystemNqn().equals(nqn)
                    && k.address().equals(path.address()) && k.serviceId() == path.port() && !k.state().equals("deleting"));
            if (connected) {
                continue;
            }
            try {
                kernel.nvmeConnect(new io.dnv.core.kernel.NvmeConnection(path.transport(), path.address(), path.port(), nqn, hostNqn,
                        Names.hostId(hostNqn), new ConnectTimeouts(c.keepAliveTmo(), c.ctrlLossTmo(), c.reconnectDelay(), c.fastIoFailTmo())));
            } catch (KernelException e) {
                throw new Problem.Raised(Problem.of(403, "Forbidden", "host " + hostNqn + " cannot connect to " + path.address() + ":"
                        + path.port() + " (" + e.kernelMessage() + "); attach the host first"));
            }
        }
    }

    /** The multipath device appears once a path is optimized; give the AEN a moment. */
    private static String head(SimulatedKernel kernel, String volumeId) {
        UUID uuid = Names.namespaceUuid(Names.volumeNqn(volumeId));
        for (int i = 0; i < 100; i++) {
            Optional<ObservedKernel.BlockDevice> dev = kernel.observe().namespace(uuid);
            if (dev.isPresent()) {
                return dev.get().path();
            }
            sleep(20);
        }
        throw new Problem.Raised(Problem.of(503, "Service Unavailable", "no usable path to volume " + volumeId + " yet"));
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UncheckedIOException(new IOException(e));
        }
    }

    /** The host's kernel, once it read or wrote anything: what it sees of its paths. */
    Optional<SimulatedKernel> kernel(String hostNqn) {
        return Optional.ofNullable(kernels.get(hostNqn));
    }

    @Override
    public void close() {
        io.shutdownNow();
        kernels.values().forEach(SimulatedKernel::shutdown);
    }
}
