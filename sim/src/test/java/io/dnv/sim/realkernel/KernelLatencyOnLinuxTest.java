package io.dnv.sim.realkernel;

import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.node.linux.CommandRunner;
import io.dnv.node.linux.LinuxKernel;
import io.dnv.sim.vm.GuestChannel;
import io.dnv.sim.vm.GuestPair;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Consumer;
import java.util.function.IntFunction;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Measures what each kind of kernel operation costs on Linux, for the simulator's latency table
 * ({@code io.dnv.node.sim.KernelLatencies}). Each operation is the very script {@link LinuxKernel}
 * runs for it (recorded, not re-typed), run with {@code sh} as the production agent's runner
 * does, so a figure includes the shell and dmsetup processes an agent pays for. Timed inside the
 * guest (the command channel's own delay is not the kernel's) from /proc/timer_list's clock,
 * which a shell reads without a process; the cost of reading it is measured and subtracted.
 * Many repetitions, the first two thrown away, the median reported.
 *
 * <p>The guests run under TCG, which emulates every instruction. The slowdown is measured by
 * running the same static busybox binary (the guests' own, from the image's root file system) on
 * the host and in a guest: a CPU-bound awk loop, a syscall-bound dd and a fork/exec loop. The
 * scripts above are mostly process creation (sh, dmsetup: page faults and dynamic linking, which
 * TCG emulates worst) plus kernel work, so the fork/exec factor is the one the corrected figures
 * divide by; the others are printed to show the spread.
 *
 * <p>Prints lines {@code LATENCY <kind> guest_ms=<median> corrected_ms=<median/factor>} and
 * {@code SLOWDOWN <loop> guest_ms host_ms factor}.
 */
