package io.dnv.node.linux;

import io.dnv.core.kernel.ObservedKernel;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The look at a Linux kernel, read while the kernel and the node's other commands change it. */
class ObservedKernelReaderTest {

    @Test
    void anObjectRemovedWhileTheLookReadItIsNotThere() {
        String nqn = "nqn.2024-01.io.dnv:ld:v:0:0:0:n2";
        String gone = "nqn.2024-01.io.dnv:ld:v:0:0:1:n2";
        String out = String.join("\n",
                "P|1|tcp|ipv4|127.0.1.2|4420",
                "G|1|1|optimized",
                "G|1|2|",
                "U|" + nqn + "|0|1|2|serial",
                "U|" + gone + "|||",
                "N|" + nqn + "|1|/dev/dnv/ld|6f1d4e2a-3c5b-4a7d-9e8f-0a1b2c3d4e5f|6f1d4e2a3c5b4a7d9e8f0a1b2c3d4e5f|1|1",
                "N|" + gone + "|1|/dev/dnv/ld1|||||",
                "B|/dev/nvme0n1|259:0|2048|6f1d4e2a-3c5b-4a7d-9e8f-0a1b2c3d4e5f",
                "B|/dev/nvme1n1|||",
                "D|/dev/ram0|1:0|262144",
                "D|/dev/ram1|1:1|",
                "");
        ObservedKernel k = ObservedKernelReader.parse(out);
        assertEquals(List.of(nqn), k.subsystems().stream().map(ObservedKernel.Subsystem::nqn).toList());
        assertEquals(1, k.subsystems().get(0).namespaces().size());
        assertEquals(1, k.ports().get(0).anaGroups().size());
        assertEquals(List.of("/dev/nvme0n1", "/dev/ram0"), k.blockDevices().stream().map(ObservedKernel.BlockDevice::path).toList());
    }
}
