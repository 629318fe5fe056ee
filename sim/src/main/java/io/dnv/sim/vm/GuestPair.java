package io.dnv.sim.vm;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Two QEMU guests on Debian's kernel, linked only to each other (a QEMU stream netdev over a
 * unix socket: no IP address on the host at all), each driven through its own command
 * channel. Guest A is 10.99.0.1, guest B 10.99.0.2 on that link. Closing the pair powers both
 * off and kills what is left: nothing survives a test class.
 */
public final class GuestPair implements AutoCloseable {

    public static final String ADDRESS_A = "10.99.0.1";
    public static final String ADDRESS_B = "10.99.0.2";

    public record Images(Path kernel, Path initramfs) {
        /** From the system properties sim/real-kernel-test passes (what build-guest.sh built). */
        public static Images fromSystemProperties() {
            String k = System.getProperty("dnv.vm.kernel", "");
            String i = System.getProperty("dnv.vm.initramfs", "");
            if (k.isBlank() || i.isBlank() || !Files.isRegularFile(Path.of(k)) || !Files.isRegularFile(Path.of(i))) {
                throw new IllegalStateException("no guest images: run sim/real-kernel-test (dnv.vm.kernel='" + k
                        + "', dnv.vm.initramfs='" + i + "')");
            }
            return new Images(Path.of(k), Path.of(i));
        }
    }

    private final Path dir;
    private final List<Process> qemus = new ArrayList<>();
    private final GuestChannel a;
    private final GuestChannel b;
    private final Duration bootTime;

    private GuestPair(Path dir, Images images, int disks, int diskMib) throws IOException {
        this.dir = dir;
        Accelerator accel = Accelerator.choose(images);
        long t0 = System.nanoTime();
        Path link = dir.resolve("link.sock");
        try {
            qemus.add(start(dir, "A", new Nic(ADDRESS_A, "52:54:00:99:00:01", "stream,id=n0,server=on,addr.type=unix,addr.path=" + link),
                    images, disks, diskMib, accel));
            // B connects to A's end of the link, which fails at once unless A already listens.
            waitFor(link, "A", qemus.get(0), Duration.ofSeconds(30));
            qemus.add(start(dir, "B", new Nic(ADDRESS_B, "52:54:00:99:00:02", "stream,id=n0,server=off,addr.type=unix,addr.path=" + link),
                    images, disks, diskMib, accel));
            this.a = connect(dir, "A", qemus.get(0), Duration.ofSeconds(180));
            this.b = connect(dir, "B", qemus.get(1), Duration.ofSeconds(180));
        } catch (IOException | RuntimeException e) {
            qemus.forEach(Process::destroyForcibly);
            throw e;
        }
        this.bootTime = Duration.ofNanos(System.nanoTime() - t0);
    }

    /** Boots both guests, each with {@code disks} RAM disks (/dev/ram0..) of {@code diskMib} MiB. */
    public static GuestPair boot(Images images, int disks, int diskMib) throws IOException {
        Path dir = Files.createTempDirectory("dnv-guests-");
        try {
            return new GuestPair(dir, images, disks, diskMib);
        } catch (IOException | RuntimeException e) {
            throw new IOException("guests did not boot; consoles and QEMU logs in " + dir, e);
        }
    }

    public GuestChannel a() {
        return a;
    }

    public GuestChannel b() {
        return b;
    }

    public Duration bootTime() {
        return bootTime;
    }

    /**
     * Freezes guest A or B whole (QEMU's {@code stop}): its kernel answers nothing and its
     * connections go silent, without a packet sent, until {@link #thaw}. Send it no command
     * meanwhile: the command channel would call it lost.
     */
    public void freeze(String guest) throws IOException {
        Qmp.execute(monitor(guest), "stop", Duration.ofSeconds(30));
    }

    /** Lets a frozen guest run on (QEMU's {@code cont}); its clock missed the time it stood still. */
    public void thaw(String guest) throws IOException {
        Qmp.execute(monitor(guest), "cont", Duration.ofSeconds(30));
    }

