package io.dnv.sim.realkernel;

import io.dnv.node.kernel.Kernel;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;

/** The simulated kernel, built afresh (new disks, new fabric) for every case. */
final class SimulatedUnderTest implements KernelUnderTest {

    private final String address;
    private final List<String> disks;
    private final long diskBytes;
    private SimulatedKernel kernel;
    private Path dir;

    SimulatedUnderTest(String address, List<String> disks, int diskMib) throws IOException {
        this.address = address;
        this.disks = disks;
        this.diskBytes = (long) diskMib << 20;
        reset();
    }

    @Override
    public Kernel kernel() {
        return kernel;
    }

    @Override
    public String address() {
        return address;
    }

    @Override
    public void write(String device, long offset, byte[] bytes) throws IOException {
        try (SimulatedKernel.Handle h = kernel.open(device)) {
            h.write(offset, bytes);
        }
    }

    @Override
    public String md5(String device, long offset, int length) throws Exception {
        byte[] buf = new byte[length];
        try (SimulatedKernel.Handle h = kernel.open(device)) {
            h.read(offset, buf);
        }
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(buf));
    }

    @Override
    public void reset() throws IOException {
        if (kernel != null) {
            kernel.shutdown();
        }
        dir = Files.createTempDirectory("dnv-differential-");
        kernel = new SimulatedKernel(address, new Fabric());
        for (int i = 0; i < disks.size(); i++) {
            kernel.addDisk(disks.get(i), dir.resolve("disk" + i), diskBytes);
        }
    }
}
