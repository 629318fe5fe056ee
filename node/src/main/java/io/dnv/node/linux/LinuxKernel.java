package io.dnv.node.linux;

import io.dnv.core.kernel.AnaGroups;
import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.Nqn;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.node.kernel.Kernel;
import io.dnv.node.kernel.KernelException;
import io.dnv.core.kernel.ObservedKernel;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

import static io.dnv.node.linux.Shell.q;

/**
 * The Kernel port on Linux: device-mapper through dmsetup, nvmet through configfs, NVMe-oF
 * host connections through /dev/nvme-fabrics and sysfs (nvme-cli 2.3 lacks fast_io_fail_tmo
 * and refuses some valid connects), namespaces found through sysfs, never udev links.
 * Every call is one script with a timeout; a refusal carries what the kernel said.
 */
public final class LinuxKernel implements Kernel {

    static final String NVMET = "/sys/kernel/config/nvmet";
    private static final String PRELUDE = "export DM_DISABLE_UDEV=1; set -e\n";

    private final CommandRunner runner;
    private final Duration timeout;
    private final List<String> disks;

    /** {@code disks}: the physical disks this node serves, reported with their device numbers. */
    public LinuxKernel(CommandRunner runner, Duration timeout, List<String> disks) {
        this.runner = runner;
        this.timeout = timeout;
        this.disks = List.copyOf(disks);
    }

    @Override
    public ObservedKernel observe() {
        return look(ObservedKernelReader.script(disks), "observe");
    }

    /**
     * One script per {@link Kernel#NAMES_PER_LOOK} names: the first reads the nvmet and host sides,
     * the subsystems named and as many dm devices as fit; the others the rest of the dm devices.
     */
    @Override
    public ObservedKernel observe(java.util.Collection<String> dmNames, Optional<java.util.Collection<String>> subsystemNqns) {
        List<String> names = List.copyOf(dmNames);
        Optional<List<String>> nqns = subsystemNqns.map(List::copyOf);
        nqns.ifPresent(n -> {
            if (n.size() > NAMES_PER_LOOK) {
                throw new IllegalArgumentException(n.size() + " subsystems named in one look, at most " + NAMES_PER_LOOK);
            }
            n.forEach(LinuxKernel::nqn);
        });
        int first = Math.min(names.size(), NAMES_PER_LOOK - nqns.map(List::size).orElse(0));
        ObservedKernel look = look(ObservedKernelReader.script(disks, names.subList(0, first), nqns), "observe dm devices");
        List<ObservedKernel.Dm> devices = new java.util.ArrayList<>(look.dmDevices());
        for (int from = first; from < names.size(); from += NAMES_PER_LOOK) {
            devices.addAll(look(ObservedKernelReader.devicesScript(names.subList(from, Math.min(names.size(), from + NAMES_PER_LOOK))),
                    "observe dm devices").dmDevices());
        }
        return new ObservedKernel(devices, look.blockDevices(), look.ports(), look.subsystems(), look.hosts(), look.controllers(),
                look.bootId());
    }

    /** Runs a look's script: refused when it failed, or when dmsetup could not read a device it named. */
    private ObservedKernel look(String script, String operation) {
        CommandRunner.Result r = runner.run(script, timeout);
        java.util.Optional<String> failed = r.ok() ? ObservedKernelReader.failed(r.stdout()) : java.util.Optional.of(failure(r));
        if (failed.isPresent()) {
            throw new KernelException("kernel", operation, failed.get());
        }
        return ObservedKernelReader.parse(r.stdout());
    }

    @Override
    public HostSide observeHost() {
        CommandRunner.Result r = runner.run(ObservedKernelReader.hostScript(disks), timeout);
        if (!r.ok()) {
            throw new KernelException("kernel", "observe host side", failure(r));
        }
        ObservedKernel host = ObservedKernelReader.parse(r.stdout());
        return new HostSide(ObservedKernelReader.bootId(r.stdout()), host.blockDevices(), host.controllers());
    }

    @Override
    public List<ObservedKernel.Controller> observeControllers(java.util.Collection<String> names) {
        if (names.isEmpty()) {
            return List.of();
        }
        CommandRunner.Result r = runner.run(ObservedKernelReader.controllersScript(names), timeout);
        if (!r.ok()) {
            throw new KernelException("kernel", "observe controllers", failure(r));
        }
        return ObservedKernelReader.parse(r.stdout()).controllers();
    }

    @Override
    public Optional<String> dmStatus(String name) {
        CommandRunner.Result r = runner.run(PRELUDE + "dmsetup status " + q(name), timeout);
        if (!r.ok()) {
            if (r.stderr().contains("No such device")) {
                return Optional.empty();
            }
            throw new KernelException(name, "dmsetup status", failure(r));
        }
        return Optional.of(r.stdout().strip());
    }

