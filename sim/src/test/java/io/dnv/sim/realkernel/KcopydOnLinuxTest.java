package io.dnv.sim.realkernel;

import io.dnv.sim.vm.GuestChannel;
import io.dnv.sim.vm.GuestPair;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static io.dnv.sim.realkernel.KernelLatencyOnLinuxTest.BUSYBOX;
import static io.dnv.sim.realkernel.KernelLatencyOnLinuxTest.NOW;
import static io.dnv.sim.realkernel.KernelLatencyOnLinuxTest.median;
import static io.dnv.sim.realkernel.KernelLatencyOnLinuxTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What dm-clone's copy of a 64 KiB region costs on Linux, for the simulator's
 * {@code KernelLatencies.Op.KCOPYD_64K}: a 64 MiB dm-clone (regions of 64 KiB, the throttle dnv
 * sets: {@code hydration_threshold 8}, {@code hydration_batch_size 4}) hydrated from one RAM disk
 * to another in the guest, timed from {@code enable_hydration} until its status counts every
 * region (looked at every 0.1 s), three times; the destination then equals the source.
 *
 * <p>The copy is the kernel copying memory (brd to brd through kcopyd), which TCG emulates
 * instruction by instruction, so the guest figure is divided by the slowdown of the same kind of
 * work: the same static busybox {@code dd} moving 256 MiB from /dev/zero to /dev/null in 64 KiB
 * blocks (the kernel's memory copy) in the guest and on the host, measured in the same run.
 *
 * <p>Prints {@code KCOPYD guest_ms_per_region=… factor=… corrected_ms_per_region=…}.
 */
@Tag("real-kernel")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KcopydOnLinuxTest {

    private static final int REGIONS = 1024;
    private static final String COPY = "busybox dd if=/dev/zero of=/dev/null bs=64k count=4096 2>/dev/null";

    private GuestPair guests;

    @BeforeAll
    void boot() throws Exception {
        guests = GuestPair.boot(GuestPair.Images.fromSystemProperties(), 3, 80);
    }

    @AfterAll
    void shutdown() {
        if (guests != null) {
            guests.close();
        }
    }

    @Test
    void measure() throws Exception {
        GuestChannel a = guests.a();
        StringBuilder s = new StringBuilder("export DM_DISABLE_UDEV=1\nset -e\nmodprobe dm-clone 2>/dev/null || true\n").append(NOW)
                .append("dd if=/dev/urandom of=/dev/ram2 bs=1M count=64 2>/dev/null\n");
        for (int rep = 0; rep < 3; rep++) {
            s.append("dd if=/dev/zero of=/dev/ram0 bs=1M count=4 2>/dev/null\n")
                    .append("dd if=/dev/zero of=/dev/ram1 bs=1M count=64 2>/dev/null\n")
                    .append("dmsetup create kc-m --table '0 8192 linear /dev/ram0 0'\n")
                    .append("dmsetup create kc-c --table '0 131072 clone /dev/mapper/kc-m /dev/ram1 /dev/ram2 128 1 no_hydration"
                            + " 4 hydration_threshold 8 hydration_batch_size 4'\n")
                    .append("now; s=$T; dmsetup message kc-c 0 enable_hydration\n")
                    .append("while ! dmsetup status kc-c | grep -q ' " + REGIONS + "/" + REGIONS + " '; do sleep 0.1; done\n")
                    .append("now; echo \"H $((T - s))\"\n")
                    .append("dmsetup remove kc-c; dmsetup remove kc-m\n");
        }
        s.append("echo \"SAME $(dd if=/dev/ram1 bs=1M count=64 2>/dev/null | md5sum | cut -c1-32)"
                + " $(dd if=/dev/ram2 bs=1M count=64 2>/dev/null | md5sum | cut -c1-32)\"\n");
        List<Double> hydrations = new ArrayList<>();
        String[] same = null;
        for (String line : run(a, s.toString()).split("\n")) {
            String[] f = line.trim().split(" ");
            if (f[0].equals("H")) {
                hydrations.add(Long.parseLong(f[1]) / 1e6);
            } else if (f[0].equals("SAME")) {
                same = f;
            }
        }
        assertEquals(3, hydrations.size(), "three hydrations timed");
        assertTrue(same != null && same[1].equals(same[2]), "the destination holds the source: " + Arrays.toString(same));

        double guestMs = median(hydrations) / REGIONS;
        double factor = slowdown(a);
        System.out.printf("KCOPYD hydrations_ms=%s guest_ms_per_region=%.3f guest_mib_per_s=%.1f%n", hydrations, guestMs,
                64 / (median(hydrations) / 1000));
        System.out.printf("KCOPYD guest_ms_per_region=%.3f factor=%.1f corrected_ms_per_region=%.4f%n", guestMs, factor,
                guestMs / factor);
    }

    /** The same busybox dd (the kernel copying 256 MiB in 64 KiB blocks) in the guest and on the host; median of five each. */
    private double slowdown(GuestChannel guest) throws Exception {
        StringBuilder s = new StringBuilder(NOW);
        for (int i = 0; i < 5; i++) {
            s.append("now; s=$T; ").append(COPY.replace("busybox ", "/bin/busybox ")).append("; now; echo $((T - s))\n");
        }
        List<Double> g = Arrays.stream(run(guest, s.toString()).trim().split("\n")).map(v -> Long.parseLong(v.trim()) / 1e6).toList();
        assertTrue(Files.exists(Path.of(BUSYBOX)), BUSYBOX);
        List<Double> h = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            long t = System.nanoTime();
            Process p = new ProcessBuilder(BUSYBOX, "sh", "-c", COPY.replace("busybox ", BUSYBOX + " ")).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            p.waitFor();
            h.add((System.nanoTime() - t) / 1e6);
        }
        System.out.printf("SLOWDOWN copy_64k guest_ms=%.1f host_ms=%.1f factor=%.1f%n", median(g), median(h), median(g) / median(h));
        return median(g) / median(h);
    }
}
