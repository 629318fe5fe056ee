package io.dnv.node.sim.nvme;

import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.kernel.ObservedKernel;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static io.dnv.node.sim.nvme.World.*;
import static org.junit.jupiter.api.Assertions.*;

class NvmetConfigfsTest {

    private final World w = new World();
    private final World.Kernel dn = w.kernel("dn");
    private final Nvmet t = dn.nvmet();

    @Test
    void subsystemIsCreatedWithAllowAnyHostOff() {
        t.subsystemCreate(LD, 1, 99, "sn1");
        ObservedKernel.Subsystem s = t.subsystems().get(0);
        assertFalse(s.allowAnyHost());
        assertEquals(List.of(), s.allowedHosts());
        assertEquals("sn1", s.serial());
        assertEquals(1, s.cntlidMin());
        assertEquals(99, s.cntlidMax());
    }

    @Test
    void allowedHostIsRefusedWhileAllowAnyHostIsSet() {
        t.subsystemCreate(LD, 1, 99, "sn1");
        t.hostCreate(CN_A);
        t.allowAnyHost(LD, true);
        refused(Errno.EINVAL, () -> t.allowHost(LD, CN_A));
        assertTrue(t.dmesg().get(0).endsWith("nvmet: can't add hosts when allow_any_host is set!"));
        assertEquals(List.of(), t.subsystems().get(0).allowedHosts());
    }

    @Test
    void allowAnyHostIsRefusedWhileHostsAreListed() {
        t.subsystemCreate(LD, 1, 99, "sn1");
        t.hostCreate(CN_A);
        t.allowHost(LD, CN_A);
        refused(Errno.EINVAL, () -> t.allowAnyHost(LD, true));
        assertFalse(t.subsystems().get(0).allowAnyHost());
    }

    @Test
    void allowedHostLinkNeedsTheHostsEntry() {
        t.subsystemCreate(LD, 1, 99, "sn1");
        refused(Errno.ENOENT, () -> t.allowHost(LD, CN_A));
        t.hostCreate(CN_A);
        t.allowHost(LD, CN_A);
        refused(Errno.EEXIST, () -> t.allowHost(LD, CN_A));
        assertEquals(List.of(CN_A), t.subsystems().get(0).allowedHosts());
    }

    @Test
    void hostsEntryCannotBeRemovedWhileAnAllowedHostsLinkPointsAtIt() {
        t.subsystemCreate(LD, 1, 99, "sn1");
        t.hostCreate(CN_A);
        t.allowHost(LD, CN_A);
        refused(Errno.EBUSY, () -> t.hostRemove(CN_A));
        assertEquals(List.of(CN_A), t.hosts());
        t.disallowHost(LD, CN_A);
        t.hostRemove(CN_A);
        assertEquals(List.of(), t.hosts());
    }

    @Test
    void namespaceEnableOpensItsDeviceSoTheDeviceCannotBeRemoved() {
        disk(dn, "ld");
        t.subsystemCreate(LD, 1, 99, "sn1");
        t.namespaceCreate(LD, 1, "/dev/ld", NS_UUID, null, 1);
        assertEquals(0, dn.devices().openCount("/dev/ld"));
        t.namespaceEnable(LD, 1, true);
        assertEquals(1, dn.devices().openCount("/dev/ld"));
        assertFalse(dn.devices().unregister("/dev/ld"));
        t.namespaceEnable(LD, 1, true);
        assertEquals(1, dn.devices().openCount("/dev/ld"), "enabling twice opens once");
        t.namespaceEnable(LD, 1, false);
        assertEquals(0, dn.devices().openCount("/dev/ld"));
        assertTrue(dn.devices().unregister("/dev/ld"));
    }

    @Test
    void namespaceEnableFailsWhenTheDeviceDoesNotExist() {
        t.subsystemCreate(LD, 1, 99, "sn1");
        t.namespaceCreate(LD, 1, "/dev/mapper/missing", NS_UUID, null, 1);
        refused(Errno.ENOENT, () -> t.namespaceEnable(LD, 1, true));
        assertFalse(t.subsystems().get(0).namespaces().get(0).enabled());
        assertTrue(t.dmesg().get(0).contains("failed to open block device /dev/mapper/missing"));
    }

    @Test
    void devicePathAndUuidCannotChangeWhileEnabled() {
        disk(dn, "a");
        disk(dn, "b");
        t.subsystemCreate(LD, 1, 99, "sn1");
        t.namespaceCreate(LD, 1, "/dev/a", NS_UUID, null, 1);
        t.namespaceEnable(LD, 1, true);
        refused(Errno.EBUSY, () -> t.namespaceCreate(LD, 1, "/dev/b", NS_UUID, null, 1));
        assertEquals("/dev/a", t.subsystems().get(0).namespaces().get(0).devicePath());
        t.namespaceEnable(LD, 1, false);
        t.namespaceCreate(LD, 1, "/dev/b", NS_UUID, null, 1);
        assertEquals("/dev/b", t.subsystems().get(0).namespaces().get(0).devicePath());
    }