    @Override
    public Set<String> capabilities() {
        return capabilities(run("kernel", "capabilities", CAPABILITIES_SCRIPT));
    }

    /** Each dm target module and the target type it registers, as `dmsetup targets` lists it. */
    private static final Map<String, String> DM_TARGETS = Map.of(
            "dm_raid", "raid", "dm_thin_pool", "thin-pool", "dm_clone", "clone");

    /**
     * The modules loaded, the device-mapper targets registered (built in or loaded) and the dm
     * target modules modprobe could load: device-mapper loads a target's module by itself at
     * the first table that names it (request_module "dm-&lt;type&gt;"), so an installed module is
     * as good as a loaded one.
     */
    static final String CAPABILITIES_SCRIPT = "ls /sys/module\necho '#targets'\n(dmsetup targets 2>/dev/null || true)\n"
            + "echo '#loadable'\nfor m in " + String.join(" ", new TreeSet<>(DM_TARGETS.keySet())) + "; do "
            + "{ modprobe -n -q $m 2>/dev/null && echo $m; } || true; done\n";

    /** What {@link #CAPABILITIES_SCRIPT} printed, as capabilities ("dm-clone" for module dm_clone). */
    static Set<String> capabilities(String printed) {
        Set<String> modules = new TreeSet<>();
        Set<String> targets = new TreeSet<>();
        Set<String> section = modules;
        for (String line : printed.split("\n")) {
            String word = line.strip().split("\\s+")[0];
            switch (word) {
                case "#targets" -> section = targets;
                case "#loadable" -> section = modules;
                case "" -> { }
                default -> section.add(word);
            }
        }
        Set<String> caps = new TreeSet<>();
        if (modules.contains("nvmet_tcp") && modules.contains("nvme_tcp")) {
            caps.add("transport:tcp");
        }
        if (modules.contains("nvmet_rdma") && modules.contains("nvme_rdma")) {
            caps.add("transport:rdma");
        }
        DM_TARGETS.forEach((module, target) -> {
            if (modules.contains(module) || targets.contains(target)) {
                caps.add(module.replace('_', '-'));
            }
        });
        return caps;
    }

    @Override
    public void dmCreate(String name, String table) {
        run(name, "dmsetup create", "dmsetup create " + q(name) + " <<'DNV_TABLE'\n" + table + "\nDNV_TABLE");
    }

    @Override
    public void dmLoad(String name, String table) {
        run(name, "dmsetup load", "dmsetup load " + q(name) + " <<'DNV_TABLE'\n" + table + "\nDNV_TABLE");
    }

    @Override
    public void dmSuspend(String name) {
        run(name, "dmsetup suspend", "dmsetup suspend " + q(name));
    }

    @Override
    public void dmResume(String name) {
        run(name, "dmsetup resume", "dmsetup resume " + q(name));
    }

    @Override
    public void dmRemove(String name) {
        run(name, "dmsetup remove", "dmsetup remove " + q(name));
    }

    @Override
    public String dmMessage(String name, long sector, String message) {
        return run(name, "dmsetup message " + message, "dmsetup message " + q(name) + " " + sector + " " + q(message));
    }

    /**
     * blkdiscard -z where util-linux has it; dd of zeroes elsewhere (busybox). Never a plain
     * discard. blkdiscard from util-linux 2.36 on opens the device exclusively unless forced, and
     * a free range of the disk is zeroed while dm devices over other ranges of it hold the disk:
     * forced where it knows the option (before 2.36 it neither has it nor opens exclusively).
     */
    @Override
    public void zeroOut(String devicePath, long offsetBytes, long lengthBytes) {
        String dd = offsetBytes % 4096 == 0 && lengthBytes % 4096 == 0
                ? "dd if=/dev/zero of=" + q(devicePath) + " bs=4096 seek=" + offsetBytes / 4096 + " count=" + lengthBytes / 4096
                : "dd if=/dev/zero of=" + q(devicePath) + " bs=512 seek=" + offsetBytes / 512 + " count=" + lengthBytes / 512;
        run(devicePath, "zero " + offsetBytes + "+" + lengthBytes,
                "help=$(blkdiscard --help 2>&1 || true)\n"
                        + "case $help in *--force*) force=-f ;; *) force= ;; esac\n"
                        + "case $help in *--zeroout*) blkdiscard $force -z -o " + offsetBytes + " -l " + lengthBytes + " "
                        + q(devicePath) + " ;; *) " + dd + " oflag=direct conv=notrunc 2>/dev/null ;; esac");
    }

