package io.dnv.node.agent;

import io.dnv.core.kernel.DesiredNode;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.plan.Fixtures;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Passes of the six nodes of one volume, one node after another, with no actors: what a single
 * pass does with what it has just connected.
 */
class ReconcilerTest {

    private static final long DISK_BYTES = 256L << 20;
    private static final VolumeSpec SPEC = new VolumeSpec(64L << 20, 1, 1, 4, 2);

    @TempDir
    Path dataDir;

    private final Fabric fabric = new Fabric();
    private final List<SimulatedKernel> kernels = new ArrayList<>();

    @AfterEach
    void shutdown() {
        kernels.forEach(SimulatedKernel::shutdown);
    }

    /**
     * A pass looks at the host side again after connecting, so the dm devices on a namespace it
     * has just imported are built in the same pass rather than waiting for the next one.
     */
    @Test
    void aPassBuildsOnTheNamespacesItHasJustImported() {
        Map<String, NodeEndpoints> nodes = Fixtures.sixNodes();
        Map<String, Reconciler> reconcilers = new LinkedHashMap<>();
        for (NodeEndpoints n : nodes.values()) {
            SimulatedKernel k = new SimulatedKernel(n.address(), fabric)
                    .addDisk(n.diskPath().orElseThrow(), dataDir.resolve(n.nodeId() + ".disk"), DISK_BYTES);
            kernels.add(k);
            reconcilers.put(n.nodeId(), new Reconciler(k, n.diskPath(), new Zeroing(Optional.empty(), n.diskPath())));
        }
        Map<String, DesiredNode> desired = Fixtures.desired(nodes, "vol1", SPEC,
                Fixtures.placement(SPEC, VolumeLayout.of(SPEC), true), List.of(), 1);
        Map<String, String> exportOfNamespace = new HashMap<>();
        desired.values().forEach(d -> d.subsystems().forEach(s -> s.namespaces().forEach(
                ns -> exportOfNamespace.put("uuid:" + ns.uuid(), s.nqn()))));

        int passesThatImported = 0;
        Set<String> converged = new HashSet<>();
        for (int round = 0; round < 10 && converged.size() < nodes.size(); round++) {
            for (Map.Entry<String, Reconciler> r : reconcilers.entrySet()) {
                DesiredNode want = desired.get(r.getKey());
                PassResult pass = r.getValue().reconcile(want);
                Set<String> imported = importedIn(pass, want);
                passesThatImported += imported.isEmpty() ? 0 : 1;
                for (String waiting : pass.waiting()) {
                    exportOfNamespace.forEach((symbol, nqn) -> assertTrue(!imported.contains(nqn) || !waiting.contains(symbol),
                            r.getKey() + " imported " + nqn + " and still waited for its namespace in the same pass: " + waiting));
                }
                if (pass.converged()) {
                    converged.add(r.getKey());
                }
            }
        }
        assertTrue(converged.size() == nodes.size(), "every node converged: " + converged);
        assertTrue(passesThatImported > 0, "some pass imported");
    }

    /** The exports a pass connected to without a refusal. */
    private static Set<String> importedIn(PassResult pass, DesiredNode desired) {
        Set<String> refused = pass.failures().stream().map(Failure::object).collect(Collectors.toSet());
        return desired.connections().stream()
                .filter(c -> pass.mutations().contains("nvme connect " + c.key()) && !refused.contains(c.key()))
                .map(NvmeConnection::subsystemNqn)
                .collect(Collectors.toSet());
    }
}