    /** nvmet_ns_ana_grpid_store: range 1..128 only, enabled or not, no port need have the group. */
    @Test
    void anaGrpidChangesWhileEnabledAndDebiansKernelStores128AsZero() {
        disk(dn, "a");
        t.subsystemCreate(LD, 1, 99, "sn1");
        t.namespaceCreate(LD, 1, "/dev/a", NS_UUID, null, 1);
        t.namespaceEnable(LD, 1, true);
        t.namespaceAnaGroup(LD, 1, 5);
        assertEquals(5, t.subsystems().get(0).namespaces().get(0).anaGroup());
        assertTrue(t.subsystems().get(0).namespaces().get(0).enabled());
        refused(Errno.EINVAL, () -> t.namespaceAnaGroup(LD, 1, 0));
        refused(Errno.EINVAL, () -> t.namespaceAnaGroup(LD, 1, 129));
        refused(Errno.ENOENT, () -> t.namespaceAnaGroup(LD, 2, 5));
        t.namespaceAnaGroup(LD, 1, 128);
        assertEquals(0, t.subsystems().get(0).namespaces().get(0).anaGroup(), "array_index_nospec(128, 128) is 0");
    }

    @Test
    void namespaceAttributesAreValidated() {
        t.subsystemCreate(LD, 1, 99, "sn1");
        refused(Errno.EINVAL, () -> t.namespaceCreate(LD, 0, "/dev/a", NS_UUID, null, 1));
        refused(Errno.EINVAL, () -> t.namespaceCreate(LD, 1, "/dev/a", NS_UUID, null, 0));
        refused(Errno.EINVAL, () -> t.namespaceCreate(LD, 1, "/dev/a", NS_UUID, null, 129));
        refused(Errno.EINVAL, () -> t.namespaceCreate(LD, 1, "/dev/a", NS_UUID, "xyz", 1));
        refused(Errno.ENOENT, () -> t.namespaceCreate(PREFIX + "nope", 1, "/dev/a", NS_UUID, null, 1));
        assertEquals(List.of(), t.subsystems().get(0).namespaces());
    }

    @Test
    void portListensOnlyWhileASubsystemIsLinked() {
        disk(dn, "ld");
        export(dn, 1, "10.0.0.1", LD, "ld", CN_A, 1, 99);
        World.Kernel cn = w.kernel("cn");
        t.unlink(1, LD);
        refused(Errno.ECONNREFUSED, () -> cn.host().connect(conn("10.0.0.1", LD, CN_A, QUICK)));
        t.link(1, LD);
        cn.host().connect(conn("10.0.0.1", LD, CN_A, QUICK));
        assertEquals(List.of(LD), t.ports().get(0).subsystems());
    }

    @Test
    void linkIsRefusedWhenAnotherPortListensOnTheAddress() {
        World.Kernel other = w.kernel("other");
        disk(dn, "ld");
        disk(other, "ld");
        export(dn, 1, "10.0.0.1", LD, "ld", CN_A, 1, 99);
        refused(Errno.EADDRINUSE, () -> export(other, 7, "10.0.0.1", LD, "ld", CN_A, 1, 99));
        assertEquals(List.of(), other.nvmet().ports().get(0).subsystems());
    }

    @Test
    void anaGroupOneExistsOnEveryPortFromCreation() {
        t.portCreate(NvmetPort.tcp(1, "10.0.0.1", 4420));
        assertEquals(Map.of(1, AnaState.OPTIMIZED), t.ports().get(0).anaGroups());
        refused(Errno.EEXIST, () -> t.anaGroupCreate(1, 1));
        refused(Errno.EPERM, () -> t.anaGroupRemove(1, 1));
        t.anaState(1, 1, AnaState.INACCESSIBLE);
        assertEquals(Map.of(1, AnaState.INACCESSIBLE), t.ports().get(0).anaGroups());
    }

    @Test
    void otherAnaGroupsAreCreatedInaccessibleWithIdsUpTo128() {
        t.portCreate(NvmetPort.tcp(1, "10.0.0.1", 4420));
        refused(Errno.EINVAL, () -> t.anaGroupCreate(1, 0));
        refused(Errno.EINVAL, () -> t.anaGroupCreate(1, 129));
        refused(Errno.ENOENT, () -> t.anaState(1, 5, AnaState.OPTIMIZED));
        for (int g = 2; g <= 128; g++) {
            t.anaGroupCreate(1, g);
        }
        Map<Integer, AnaState> groups = t.ports().get(0).anaGroups();
        assertEquals(128, groups.size());
        assertEquals(AnaState.INACCESSIBLE, groups.get(128));
        refused(Errno.EEXIST, () -> t.anaGroupCreate(1, 2));
    }

