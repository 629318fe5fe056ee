package io.dnv.sim.vm;

import io.dnv.node.linux.CommandRunner;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Which accelerator the guests' QEMU runs on, chosen once per JVM.
 *
 * <p>A writable /dev/kvm does not mean KVM boots a guest: under nested virtualisation QEMU
 * with {@code -cpu host} aborts ("failed to set MSR 0x10a") and other CPU models hang after the
 * boot loader. So KVM is used only when asked for ({@code -Ddnv.vm.accel=kvm}) or when one
 * guest, booted with KVM as the tests would boot it, answers a command within {@link #PROBE}.
 * Anything else runs on TCG, which is slower but always boots. The probe runs once per JVM
 * (surefire runs every test class in one), not once per test class.
 */
public record Accelerator(boolean kvm, String why) {

    /** Long enough for a KVM guest to boot (it takes 2-3 s), short next to a test class. */
    static final Duration PROBE = Duration.ofSeconds(20);

    private static Accelerator chosen;

    /** The accelerator for this JVM: decided (and printed) on the first call, the same after. */
    public static synchronized Accelerator choose(GuestPair.Images images) {
        if (chosen == null) {
            chosen = decide(images);
            // stdout, so the CI log says what ran: TCG is several times slower than KVM.
            System.out.println("guest accelerator: " + chosen);
        }
        return chosen;
    }

    /** QEMU's arguments for this accelerator. */
    List<String> qemuArgs() {
        return kvm ? List.of("-accel", "kvm", "-cpu", "host") : List.of("-accel", "tcg,thread=multi", "-cpu", "max");
    }

    @Override
    public String toString() {
        return (kvm ? "kvm" : "tcg") + " (" + why + ")";
    }

    private static Accelerator decide(GuestPair.Images images) {
        String asked = System.getProperty("dnv.vm.accel", "").trim().toLowerCase(Locale.ROOT);
        switch (asked) {
            case "kvm":
                return new Accelerator(true, "asked for: dnv.vm.accel=kvm");
            case "tcg":
                return new Accelerator(false, "asked for: dnv.vm.accel=tcg");
            case "":
                break;
            default:
                throw new IllegalArgumentException("dnv.vm.accel must be kvm or tcg, not '" + asked + "'");
        }
        if (!Files.isWritable(Path.of("/dev/kvm"))) {
            return new Accelerator(false, "no writable /dev/kvm");
        }
        return probe(images);
    }

    /** Boots one guest with KVM and asks it to echo: KVM if it answers, else TCG and why not. */
    private static Accelerator probe(GuestPair.Images images) {
        long t0 = System.nanoTime();
        Path dir;
        Process qemu;
        try {
            dir = Files.createTempDirectory("dnv-kvm-probe-");
            // One small guest with no network: what breaks under nested KVM breaks before that.
            qemu = GuestPair.start(dir, "P", null, images, 1, 16, new Accelerator(true, "probe"));
        } catch (IOException e) {
            return new Accelerator(false, "kvm probe failed: QEMU did not start: " + e.getMessage());
        }
        // A guest stuck in boot leaves its channel connected but silent: killing QEMU at the
        // deadline ends every wait below, so the probe never takes much longer than PROBE.
        AtomicBoolean deadlinePassed = new AtomicBoolean();
        ScheduledExecutorService deadline = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "kvm-probe-deadline");
            t.setDaemon(true);
            return t;
        });
        deadline.schedule(() -> {
            deadlinePassed.set(true);
            qemu.destroyForcibly();
        }, PROBE.toMillis(), TimeUnit.MILLISECONDS);
        String failure;
        try (GuestChannel channel = GuestPair.connect(dir, "P", qemu, PROBE)) {
            CommandRunner.Result r = channel.run("echo ok", Duration.ofSeconds(5));
            channel.powerOff();
            if (r.ok() && r.stdout().strip().equals("ok")) {
                return new Accelerator(true, String.format("kvm probe: a guest answered in %.1f s", (System.nanoTime() - t0) / 1e9));
            }
            failure = "the guest answered 'echo ok' with " + r;
        } catch (IOException | RuntimeException e) {
            failure = deadlinePassed.get() ? "no answer in " + PROBE.toSeconds() + " s" : e.getMessage();
        } finally {
            deadline.shutdownNow();
            GuestPair.stop(qemu);
        }
        return new Accelerator(false, String.format("kvm probe failed after %.1f s: %s; console and QEMU log in %s",
                (System.nanoTime() - t0) / 1e9, failure, dir));
    }
}
