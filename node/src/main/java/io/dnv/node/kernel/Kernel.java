package io.dnv.node.kernel;

import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.kernel.ObservedKernel;

import java.util.List;
import java.util.Set;
import java.util.UUID;

/**
 * The operations a node agent performs on its kernel, one per dmsetup command, configfs write
 * or sysfs write. Every call either does what it says or throws {@link KernelException} with
 * the object, the operation and the kernel's own message; nothing is retried here.
 */
public interface Kernel {

    ObservedKernel observe();

    /**
     * The kernel as {@link #observe} shows it, but for device-mapper only the devices of these
     * names that exist, and for nvmet only the subsystems of these NQNs that exist (every one when
     * {@code subsystemNqns} is empty; ports and hosts always): a look at what changed since a whole
     * look ({@code KernelLooks}), where a node holds tens of thousands of dm devices and thousands
     * of subsystems. At most {@link #NAMES_PER_LOOK} NQNs. The host side is read whole.
     */
    ObservedKernel observe(java.util.Collection<String> dmNames, java.util.Optional<java.util.Collection<String>> subsystemNqns);

    /**
     * How many names (dm devices and subsystems) one script of a named look asks for: Linux bounds
     * an argument (the script {@code sh -c} runs) at 128 KiB, and a dm name at 127 bytes. More dm
     * names take more scripts, each charged as one look.
     */
    int NAMES_PER_LOOK = 800;

    /**
     * The NVMe host side alone (controllers, and block devices: disks and namespace heads), for a
     * second look right after connecting: nothing else changes when a host connects, and a node
     * holds thousands of dm devices. This default reads everything, and knows no boot.
     */
    default HostSide observeHost() {
        ObservedKernel all = observe();
        return new HostSide("", all.blockDevices(), all.controllers());
    }

    /**
     * {@code bootId}: which boot of the machine this is (Linux: /proc/sys/kernel/random/boot_id),
     * empty when unknown. A kernel that booted again holds none of the objects a look before
     * the boot saw.
     */
    record HostSide(String bootId, List<ObservedKernel.BlockDevice> blockDevices, List<ObservedKernel.Controller> controllers) {}

    /**
     * The host-side controllers of these names (/sys/class/nvme/&lt;name&gt;) that exist, as
     * {@link #observeHost} would show them: a look at a few controllers many times a second (the
     * witness imports), where a node holds thousands of others. A name may have been reused by
     * another controller since it was learnt: check the connection it serves.
     */
    List<ObservedKernel.Controller> observeControllers(java.util.Collection<String> names);

    /**
     * What this kernel can do, for placement: "transport:tcp" (nvmet and nvme host over TCP),
     * "transport:rdma", and the device-mapper targets present ("dm-raid", "dm-thin-pool",
     * "dm-clone" — not built in Debian's kernel).
     */
    Set<String> capabilities();

    // device-mapper: tables as dmsetup takes them, one target per line, devices by path or major:minor

    void dmCreate(String name, String table);

    /**
     * `dmsetup status NAME`: one device's status, asking no other device. `dmsetup status` of
     * every device does not answer while a thin pool's metadata I/O is held (the pool commits
     * first), which is exactly when a raid1 side below it has to be looked at.
     */
    java.util.Optional<String> dmStatus(String name);

    /** Load an inactive table; it goes live at the next resume. */
    void dmLoad(String name, String table);

    void dmSuspend(String name);

    void dmResume(String name);

    void dmRemove(String name);

    String dmMessage(String name, long sector, String message);

    // block devices

    /** Write zeroes (not discard) over a byte range of a block device. */
    void zeroOut(String devicePath, long offsetBytes, long lengthBytes);

    // nvmet (target side, configfs)

    /** mkdir ports/&lt;id&gt; and set its address; ANA group 1 exists from then on. */
    void nvmetPortCreate(NvmetPort port);

    void nvmetPortRemove(int portId);

    void nvmetAnaGroupCreate(int portId, int group);

    void nvmetAnaGroupRemove(int portId, int group);

    void nvmetAnaState(int portId, int group, AnaState state);

    void nvmetHostCreate(String hostNqn);

    void nvmetHostRemove(String hostNqn);

    /** mkdir subsystems/&lt;nqn&gt; with attr_allow_any_host 0, the cntlid range and serial. */
    void nvmetSubsystemCreate(String nqn, int cntlidMin, int cntlidMax, String serial);

    void nvmetSubsystemRemove(String nqn);

    void nvmetAllowAnyHost(String nqn, boolean allow);

    void nvmetAllowHost(String nqn, String hostNqn);

    void nvmetDisallowHost(String nqn, String hostNqn);

    /** mkdir namespaces/&lt;nsid&gt; with device_path, device_uuid, device_nguid, ana_grpid; left disabled. */
    void nvmetNamespaceCreate(String nqn, int nsid, String devicePath, UUID uuid, String nguid, int anaGroup);

    void nvmetNamespaceEnable(String nqn, int nsid, boolean enable);

    /**
     * Write namespaces/&lt;nsid&gt;/ana_grpid, enabled or not: the namespace moves to that group
     * and the subsystem's hosts are told (an ANA change AEN), so they see the new group's state
     * without reconnecting. Refused (EINVAL) outside 1..128; see {@link io.dnv.core.kernel.AnaGroups}
     * for what 6.1 stores for 128.
     */
    void nvmetNamespaceAnaGroup(String nqn, int nsid, int group);

    /**
     * Write namespaces/&lt;nsid&gt;/revalidate_size: nvmet reads its device's size again and tells
     * connected hosts (an extend does this after the device grew). Refused (EINVAL) while disabled.
     */
    void nvmetNamespaceRevalidate(String nqn, int nsid);

    void nvmetNamespaceRemove(String nqn, int nsid);

    void nvmetLink(int portId, String nqn);

    void nvmetUnlink(int portId, String nqn);

    // NVMe-oF host side

    /**
     * Whether the target of {@code connection} answers a TCP connect within {@code timeout}, by
     * accepting or refusing it: a probe from userspace for a target a connect could not reach
     * lately. A connect that gets no answer holds every other connect of this kernel for its SYN
     * timeout (one mutex for /dev/nvme-fabrics); a probe that gets none holds nothing. Only TCP
     * is probed: another transport answers true, and its connect is the test.
     */
    boolean answers(NvmeConnection connection, java.time.Duration timeout);

    /** Connect through /dev/nvme-fabrics; returns the controller name (nvmeX). */
    String nvmeConnect(NvmeConnection connection);

    /** sysfs delete_controller. */
    void nvmeDisconnect(String controller);
}
