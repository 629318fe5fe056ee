package io.dnv.sim.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;

/**
 * Hosts on simulated kernels on the storage nodes' fabric, as Linux hosts with native NVMe
 * multipath: each volume attached through the API, then one `nvme connect` per path of its
 * connect information with the settings it publishes (keep-alive, ctrl_loss_tmo, ...). The
 * simulated host notices a dead path only by keep-alive or I/O timeout and sends I/O only to
 * optimized paths, as Linux does.
 */
final class BenchHosts implements AutoCloseable {

    /** A host serves this many volumes (a host kernel is one lock and one work queue, as Linux's nvme-core is per host). */
    static final int VOLUMES_PER_HOST = 100;
    private static final int ATTACH_ATTEMPTS = 3;
    /**
     * Attaches sent at once. An attach answers once the volume's nodes converged, and a node that
     * serves a thousand volumes reads its kernel for seconds per pass: a thousand at once outlasted
     * the requests' minute.
     */
    private static final int ATTACH_BATCH = 100;

    /** A volume as its host sees it: the host, its multipath device, and the keep-alive it was told to use. */
    record Attached(String volumeId, String hostNqn, SimulatedKernel host, SimulatedKernel.Handle device, int keepAliveSeconds) {}

    private final BenchApi api;
    private final Fabric fabric;
    private final Map<String, SimulatedKernel> kernels = new HashMap<>();
    private final List<SimulatedKernel.Handle> handles = new ArrayList<>();

    BenchHosts(BenchApi api, Fabric fabric) {
        this.api = api;
        this.fabric = fabric;
    }

    static String hostNqn(int host) {
        return "nqn.2014-08.org.nvmexpress:uuid:" + UUID.nameUUIDFromBytes(("dnv-bench-host-" + host).getBytes());
    }

    /** Attaches every volume to its host, connects every path, and opens each volume's multipath device. */
    List<Attached> attach(List<String> volumes, Duration timeout) throws Exception {
        List<JsonNode> connects = new ArrayList<>();
        for (int from = 0; from < volumes.size(); from += ATTACH_BATCH) {
            List<CompletableFuture<HttpResponse<String>>> attaches = new ArrayList<>();
            int to = Math.min(volumes.size(), from + ATTACH_BATCH);
            for (int i = from; i < to; i++) {
                attaches.add(api.postAgain("/v1/volumes/" + volumes.get(i) + "/attachments",
                        "{\"hostNqn\":\"" + hostNqn(i / VOLUMES_PER_HOST) + "\"}", ATTACH_ATTEMPTS));
            }
            for (int i = from; i < to; i++) {
                HttpResponse<String> r = attaches.get(i - from).get();
                if (r.statusCode() != 200) {
                    throw new IllegalStateException("attach " + volumes.get(i) + " answered " + r.statusCode() + ": " + r.body());
                }
                connects.add(BenchApi.JSON.readTree(r.body()));
            }
        }
        for (JsonNode c : connects) {
            connect(kernel(c.path("hostNqn").asText()), c);
        }
        List<Attached> out = new ArrayList<>();
        long deadline = System.nanoTime() + timeout.toNanos();
        for (int i = 0; i < volumes.size(); i++) {
            JsonNode c = connects.get(i);
            SimulatedKernel host = kernel(c.path("hostNqn").asText());
            String path = head(host, c.path("subsystemNqn").asText(), deadline);
            SimulatedKernel.Handle device = host.open(path);
            handles.add(device);
            out.add(new Attached(volumes.get(i), c.path("hostNqn").asText(), host, device, c.path("hostSettings").path("keepAliveTmo").asInt()));
        }
        return out;
    }

    /** One controller per path, as `nvme connect` per path makes, with the timeouts the connect information states. */
    private static void connect(SimulatedKernel host, JsonNode connect) {
        JsonNode h = connect.path("hostSettings");
        ConnectTimeouts timeouts = new ConnectTimeouts(h.path("keepAliveTmo").asInt(), h.path("ctrlLossTmo").asInt(),
                h.path("reconnectDelay").asInt(), h.path("fastIoFailTmo").asInt());
        String hostNqn = connect.path("hostNqn").asText();
        for (JsonNode p : connect.path("paths")) {
            host.nvmeConnect(new NvmeConnection(p.path("transport").asText(), p.path("address").asText(), p.path("port").asInt(),
                    connect.path("subsystemNqn").asText(), hostNqn, Names.hostId(hostNqn), timeouts));
        }
    }

    /** The volume's multipath device: it appears once the host read an optimized path's ANA state. */
    private static String head(SimulatedKernel host, String nqn, long deadline) throws InterruptedException {
        UUID uuid = Names.namespaceUuid(nqn);
        while (true) {
            Optional<ObservedKernel.BlockDevice> dev = host.observeHost().blockDevices().stream()
                    .filter(b -> b.uuid().equals(Optional.of(uuid))).findFirst();
            if (dev.isPresent()) {
                return dev.get().path();
            }
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no multipath device for " + nqn + " on its host: " + host.hostLog());
            }
            Thread.sleep(20);
        }
    }

    /** Whether the host has a live path to the volume in the optimized ANA state (sysfs ana_state). */
    static boolean optimizedPath(Attached a) {
        String nqn = Names.volumeNqn(a.volumeId());
        return a.host().observeHost().controllers().stream()
                .filter(c -> c.subsystemNqn().equals(nqn) && c.state().equals("live"))
                .anyMatch(c -> a.host().pathAnaState(c.name(), 1).filter(AnaState.OPTIMIZED.configfs()::equals).isPresent());
    }

    private SimulatedKernel kernel(String hostNqn) {
        return kernels.computeIfAbsent(hostNqn, h -> new SimulatedKernel("host:" + h, fabric));
    }

    @Override
    public void close() {
        handles.forEach(SimulatedKernel.Handle::close);
        kernels.values().forEach(SimulatedKernel::shutdown);
    }
}
