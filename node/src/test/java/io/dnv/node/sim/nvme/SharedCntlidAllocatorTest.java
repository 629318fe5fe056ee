package io.dnv.node.sim.nvme;

import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmetSubsystem;
import io.dnv.core.plan.Fixtures;
import io.dnv.core.plan.NodeObjects;
import io.dnv.core.plan.Planner;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.node.kernel.KernelException;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static io.dnv.node.sim.nvme.World.*;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Linux 6.1 nvmet hands out every subsystem's controller ids from one allocator per kernel, so
 * on a node that is both a disk node and a controller node the LD exports' connections take ids
 * the volume exports need unless their ranges are disjoint. Here the LD range the planner gives
 * is filled (a disk node exporting that many LDs), and a volume export of controller slot 0 on
 * the same kernel must still admit its host.
 */
class SharedCntlidAllocatorTest {

    private static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:5b0c4e1a-2f3d-4a6b-8c7d-9e0f1a2b3c4d";
    /** Connections per importing kernel: each host kernel stands for one controller node. */
    private static final int PER_IMPORTER = 4096;

    private final World w = new World();
    private final World.Kernel node = w.kernel("n1");

    @Test
    void ldExportsFillingTheirRangeLeaveASlotZeroVolumeExportItsHost() {
        VolumeSpec spec = new VolumeSpec(64L << 20, 1, 1, 1, 2);
        VolumeLayout layout = VolumeLayout.of(spec);
        NodeObjects n1 = Planner.plan("v", spec, layout, Fixtures.placement(spec, layout, true), List.of(HOST),
                Fixtures.sixNodes()).get("n1");
        NvmetSubsystem ld = n1.subsystems().stream().filter(s -> s.nqn().startsWith(Names.NQN_PREFIX + "ld:")).findFirst().orElseThrow();
        NvmetSubsystem volume = n1.subsystems().stream().filter(s -> s.nqn().equals(Names.volumeNqn("v"))).findFirst().orElseThrow();

        disk(node, "ld");
        disk(node, "vol");
        // One subsystem with the LDs' range stands for the node's many LD exports: the ids are the kernel's either way.
        export(node, 1, "10.0.0.1", ld.nqn(), "ld", CN_A, ld.cntlidMin(), ld.cntlidMax());
        node.nvmet().disallowHost(ld.nqn(), CN_A);
        node.nvmet().allowAnyHost(ld.nqn(), true);
        export(node, 3, "10.0.0.3", volume.nqn(), "vol", HOST, volume.cntlidMin(), volume.cntlidMax());

        int ldRange = ld.cntlidMax() - ld.cntlidMin() + 1;
        List<World.Kernel> importers = new ArrayList<>();
        int connected = 0;
        while (true) {
            if (connected % PER_IMPORTER == 0) {
                importers.add(w.kernel("cn" + importers.size()));
            }
            try {
                importers.get(importers.size() - 1).host().connect(conn("10.0.0.1", ld.nqn(), PREFIX + "cn-" + connected, QUICK));
            } catch (KernelException e) {
                assertEquals(Errno.EIO, e.kernelMessage(), "a full range refuses the connect: " + e.getMessage());
                break;
            }
            if (++connected > ldRange) {
                fail("more LD connections than the LD range has ids");
            }
        }
        assertEquals(ldRange, connected, "every id of the LD range was handed out");

        World.Kernel host = w.kernel("host");
        try {
            host.host().connect(conn("10.0.0.3", volume.nqn(), HOST, QUICK));
        } catch (KernelException e) {
            fail("the slot-0 volume export refused its host after " + connected + " LD connections (LD range "
                    + ld.cntlidMin() + "-" + ld.cntlidMax() + ", volume range " + volume.cntlidMin() + "-" + volume.cntlidMax()
                    + "): " + e.getMessage() + " " + host.host().dmesg());
        }
        int cntlid = host.host().controllers().get(0).cntlid();
        assertTrue(cntlid >= volume.cntlidMin() && cntlid <= volume.cntlidMax(), "cntlid " + cntlid);
    }
}
