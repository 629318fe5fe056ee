package io.dnv.sim.realkernel;

import io.dnv.node.kernel.Kernel;
import io.dnv.node.linux.CommandRunner;
import io.dnv.node.linux.LinuxKernel;
import io.dnv.sim.vm.GuestIo;

import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** Linux in a test guest, driven through its command channel. */
final class LinuxUnderTest implements KernelUnderTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);
    private static final String PATTERNS = "/tmp/pat";

    private final CommandRunner guest;
    private final String address;
    private final LinuxKernel kernel;
    private final int diskMib;
    private final LinuxUnderTest peer;
    /** Which guest made write #N's bytes in this case, and how many; shared with the peer. */
    private final Map<Long, Made> made;

    private record Made(LinuxUnderTest guest, int length) {}
    /** The peer was handed out since its last reset: it may hold connections to this kernel. */
    private boolean peerUsed;

    /** {@code peer}: the other guest, or null for the peer itself. */
    LinuxUnderTest(CommandRunner guest, String address, List<String> disks, int diskMib, LinuxUnderTest peer) {
        this.guest = guest;
        this.address = address;
        this.kernel = new LinuxKernel(guest, TIMEOUT, disks);
        this.diskMib = diskMib;
        this.peer = peer;
        this.made = peer == null ? new HashMap<>() : peer.made;
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
    public KernelUnderTest peer() {
        if (peer == null) {
            throw new IllegalStateException("the peer has no peer of its own");
        }
        peerUsed = true;
        return peer;
    }

    @Override
    public void write(String device, long offset, long seed, int length) throws IoFailed {
        CommandRunner.Result r = guest.run("set -e\n" + make(seed, length) + GuestIo.write(PATTERNS + "/" + seed, device, offset), TIMEOUT);
        ioResult(r, "write " + device);
    }

    /**
     * The script that makes write #seed's bytes in this guest, the first time in a case: random
     * bytes made in the guest, because bytes sent in through the command channel cost seconds per MiB.
     */
    private String make(long seed, int length) {
        Made m = made.get(seed);
        if (m != null && (m.guest != this || m.length != length)) {
            throw new IllegalStateException("write #" + seed + " was made by the other guest or with another length");
        }
        made.put(seed, new Made(this, length));
        return m != null ? "" : "mkdir -p " + PATTERNS + "\nhead -c " + length + " /dev/urandom > " + PATTERNS + "/" + seed + "\n";
    }

    /** Computed in the guest that made the writes described: a description spanning both guests is not supported. */
    @Override
    public String md5Of(Bytes expected) {
        Set<LinuxUnderTest> where = new HashSet<>();
        for (long seed : expected.seeds()) {
            Made m = made.get(seed);
            if (m == null) {
                throw new IllegalStateException("write #" + seed + " was never made in this case");
            }
            where.add(m.guest);
        }
        if (where.size() > 1) {
            throw new IllegalStateException(expected.shown() + " spans writes made by both guests");
        }
        LinuxUnderTest at = where.isEmpty() ? this : where.iterator().next();
        CommandRunner.Result r = at.guest.run(expected.shell(PATTERNS) + " | md5sum", TIMEOUT);
        check(r, "md5 of " + expected.shown());
        return r.stdout().split(" ")[0];
    }

    @Override
    public String md5(String device, long offset, int length) throws IoFailed {
        CommandRunner.Result r = guest.run(GuestIo.md5(device, offset, length), TIMEOUT);
        ioResult(r, "read " + device);
        return r.stdout().split(" ")[0];
    }

    /**
     * dd runs in the background with its own pid recorded (so reset can stop it) and leaves its
     * exit status and stderr in /tmp/bg: a write held by a suspended device must not hold the
     * command channel.
     */
    @Override
    public void startWrite(String tag, String device, long offset, long seed, int length) {
        String f = "/tmp/bg/" + tag;
        check(guest.run("set -e\nmkdir -p /tmp/bg\nrm -f " + f + ".rc\n" + make(seed, length)
                + "( set +e; " + GuestIo.dd(PATTERNS + "/" + seed, device, offset) + " 2>" + f + ".err & echo $! > " + f + ".pid; wait $!; echo $? > "
                + f + ".rc.part; mv " + f + ".rc.part " + f + ".rc ) </dev/null >/dev/null 2>&1 &\n", TIMEOUT), "start write " + tag);
    }

    @Override
    public String awaitWrite(String tag, Duration within) throws InterruptedException {
        String f = "/tmp/bg/" + tag;
        long deadline = System.nanoTime() + within.toNanos();
        while (true) {
            CommandRunner.Result r = guest.run("[ -f " + f + ".rc ] || exit 0\necho rc=$(cat " + f + ".rc)\ncat " + f + ".err >&2", TIMEOUT);
            check(r, "await write " + tag);
            String out = r.stdout().trim();
            if (out.equals("rc=0")) {
                return "ok";
            }
            if (out.startsWith("rc=")) {
                return "failed " + errnoOfDd(r).orElseThrow(() -> new IllegalStateException("write " + tag + " failed without an errno: " + r.stderr()));
            }
            if (System.nanoTime() > deadline) {
                return "pending";
            }
            Thread.sleep(100);
        }
    }

    @Override
    public void reset() {
        made.clear();
        if (peerUsed) {
            peer.reset();
            peerUsed = false;
        }
        check(guest.run(RESET.replace("DISK_MIB", Integer.toString(diskMib)), Duration.ofSeconds(120)), "reset");
    }

    /** A dd the kernel failed names the errno; any other failure is the test bed's, not the kernel's. */
    private static void ioResult(CommandRunner.Result r, String what) throws IoFailed {
        if (r.ok()) {
            return;
        }
        if (!r.timedOut()) {
            Optional<String> errno = errnoOfDd(r);
            if (errno.isPresent()) {
                throw new IoFailed(errno.get(), r.stderr().trim());
            }
        }
        throw new IllegalStateException(what + " failed in the guest (exit " + r.exitCode() + (r.timedOut() ? ", timed out" : "")
                + "): " + r.stderr() + r.stdout());
    }

    private static Optional<String> errnoOfDd(CommandRunner.Result r) {
        return r.stderr().lines().filter(l -> l.startsWith("dd: error ")).findFirst().flatMap(Errnos::of);
    }

    private static void check(CommandRunner.Result r, String what) {
        if (!r.ok()) {
            throw new IllegalStateException(what + " failed in the guest: " + r.stderr() + r.stdout());
        }
    }

    /**
     * Stops background writers, tears everything down in the only order the kernel allows, then
     * zeroes the RAM disks.
     */
    private static final String RESET = """
            export DM_DISABLE_UDEV=1
            C=/sys/kernel/config/nvmet
            for p in /tmp/bg/*.pid; do [ -f "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null; done; rm -rf /tmp/bg /tmp/pat
            for c in /sys/class/nvme/nvme*; do [ -e "$c/delete_controller" ] && echo 1 > "$c/delete_controller"; done
            i=0; while ls /sys/class/nvme/ 2>/dev/null | grep -q nvme && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
            for p in $C/ports/*; do
              [ -d "$p" ] || continue
              for s in "$p"/subsystems/*; do [ -L "$s" ] && rm "$s"; done
              for g in "$p"/ana_groups/*; do [ "${g##*/}" = 1 ] || rmdir "$g"; done
              rmdir "$p"
            done
            for s in $C/subsystems/*; do
              [ -d "$s" ] || continue
              for h in "$s"/allowed_hosts/*; do [ -L "$h" ] && rm "$h"; done
              for n in "$s"/namespaces/*; do [ -d "$n" ] && { echo 0 > "$n/enable"; rmdir "$n"; }; done
              rmdir "$s"
            done
            for h in $C/hosts/*; do [ -d "$h" ] && rmdir "$h"; done
            i=0
            while dmsetup ls 2>/dev/null | grep -qv 'No devices' && [ $i -lt 20 ]; do
              for d in $(dmsetup ls | awk '{print $1}'); do dmsetup resume "$d" 2>/dev/null; dmsetup remove "$d" 2>/dev/null; done
              i=$((i+1))
            done
            dmsetup ls | grep -qv 'No devices' && { echo "dm devices left: $(dmsetup ls)" >&2; exit 1; }
            for r in /dev/ram[0-9]*; do dd if=/dev/zero of="$r" bs=1M count=DISK_MIB oflag=direct 2>/dev/null; blockdev --flushbufs "$r"; done
            true
            """;
}