    @Override
    public void nvmetPortCreate(NvmetPort port) {
        String dir = NVMET + "/ports/" + port.id();
        run("port " + port.id(), "nvmet port create", "mkdir " + dir + "\n"
                + "{ echo " + q(port.transport()) + " > " + dir + "/addr_trtype && echo " + q(port.addressFamily()) + " > " + dir
                + "/addr_adrfam && echo " + q(port.address()) + " > " + dir + "/addr_traddr && echo " + port.serviceId() + " > "
                + dir + "/addr_trsvcid; } || { rmdir " + dir + "; exit 1; }");
    }

    @Override
    public void nvmetPortRemove(int portId) {
        String dir = NVMET + "/ports/" + portId;
        run("port " + portId, "nvmet port remove",
                "for g in " + dir + "/ana_groups/*; do [ \"${g##*/}\" = " + AnaGroups.DEFAULT + " ] || rmdir \"$g\"; done\nrmdir " + dir);
    }

    @Override
    public void nvmetAnaGroupCreate(int portId, int group) {
        run("port " + portId + " ana group " + group, "nvmet ana group create", "mkdir " + NVMET + "/ports/" + portId + "/ana_groups/" + group);
    }

    @Override
    public void nvmetAnaGroupRemove(int portId, int group) {
        run("port " + portId + " ana group " + group, "nvmet ana group remove", "rmdir " + NVMET + "/ports/" + portId + "/ana_groups/" + group);
    }

    @Override
    public void nvmetAnaState(int portId, int group, AnaState state) {
        run("port " + portId + " ana group " + group, "nvmet ana state " + state.configfs(),
                "echo " + state.configfs() + " > " + NVMET + "/ports/" + portId + "/ana_groups/" + group + "/ana_state");
    }

    @Override
    public void nvmetHostCreate(String hostNqn) {
        run(hostNqn, "nvmet host create", "mkdir " + q(hostDir(hostNqn)));
    }

    @Override
    public void nvmetHostRemove(String hostNqn) {
        run(hostNqn, "nvmet host remove", "rmdir " + q(hostDir(hostNqn)));
    }

    @Override
    public void nvmetSubsystemCreate(String nqn, int cntlidMin, int cntlidMax, String serial) {
        String dir = q(subsystemDir(nqn));
        run(nqn, "nvmet subsystem create", "mkdir " + dir + "\n"
                + "{ echo 0 > " + dir + "/attr_allow_any_host && echo " + cntlidMin + " > " + dir + "/attr_cntlid_min && echo "
                + cntlidMax + " > " + dir + "/attr_cntlid_max && echo " + q(serial) + " > " + dir + "/attr_serial; } || { rmdir "
                + dir + "; exit 1; }");
    }

    @Override
    public void nvmetSubsystemRemove(String nqn) {
        run(nqn, "nvmet subsystem remove", "rmdir " + q(subsystemDir(nqn)));
    }

    @Override
    public void nvmetAllowAnyHost(String nqn, boolean allow) {
        run(nqn, "nvmet allow_any_host " + (allow ? 1 : 0),
                "echo " + (allow ? 1 : 0) + " > " + q(subsystemDir(nqn) + "/attr_allow_any_host"));
    }

    @Override
    public void nvmetAllowHost(String nqn, String hostNqn) {
        run(nqn, "nvmet allow host " + hostNqn, "ln -s " + q(hostDir(hostNqn)) + " "
                + q(subsystemDir(nqn) + "/allowed_hosts/" + hostNqn));
    }

    @Override
    public void nvmetDisallowHost(String nqn, String hostNqn) {
        run(nqn, "nvmet disallow host " + hostNqn, "rm " + q(subsystemDir(nqn) + "/allowed_hosts/" + nqn(hostNqn)));
    }

    /**
     * An existing namespace directory is written again, as the simulator does: nvmet refuses the
     * writes with EBUSY while it is enabled and takes them while it is disabled. Only a directory
     * made here is removed when a write is refused.
     */
    @Override
    public void nvmetNamespaceCreate(String nqn, int nsid, String devicePath, UUID uuid, String nguid, int anaGroup) {
        String dir = q(subsystemDir(nqn) + "/namespaces/" + nsid);
        run(nqn + " namespace " + nsid, "nvmet namespace create", "made=0; [ -d " + dir + " ] || { mkdir " + dir + "; made=1; }\n"
                + "{ echo " + q(devicePath) + " > " + dir + "/device_path && echo " + uuid + " > " + dir + "/device_uuid && echo "
                + nguid + " > " + dir + "/device_nguid && echo " + anaGroup + " > " + dir + "/ana_grpid; } || { [ $made = 0 ] || rmdir "
                + dir + "; exit 1; }");
    }

    @Override
    public void nvmetNamespaceEnable(String nqn, int nsid, boolean enable) {
        run(nqn + " namespace " + nsid, "nvmet namespace " + (enable ? "enable" : "disable"),
                "echo " + (enable ? 1 : 0) + " > " + q(subsystemDir(nqn) + "/namespaces/" + nsid + "/enable"));
    }

