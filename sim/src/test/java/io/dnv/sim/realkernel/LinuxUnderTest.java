package io.dnv.sim.realkernel;

import io.dnv.node.kernel.Kernel;
import io.dnv.node.linux.CommandRunner;
import io.dnv.node.linux.LinuxKernel;

import java.time.Duration;
import java.util.Base64;
import java.util.List;

/** Linux in a test guest, driven through its command channel. */
final class LinuxUnderTest implements KernelUnderTest {

    private static final Duration TIMEOUT = Duration.ofSeconds(60);

    private final CommandRunner guest;
    private final String address;
    private final LinuxKernel kernel;
    private final int diskMib;

    LinuxUnderTest(CommandRunner guest, String address, List<String> disks, int diskMib) {
        this.guest = guest;
        this.address = address;
        this.kernel = new LinuxKernel(guest, TIMEOUT, disks);
        this.diskMib = diskMib;
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
    public void write(String device, long offset, byte[] bytes) {
        check(guest.run("set -e\nbase64 -d > /tmp/w <<'EOF'\n" + Base64.getMimeEncoder().encodeToString(bytes) + "\nEOF\n"
                + GuestIo.write("/tmp/w", device, offset), TIMEOUT), "write " + device);
    }

    @Override
    public String md5(String device, long offset, int length) {
        CommandRunner.Result r = guest.run(GuestIo.md5(device, offset, length), TIMEOUT);
        check(r, "read " + device);
        return r.stdout().split(" ")[0];
    }

    @Override
    public void reset() {
        check(guest.run(RESET.replace("DISK_MIB", Integer.toString(diskMib)), Duration.ofSeconds(120)), "reset");
    }

    private static void check(CommandRunner.Result r, String what) {
        if (!r.ok()) {
            throw new IllegalStateException(what + " failed in the guest: " + r.stderr() + r.stdout());
        }
    }

    /** Tears everything down in the only order the kernel allows, then zeroes the RAM disks. */
    private static final String RESET = """
            export DM_DISABLE_UDEV=1
            C=/sys/kernel/config/nvmet
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