    private Path monitor(String guest) {
        if (!guest.equals("A") && !guest.equals("B")) {
            throw new IllegalArgumentException("no guest " + guest + ": A or B");
        }
        return dir.resolve(guest + ".qmp");
    }

    /** A guest's one network card: its address, MAC and QEMU netdev. */
    record Nic(String ip, String mac, String netdev) {
    }

    /** Starts one guest's QEMU; its console, QEMU log and command socket go to {@code dir}. No nic: no network. */
    static Process start(Path dir, String name, Nic nic, Images images, int disks, int diskMib, Accelerator accel) throws IOException {
        List<String> cmd = new ArrayList<>(List.of("qemu-system-x86_64"));
        cmd.addAll(accel.qemuArgs());
        cmd.addAll(List.of("-M", "pc", "-m", String.valueOf(256 + disks * diskMib), "-smp", "1",
                "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
                "-kernel", images.kernel().toString(), "-initrd", images.initramfs().toString(),
                "-append", "console=ttyS0,115200 rdinit=/init panic=-1 quiet loglevel=3 mitigations=off dnv.name=" + name
                        + (nic == null ? "" : " dnv.ip=" + nic.ip() + "/24") + " dnv.disks=" + disks + " dnv.disk_mib=" + diskMib
                        + " dnv.timeout=3600",
                "-serial", "file:" + dir.resolve(name + ".console.log")));
        if (nic != null) {
            cmd.addAll(List.of("-netdev", nic.netdev(), "-device", "virtio-net-pci,netdev=n0,mac=" + nic.mac()));
        }
        cmd.addAll(List.of("-qmp", "unix:" + dir.resolve(name + ".qmp") + ",server=on,wait=off"));
        cmd.addAll(List.of("-device", "virtio-serial-pci,id=vser0",
                "-chardev", "socket,id=c0,path=" + dir.resolve(name + ".sock") + ",server=on,wait=off",
                "-device", "virtserialport,bus=vser0.0,chardev=c0,name=dnv"));
        return new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve(name + ".qemu.log").toFile()).start();
    }

    /** The guest's command channel; when QEMU died first, the error says what QEMU said last. */
    static GuestChannel connect(Path dir, String name, Process qemu, Duration wait) throws IOException {
        try {
            return GuestChannel.connect(name, dir.resolve(name + ".sock"), wait, qemu);
        } catch (IOException e) {
            if (qemu.isAlive()) {
                throw e;
            }
            throw new IOException(e.getMessage() + "; QEMU said: " + tail(dir.resolve(name + ".qemu.log")), e);
        }
    }

    /** The last lines of a QEMU log on one line ("failed to set MSR 0x10a" and the assertion after it). */
    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log).stream().map(String::strip).filter(l -> !l.isEmpty()).toList();
            return lines.isEmpty() ? "nothing" : String.join(" | ", lines.subList(Math.max(0, lines.size() - 3), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    /** Waits a little for a QEMU told to power off, then kills it. */
    static void stop(Process qemu) {
        try {
            if (!qemu.waitFor(10, TimeUnit.SECONDS)) {
                qemu.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            qemu.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    /** Waits for {@code qemu} to create {@code socket}; a QEMU that exits first fails with its last words. */
    private void waitFor(Path socket, String name, Process qemu, Duration wait) throws IOException {
        long deadline = System.nanoTime() + wait.toNanos();
        while (!Files.exists(socket)) {
            if (!qemu.isAlive()) {
                throw new IOException(name + ": QEMU exited (status " + qemu.exitValue() + ") before it created " + socket
                        + "; QEMU said: " + tail(dir.resolve(name + ".qemu.log")));
            }
            if (System.nanoTime() > deadline) {
                throw new IOException("QEMU did not create " + socket + "; see " + dir);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException(e);
            }
        }
    }

    @Override
    public void close() {
        for (GuestChannel c : new GuestChannel[]{a, b}) {
            if (c != null) {
                c.powerOff();
            }
        }
        qemus.forEach(GuestPair::stop);
    }
}