    @Override
    public void nvmetNamespaceAnaGroup(String nqn, int nsid, int group) {
        run(nqn + " namespace " + nsid, "nvmet namespace ana_grpid " + group,
                "echo " + group + " > " + q(subsystemDir(nqn) + "/namespaces/" + nsid + "/ana_grpid"));
    }

    @Override
    public void nvmetNamespaceRevalidate(String nqn, int nsid) {
        run(nqn + " namespace " + nsid, "nvmet namespace revalidate_size",
                "echo 1 > " + q(subsystemDir(nqn) + "/namespaces/" + nsid + "/revalidate_size"));
    }

    @Override
    public void nvmetNamespaceRemove(String nqn, int nsid) {
        String dir = q(subsystemDir(nqn) + "/namespaces/" + nsid);
        run(nqn + " namespace " + nsid, "nvmet namespace remove", "echo 0 > " + dir + "/enable\nrmdir " + dir);
    }

    @Override
    public void nvmetLink(int portId, String nqn) {
        run(nqn, "nvmet link port " + portId, "ln -s " + q(subsystemDir(nqn)) + " "
                + q(NVMET + "/ports/" + portId + "/subsystems/" + nqn));
    }

    @Override
    public void nvmetUnlink(int portId, String nqn) {
        run(nqn, "nvmet unlink port " + portId, "rm " + q(NVMET + "/ports/" + portId + "/subsystems/" + nqn(nqn)));
    }

    @Override
    public String nvmeConnect(NvmeConnection c) {
        nqn(c.subsystemNqn());
        nqn(c.hostNqn());
        String reply = run(c.key(), "nvme connect", "exec 4<>/dev/nvme-fabrics\necho " + q(FabricsOptions.of(c))
                + " >&4\nread -r r <&4\necho \"$r\"").trim();
        // "instance=3,cntlid=1"
        for (String kv : reply.split(",")) {
            if (kv.startsWith("instance=")) {
                return "nvme" + kv.substring("instance=".length());
            }
        }
        throw new KernelException(c.key(), "nvme connect", "unexpected answer from /dev/nvme-fabrics: " + reply);
    }

    /**
     * busybox's nc (the guests have no other; a server needs the busybox package): it connects,
     * runs {@code true} and closes, so it exits 0 once accepted; a refusal is an answer too. Its
     * {@code -w} bounds the connect in whole seconds. Without busybox (exit 127) the target counts
     * as answering: the connect is then the test, as it was before there was a probe, rather than
     * a target never tried again.
     */
    @Override
    public boolean answers(NvmeConnection c, Duration timeout) {
        if (!c.transport().equals("tcp")) {
            return true;
        }
        long seconds = Math.max(1, (timeout.toMillis() + 999) / 1000);
        CommandRunner.Result r = runner.run("busybox nc -w " + seconds + " " + q(c.address()) + " " + c.serviceId() + " -e true",
                Duration.ofSeconds(seconds).plus(this.timeout));
        return r.ok() || r.exitCode() == 127 || r.stderr().contains("Connection refused");
    }

    @Override
    public void nvmeDisconnect(String controller) {
        if (!controller.matches("nvme[0-9]+")) {
            throw new KernelException(controller, "nvme disconnect", "not a controller name");
        }
        run(controller, "nvme disconnect", "echo 1 > /sys/class/nvme/" + controller + "/delete_controller");
    }

    /** configfs nvmet/subsystems/&lt;nqn&gt;: only ever from an NQN, so never a path of its own. */
    private static String subsystemDir(String nqn) {
        return NVMET + "/subsystems/" + nqn(nqn);
    }

    private static String hostDir(String hostNqn) {
        return NVMET + "/hosts/" + nqn(hostNqn);
    }

    /**
     * An NQN about to become a configfs name or a fabrics option, refused before any script is
     * built: with a '/' it would be a path (".." leaves configfs, and this runs as root), with a
     * ',' another option.
     */
    private static String nqn(String name) {
        if (!Nqn.valid(name)) {
            throw new KernelException(String.valueOf(name), "nqn check", "not an NQN (" + Nqn.RULE + "); nothing was run");
        }
        return name;
    }

    private String run(String object, String operation, String script) {
        CommandRunner.Result r = runner.run(PRELUDE + script, timeout);
        if (!r.ok()) {
            throw new KernelException(object, operation, failure(r));
        }
        return r.stdout();
    }

    private static String failure(CommandRunner.Result r) {
        if (r.timedOut()) {
            return "timed out (it may still complete): " + r.stderr().trim();
        }
        String err = r.stderr().trim();
        return err.isEmpty() ? "exit code " + r.exitCode() : err;
    }
}