    @Test
    void nonEmptyConfigfsDirectoriesCannotBeRemoved() {
        disk(dn, "ld");
        export(dn, 1, "10.0.0.1", LD, "ld", CN_A, 1, 99);
        t.anaGroupCreate(1, 2);
        refused(Errno.EBUSY, () -> t.subsystemRemove(LD));
        refused(Errno.ENOTEMPTY, () -> t.portRemove(1));
        t.unlink(1, LD);
        refused(Errno.ENOTEMPTY, () -> t.subsystemRemove(LD));
        t.namespaceRemove(LD, 1);
        refused(Errno.ENOTEMPTY, () -> t.subsystemRemove(LD));
        t.disallowHost(LD, CN_A);
        refused(Errno.ENOTEMPTY, () -> t.portRemove(1));
        t.anaGroupRemove(1, 2);
        t.portRemove(1);
        t.subsystemRemove(LD);
        t.hostRemove(CN_A);
        assertEquals(List.of(), t.ports());
        assertEquals(List.of(), t.subsystems());
        assertEquals(0, dn.devices().openCount("/dev/ld"));
    }

    /**
     * A subsystem or host NQN is one configfs directory: with a '/' it would be a path (Linux
     * resolves it, outside nvmet when it climbs with ".."). The simulator refuses every name that
     * is not an NQN with EINVAL, where Linux 6.1 takes any name without '/', so nobody depends on it.
     */
    @Test
    void namesThatAreNotNqnsAreRefused() {
        for (String bad : List.of("nqn.2024-01.a:x/../../../tmp/p", "nqn.2014-08.org.nvmexpress:uuid:not-a-uuid", "not-an-nqn",
                "nqn.2024-01.a:x\u0001", "nqn.2024-01.io.dnv:" + "x".repeat(205))) {
            refused(Errno.EINVAL, () -> t.subsystemCreate(bad, 1, 99, "sn"));
            refused(Errno.EINVAL, () -> t.hostCreate(bad));
        }
        assertEquals(List.of(), t.subsystems());
        assertEquals(List.of(), t.hosts());
    }

    @Test
    void cntlidRangeNeedsMinBelowMax() {
        refused(Errno.EINVAL, () -> t.subsystemCreate(LD, 5, 5, "sn"));
        refused(Errno.EINVAL, () -> t.subsystemCreate(LD, 0, 5, "sn"));
        refused(Errno.EINVAL, () -> t.subsystemCreate(LD, 1, 5, "serial-longer-than-20-chars"));
        assertEquals(List.of(), t.subsystems());
    }

    @Test
    void cntlidsComeFromOneKernelWideAllocatorLowestFreeWithinEachRange() {
        disk(dn, "a");
        disk(dn, "b");
        export(dn, 1, "10.0.0.1", LD, "a", CN_A, 1, 99);
        String ld2 = PREFIX + "ld-2";
        dn.nvmet().subsystemCreate(ld2, 1, 99, "sn2");
        dn.nvmet().allowAnyHost(ld2, true);
        dn.nvmet().link(1, ld2);
        String ld3 = PREFIX + "ld-3";
        dn.nvmet().subsystemCreate(ld3, 50, 99, "sn3");
        dn.nvmet().allowAnyHost(ld3, true);
        dn.nvmet().link(1, ld3);
        World.Kernel cn = w.kernel("cn");
        String c1 = cn.host().connect(conn("10.0.0.1", LD, CN_A, QUICK));
        cn.host().connect(conn("10.0.0.1", ld2, CN_A, QUICK));
        cn.host().connect(conn("10.0.0.1", ld3, CN_A, QUICK));
        assertEquals(List.of(1, 2, 50), cn.host().controllers().stream().map(ObservedKernel.Controller::cntlid).toList());
        cn.host().disconnect(c1);
        String again = cn.host().connect(conn("10.0.0.1", ld2, PREFIX + "cn-x", QUICK));
        assertEquals(1, cn.host().controllers().stream().filter(c -> c.name().equals(again)).findFirst().orElseThrow().cntlid(),
                "the freed cntlid 1 is reused by another subsystem");
    }

    /** revalidate_size tells connected hosts to read the size again; nvmet refuses it on a disabled namespace. */
    @Test
    void revalidateSizeIsRefusedWhileTheNamespaceIsDisabled() {
        disk(dn, "ld");
        t.subsystemCreate(LD, 1, 99, "sn1");
        t.namespaceCreate(LD, 1, "/dev/ld", NS_UUID, null, 1);
        refused(Errno.EINVAL, () -> t.namespaceRevalidate(LD, 1));
        assertTrue(t.dmesg().stream().anyMatch(l -> l.endsWith("nvmet: enable ns before revalidate.")), t.dmesg().toString());
        t.namespaceEnable(LD, 1, true);
        t.namespaceRevalidate(LD, 1);
    }
}