@Tag("real-kernel")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KernelLatencyOnLinuxTest {

    private static final int REPS = 25;
    private static final int WARMUP = 2;
    /** How many subsystems, and controllers, the per-object costs of a look are measured over. */
    private static final int OBJECTS = 200;
    private static final Duration TIMEOUT = Duration.ofMinutes(15);
    static final String NOW = "now() { { read -r _l; read -r _l; read -r _a _b T _c; } < /proc/timer_list; }\n";
    static final String BUSYBOX = "/var/tmp/dnv-kernel-vm/rootfs/bin/busybox";

    private GuestPair guests;
    private final Map<String, Double> medians = new LinkedHashMap<>();

    @BeforeAll
    void boot() throws Exception {
        guests = GuestPair.boot(GuestPair.Images.fromSystemProperties(), 2, 96);
    }

    @AfterAll
    void shutdown() {
        if (guests != null) {
            guests.close();
        }
    }

    /** Records the script a LinuxKernel call would run instead of running it. */
    private static final class Recorder implements CommandRunner {
        final List<String> scripts = new ArrayList<>();

        @Override
        public Result run(String script, Duration timeout) {
            scripts.add(script);
            return new Result(0, "instance=0,cntlid=1", "", false);
        }
    }

    /** The script(s) LinuxKernel runs for {@code call}, one after the other. */
    private static String script(Consumer<LinuxKernel> call, List<String> disks) {
        Recorder r = new Recorder();
        try {
            call.accept(new LinuxKernel(r, TIMEOUT, disks));
        } catch (RuntimeException parseOfTheFakeAnswer) {
            // observe() parses the recorder's answer; only the script matters here
        }
        return String.join("\n", r.scripts);
    }

    private static String script(Consumer<LinuxKernel> call) {
        return script(call, List.of());
    }

    /**
     * One kind: per repetition i, {@code setup} (untimed), the timed script, {@code teardown}.
     * {@code once} runs before all repetitions and {@code after} after them.
     */
    private record Kind(String name, String once, IntFunction<String> setup, IntFunction<String> op,
                        IntFunction<String> teardown, String after) {}

    @Test
    void measure() throws Exception {
        GuestChannel a = guests.a();
        GuestChannel b = guests.b();
        String hostA = Names.hostNqn("lat");
        // guest B exports one namespace to any host, for connects from A
        String nqn = "nqn.2024-01.io.dnv:ld:lat";
        run(b, script(k -> k.dmCreate("lat-b", "0 8192 linear /dev/ram0 0")) + "\n"
                + script(k -> k.nvmetPortCreate(NvmetPort.tcp(1, GuestPair.ADDRESS_B, 4420))) + "\n"
                + script(k -> k.nvmetSubsystemCreate(nqn, 1, 60000, "lat")) + "\n"
                + script(k -> k.nvmetAllowAnyHost(nqn, true)) + "\n"
                + script(k -> k.nvmetNamespaceCreate(nqn, 1, "/dev/mapper/lat-b", Names.namespaceUuid(nqn), Names.nguid(Names.namespaceUuid(nqn)), 1)) + "\n"
                + script(k -> k.nvmetNamespaceEnable(nqn, 1, true)) + "\n"
                + script(k -> k.nvmetLink(1, nqn)));
        NvmeConnection connection = new NvmeConnection("tcp", GuestPair.ADDRESS_B, 4420, nqn, hostA, Names.hostId(hostA),
                new ConnectTimeouts(5, 30, 1, 5));
        String connect = script(k -> k.nvmeConnect(connection));
        String deleteLast = "for c in /sys/class/nvme/nvme*; do [ -e $c ] && echo 1 > $c/delete_controller; done; sleep 0.2; true";

        IntFunction<String> none = i -> "";
        IntFunction<String> linear = i -> script(k -> k.dmCreate("lat-" + i, "0 2048 linear /dev/ram0 " + (i * 2048L)));
        IntFunction<String> removeLinear = i -> "dmsetup remove lat-" + i;
        String subsystem = "nqn.2024-01.io.dnv:vol:lat";
        String port = script(k -> k.nvmetPortCreate(NvmetPort.tcp(7, GuestPair.ADDRESS_A, 4427)));
        String portGone = "rmdir /sys/kernel/config/nvmet/ports/7 2>/dev/null; true";
        IntFunction<String> sub = i -> script(k -> k.nvmetSubsystemCreate(subsystem + i, 1, 100, "s" + i));
        IntFunction<String> subGone = i -> "rmdir /sys/kernel/config/nvmet/subsystems/" + subsystem + i;
        IntFunction<String> ns = i -> sub.apply(i) + "\n" + linear.apply(i) + "\n"
                + script(k -> k.nvmetNamespaceCreate(subsystem + i, 1, "/dev/mapper/lat-" + i, UUID.nameUUIDFromBytes(new byte[]{(byte) i}),
                "00000000-0000-0000-0000-0000000000" + String.format("%02x", i), 1));
        IntFunction<String> nsGone = i -> script(k -> k.nvmetNamespaceRemove(subsystem + i, 1)) + "\n" + subGone.apply(i) + "\n"
                + removeLinear.apply(i);
        String raidParts = "for s in 0 1; do\n"
                + "dmsetup create lat-m$s --table \"0 2048 linear /dev/ram$s 0\"\n"
                + "dmsetup create lat-d$s --table \"0 16384 linear /dev/ram$s 2048\"\n"
                + "dd if=/dev/zero of=/dev/mapper/lat-m$s bs=1M count=1 2>/dev/null; done";
        String raidPartsGone = "for s in 0 1; do dmsetup remove lat-m$s; dmsetup remove lat-d$s; done";
        String poolParts = "dmsetup create lat-pm --table \"0 4096 linear /dev/ram1 40000\"\n"
                + "dmsetup create lat-pd --table \"0 65536 linear /dev/ram1 50000\"\n"
                + "dd if=/dev/zero of=/dev/mapper/lat-pm bs=1M count=2 2>/dev/null";
        String poolTable = "0 65536 thin-pool /dev/mapper/lat-pm /dev/mapper/lat-pd 2048 0 2 skip_block_zeroing error_if_no_space";
        String forty = "i=100; while [ $i -lt 140 ]; do dmsetup create lat-o$i --table \"0 8 linear /dev/ram1 $i\"; i=$((i+1)); done";
        String fortyGone = "i=100; while [ $i -lt 140 ]; do dmsetup remove lat-o$i; i=$((i+1)); done";
        String observe = script(LinuxKernel::observe, List.of("/dev/ram0"));
        List<String> fortyNames = java.util.stream.IntStream.range(100, 140).mapToObj(i -> "lat-o" + i).toList();
        String observeOne = script(k -> k.observe(fortyNames.subList(0, 1), java.util.Optional.empty()), List.of("/dev/ram0"));
        String observeForty = script(k -> k.observe(fortyNames, java.util.Optional.empty()), List.of("/dev/ram0"));

        // OBJECTS subsystems as an LD's: a namespace, an allowed host, linked to a port (a look reads
        // them whole); their namespaces name a RAM disk, never enabled, so no dm device is added.
        // Made by loops: the recorded scripts of so many would not fit the one argument the guest's
        // sh takes.
        String manySubsystems = port + "\n" + script(k -> k.nvmetHostCreate(hostA)) + "\n" + """
                C=/sys/kernel/config/nvmet; i=0
                while [ $i -lt %3$d ]; do
                  s=$C/subsystems/%1$s$i; mkdir $s
                  echo 0 > $s/attr_allow_any_host; echo 1 > $s/attr_cntlid_min; echo 100 > $s/attr_cntlid_max; echo s$i > $s/attr_serial
                  ln -s $C/hosts/%2$s $s/allowed_hosts/%2$s
                  mkdir $s/namespaces/1; u=$(printf '00000000-0000-0000-0000-%%012x' $i)
                  echo /dev/ram0 > $s/namespaces/1/device_path; echo $u > $s/namespaces/1/device_uuid
                  echo $u > $s/namespaces/1/device_nguid; echo 1 > $s/namespaces/1/ana_grpid
                  ln -s $s $C/ports/7/subsystems/%1$s$i
                  i=$((i+1))
                done
                """.formatted(subsystem, hostA, OBJECTS);
        String manySubsystemsGone = """
                C=/sys/kernel/config/nvmet; i=0
                while [ $i -lt %3$d ]; do
                  s=$C/subsystems/%1$s$i
                  rm $C/ports/7/subsystems/%1$s$i; rm $s/allowed_hosts/%2$s; rmdir $s/namespaces/1; rmdir $s
                  i=$((i+1))
                done
                rmdir $C/hosts/%2$s
                """.formatted(subsystem, hostA, OBJECTS) + portGone;
        // OBJECTS controllers on A, each with its namespace head: one connect to each of as many
        // subsystems B exports (their namespaces share B's RAM disk: nvmet opens it shared)
        String importNqn = "nqn.2024-01.io.dnv:ld:lat-import";
        run(b, """
                C=/sys/kernel/config/nvmet; i=0
                while [ $i -lt %2$d ]; do
                  s=$C/subsystems/%1$s$i; mkdir $s
                  echo 1 > $s/attr_allow_any_host; echo 1 > $s/attr_cntlid_min; echo 60000 > $s/attr_cntlid_max
                  mkdir $s/namespaces/1; u=$(printf '00000000-0000-0000-0001-%%012x' $i)
                  echo /dev/ram0 > $s/namespaces/1/device_path; echo $u > $s/namespaces/1/device_uuid
                  echo $u > $s/namespaces/1/device_nguid; echo 1 > $s/namespaces/1/enable
                  ln -s $s $C/ports/1/subsystems/%1$s$i
                  i=$((i+1))
                done
                """.formatted(importNqn, OBJECTS));
        String oneImport = script(k -> k.nvmeConnect(new NvmeConnection("tcp", GuestPair.ADDRESS_B, 4420, importNqn + "XNUMX", hostA,
                Names.hostId(hostA), new ConnectTimeouts(5, 30, 1, 5))));
        String manyImports = "i=0\nwhile [ $i -lt " + OBJECTS + " ]; do\n(\n" + oneImport.replace("XNUMX", "'\"$i\"'")
                + "\n)\ni=$((i+1))\ndone";
        String observeHost = script(LinuxKernel::observeHost, List.of("/dev/ram0"));

        List<Kind> kinds = List.of(
                new Kind("dm_create", "", none, linear, removeLinear, ""),
                new Kind("dm_load", "", linear, i -> script(k -> k.dmLoad("lat-" + i, "0 2048 linear /dev/ram1 " + (i * 2048L))),
                        removeLinear, ""),
                new Kind("dm_suspend", "", linear, i -> script(k -> k.dmSuspend("lat-" + i)), i -> "dmsetup resume lat-" + i
                        + "; dmsetup remove lat-" + i, ""),
                new Kind("dm_resume", "", i -> linear.apply(i) + "\ndmsetup suspend lat-" + i, i -> script(k -> k.dmResume("lat-" + i)),
                        removeLinear, ""),
                new Kind("dm_remove", "", linear, i -> script(k -> k.dmRemove("lat-" + i)), none, ""),
                new Kind("dm_status", "", linear, i -> script(k -> k.dmStatus("lat-" + i)), removeLinear, ""),
                new Kind("dm_create_raid1", "", i -> raidParts, i -> script(k -> k.dmCreate("lat-r",
                        "0 16384 raid raid1 2 0 nosync 2 /dev/mapper/lat-m0 /dev/mapper/lat-d0 /dev/mapper/lat-m1 /dev/mapper/lat-d1")),
                        i -> "dmsetup remove lat-r\n" + raidPartsGone, ""),
                new Kind("dm_create_thin_pool", "", i -> poolParts, i -> script(k -> k.dmCreate("lat-p", poolTable)),
                        i -> "dmsetup remove lat-p; dmsetup remove lat-pm; dmsetup remove lat-pd", ""),
                new Kind("dm_message", poolParts + "\ndmsetup create lat-p --table \"" + poolTable + "\"", none,
                        i -> script(k -> k.dmMessage("lat-p", 0, "create_thin " + i)), i -> "dmsetup message lat-p 0 \"delete_thin " + i + "\"",
                        "dmsetup remove lat-p; dmsetup remove lat-pm; dmsetup remove lat-pd"),
                new Kind("configfs_mkdir", "", none, sub, subGone, ""),
                new Kind("configfs_rmdir", "", sub, i -> script(k -> k.nvmetSubsystemRemove(subsystem + i)), none, ""),
                new Kind("configfs_write", port + "\nmkdir /sys/kernel/config/nvmet/ports/7/ana_groups/2", none,
                        i -> script(k -> k.nvmetAnaState(7, 2, i % 2 == 0 ? AnaState.OPTIMIZED : AnaState.INACCESSIBLE)), none,
                        "rmdir /sys/kernel/config/nvmet/ports/7/ana_groups/2; " + portGone),
                new Kind("configfs_link", script(k -> k.nvmetHostCreate(hostA)), sub, i -> script(k -> k.nvmetAllowHost(subsystem + i, hostA)),
                        i -> "rm /sys/kernel/config/nvmet/subsystems/" + subsystem + i + "/allowed_hosts/" + hostA + "\n" + subGone.apply(i),
                        "rmdir /sys/kernel/config/nvmet/hosts/" + hostA),
                new Kind("configfs_port_link", port, sub, i -> script(k -> k.nvmetLink(7, subsystem + i)),
                        i -> "rm /sys/kernel/config/nvmet/ports/7/subsystems/" + subsystem + i + "\n" + subGone.apply(i), portGone),
                new Kind("configfs_port_unlink", port, i -> sub.apply(i) + "\n" + script(k -> k.nvmetLink(7, subsystem + i)),
                        i -> script(k -> k.nvmetUnlink(7, subsystem + i)), subGone, portGone),
                new Kind("namespace_enable", "", ns, i -> script(k -> k.nvmetNamespaceEnable(subsystem + i, 1, true)), nsGone, ""),
                new Kind("namespace_disable", "", i -> ns.apply(i) + "\n" + script(k -> k.nvmetNamespaceEnable(subsystem + i, 1, true)),
                        i -> script(k -> k.nvmetNamespaceEnable(subsystem + i, 1, false)), nsGone, ""),
                new Kind("nvme_connect", "", none, i -> connect, i -> deleteLast, ""),
                new Kind("nvme_disconnect", "", i -> connect + " > /dev/null; sleep 0.2", i -> deleteLast.replace("; sleep 0.2; true", ""),
                        i -> "sleep 0.2", ""),
                new Kind("tcp_probe", "", none, i -> script(k -> k.answers(connection, Duration.ofSeconds(3))), none, ""),
                new Kind("observe_host", "", none, i -> script(LinuxKernel::observeHost, List.of("/dev/ram0")), none, ""),
                new Kind("observe_empty", "", none, i -> observe, none, ""),
                new Kind("observe_40_devices", forty, none, i -> observe, none, fortyGone),
                new Kind("observe_named_1_of_40", forty, none, i -> observeOne, none, fortyGone),
                new Kind("observe_named_40_of_40", forty, none, i -> observeForty, none, fortyGone),
                new Kind("observe_many_subsystems", manySubsystems, none, i -> observe, none, manySubsystemsGone),
                new Kind("observe_host_many_controllers", manyImports, none, i -> observeHost, none, deleteLast));

        double factor = slowdown(a);
        double base = clockRead(a);
        System.out.printf("LATENCY baseline (one clock read, subtracted) guest_ms=%.2f%n", base);
        for (Kind k : kinds) {
            List<Double> ms = timings(a, k);
            if (ms.isEmpty()) {
                System.out.printf("LATENCY %s not measured: every repetition failed%n", k.name());
                continue;
            }
            double m = Math.max(0, median(ms) - base);
            medians.put(k.name(), m);
            System.out.printf("LATENCY %s guest_ms=%.2f corrected_ms=%.2f reps=%d%n", k.name(), m, m / factor, ms.size());
        }
        assertTrue(medians.size() == kinds.size(), "kinds not measured: " + medians.keySet());
        System.out.printf("LATENCY observe_per_device guest_ms=%.3f corrected_ms=%.3f%n",
                (medians.get("observe_40_devices") - medians.get("observe_empty")) / 40,
                (medians.get("observe_40_devices") - medians.get("observe_empty")) / 40 / factor);
        double namedPerDevice = (medians.get("observe_named_40_of_40") - medians.get("observe_named_1_of_40")) / 39;
        System.out.printf("LATENCY observe_named_per_device guest_ms=%.3f corrected_ms=%.3f%n", namedPerDevice, namedPerDevice / factor);
        System.out.printf("LATENCY observe_named_no_device guest_ms=%.2f corrected_ms=%.2f%n",
                medians.get("observe_named_1_of_40") - namedPerDevice, (medians.get("observe_named_1_of_40") - namedPerDevice) / factor);
        double perSubsystem = (medians.get("observe_many_subsystems") - medians.get("observe_empty")) / OBJECTS;
        System.out.printf("LATENCY observe_per_subsystem guest_ms=%.3f corrected_ms=%.3f%n", perSubsystem, perSubsystem / factor);
        double perController = (medians.get("observe_host_many_controllers") - medians.get("observe_host")) / OBJECTS;
        System.out.printf("LATENCY observe_per_controller guest_ms=%.3f corrected_ms=%.3f%n", perController, perController / factor);
        assertTrue(medians.values().stream().allMatch(v -> v > 0), "a kind measured nothing: " + medians);
    }

    /** Runs the kind's repetitions in the guest and returns every kept timing in ms. */
    private List<Double> timings(GuestChannel guest, Kind k) {
        StringBuilder s = new StringBuilder("export DM_DISABLE_UDEV=1\n").append(NOW).append("mkdir -p /tmp/lat\n");
        s.append(quiet(k.once()));
        for (int i = 0; i < REPS + WARMUP; i++) {
            s.append(quiet(k.setup().apply(i)));
            s.append("cat > /tmp/lat/op.sh <<'DNV_LAT_OP'\n").append(k.op().apply(i)).append("\nDNV_LAT_OP\n");
            s.append("now; s=$T; sh /tmp/lat/op.sh > /tmp/lat/out 2> /tmp/lat/err; rc=$?; now\n");
            s.append("[ $rc = 0 ] && echo \"T ").append(i).append(" $((T - s))\" || echo \"FAIL ").append(i)
                    .append(" $(head -c 300 /tmp/lat/err | tr '\\n' ' ')\"\n");
            s.append(quiet(k.teardown().apply(i)));
        }
        s.append(quiet(k.after()));
        String out = run(guest, s.toString());
        List<Double> ms = new ArrayList<>();
        for (String line : out.split("\n")) {
            String[] f = line.split(" ");
            if (f[0].equals("T") && Integer.parseInt(f[1]) >= WARMUP) {
                ms.add(Long.parseLong(f[2]) / 1e6);
            } else if (f[0].equals("FAIL")) {
                System.out.println("LATENCY " + k.name() + " failed: " + line);
            }
        }
        return ms;
    }

    /** Untimed steps run in a subshell: the recorded scripts set -e, which must not end the loop. */
    private static String quiet(String script) {
        return script.isBlank() ? "" : "(\n" + script + "\n) > /dev/null 2>&1\n";
    }

    /** What one read of the clock costs: subtracted from every timing. */
    private double clockRead(GuestChannel guest) {
        StringBuilder s = new StringBuilder(NOW);
        for (int i = 0; i < REPS; i++) {
            s.append("now; s=$T; now; echo $((T - s))\n");
        }
        return median(Arrays.stream(run(guest, s.toString()).trim().split("\n")).map(v -> Long.parseLong(v.trim()) / 1e6).toList());
    }

    /**
     * The same static busybox, the same work, in the guest and on the host. Median of five each.
     * Returns the fork/exec factor, the one the corrected figures use.
     */
    private double slowdown(GuestChannel guest) throws IOException, InterruptedException {
        Map<String, String> loops = new LinkedHashMap<>();
        loops.put("cpu_awk", "busybox awk 'BEGIN{for(i=0;i<300000;i++)s+=i*i}'");
        loops.put("syscall_dd", "busybox dd if=/dev/zero of=/dev/null bs=1 count=100000 2>/dev/null");
        loops.put("fork_exec", "i=0; while [ $i -lt 100 ]; do BB true; i=$((i+1)); done");
        double forkExec = 0;
        for (Map.Entry<String, String> l : loops.entrySet()) {
            String inGuest = l.getValue().replace("BB", "/bin/busybox");
            StringBuilder s = new StringBuilder(NOW);
            for (int i = 0; i < 5; i++) {
                s.append("now; s=$T; ").append(inGuest).append("; now; echo $((T - s))\n");
            }
            double[] g = Arrays.stream(run(guest, s.toString()).trim().split("\n")).mapToDouble(v -> Long.parseLong(v.trim()) / 1e6).toArray();
            double[] h = new double[5];
            Path bb = Path.of(BUSYBOX);
            String onHost = l.getValue().replace("busybox ", bb + " ").replace("BB", bb.toString());
            for (int i = 0; i < 5; i++) {
                long t = System.nanoTime();
                Process p = new ProcessBuilder(bb.toString(), "sh", "-c", onHost).redirectErrorStream(true).start();
                p.getInputStream().readAllBytes();
                p.waitFor();
                // the host side also starts one sh; the guest's loop runs in a shell already running
                h[i] = (System.nanoTime() - t) / 1e6;
            }
            double gm = median(Arrays.stream(g).boxed().toList());
            double hm = median(Arrays.stream(h).boxed().toList());
            System.out.printf("SLOWDOWN %s guest_ms=%.1f host_ms=%.1f factor=%.1f%n", l.getKey(), gm, hm, gm / hm);
            if (l.getKey().equals("fork_exec")) {
                forkExec = gm / hm;
            }
        }
        assertTrue(Files.exists(Path.of(BUSYBOX)));
        return forkExec;
    }

    static double median(List<Double> values) {
        assertTrue(!values.isEmpty(), "no timings");
        List<Double> sorted = values.stream().sorted().toList();
        int n = sorted.size();
        return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
    }

    static String run(CommandRunner guest, String script) {
        CommandRunner.Result r = guest.run(script, TIMEOUT);
        if (r.timedOut() || r.exitCode() != 0) {
            throw new AssertionError("guest command failed (" + r.exitCode() + (r.timedOut() ? ", timed out" : "") + "): "
                    + r.stderr() + "\n" + r.stdout());
        }
        return r.stdout();
    }
}
