package io.dnv.node.sim.nvme;

import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.node.kernel.KernelException;
import io.dnv.node.sim.block.BlockDevices;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.UUID;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

/** A fabric and kernels for one test, plus the exports and connects the tests repeat. */
final class World {

    static final String PREFIX = "nqn.2024-01.io.dnv:";
    static final String LD = PREFIX + "ld-1";
    static final String CN_A = PREFIX + "cn-a";
    static final String CN_B = PREFIX + "cn-b";
    static final UUID NS_UUID = UUID.fromString("00000000-0000-0000-0000-000000000064");
    static final ConnectTimeouts QUICK = new ConnectTimeouts(5, 30, 1, -1);

    /** One simulated kernel: its devices, target and host. */
    record Kernel(String name, BlockDevices devices, Nvmet nvmet, NvmeHost host) {}

    final Fabric fabric = new Fabric();

    Kernel kernel(String name) {
        BlockDevices d = new BlockDevices();
        return new Kernel(name, d, new Nvmet(name, d, fabric), new NvmeHost(name, d, fabric, NvmeHost.DEFAULT_IO_TIMEOUT));
    }

    /** A 1 MiB disk registered as /dev/&lt;name&gt; in the kernel. */
    static MemDisk disk(Kernel k, String name) {
        MemDisk d = new MemDisk(1 << 20);
        k.devices().register("/dev/" + name, 7, k.devices().allocateMinor(7), d);
        return d;
    }

    /** Port &lt;port&gt; at &lt;addr&gt;:4420 exporting &lt;nqn&gt; ns 1 on /dev/&lt;dev&gt;, allowed for &lt;host&gt;. */
    static void export(Kernel k, int port, String addr, String nqn, String dev, String host, int cntlidMin, int cntlidMax) {
        Nvmet t = k.nvmet();
        t.portCreate(NvmetPort.tcp(port, addr, 4420));
        t.subsystemCreate(nqn, cntlidMin, cntlidMax, "dnv0001");
        if (!t.hosts().contains(host)) {
            t.hostCreate(host);
        }
        t.allowHost(nqn, host);
        t.namespaceCreate(nqn, 1, "/dev/" + dev, NS_UUID, NS_UUID.toString(), 1);
        t.namespaceEnable(nqn, 1, true);
        t.link(port, nqn);
    }

    static NvmeConnection conn(String addr, String nqn, String hostNqn, ConnectTimeouts t) {
        UUID hostId = UUID.nameUUIDFromBytes(hostNqn.getBytes(StandardCharsets.UTF_8));
        return new NvmeConnection("tcp", addr, 4420, nqn, hostNqn, hostId, t);
    }

    static void refused(String errno, Runnable r) {
        KernelException e = assertThrows(KernelException.class, r::run);
        assertEquals(errno, e.kernelMessage(), e.getMessage());
    }

    static String state(Kernel k, String controller) {
        return k.host().controllers().stream().filter(c -> c.name().equals(controller))
                .map(c -> c.state()).findFirst().orElse("gone");
    }

    static void eventually(String what, BooleanSupplier condition) {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out waiting for: " + what);
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        Arrays.fill(b, (byte) seed);
        for (int i = 0; i < length; i += 97) {
            b[i] = (byte) (seed + i);
        }
        return b;
    }
}
