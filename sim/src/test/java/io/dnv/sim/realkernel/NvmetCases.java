package io.dnv.sim.realkernel;

import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmetPort;

import java.util.List;

import static io.dnv.sim.realkernel.Exports.HOST1;
import static io.dnv.sim.realkernel.Exports.HOST2;
import static io.dnv.sim.realkernel.Exports.NS_UUID;
import static io.dnv.sim.realkernel.Exports.SUB;
import static io.dnv.sim.realkernel.Exports.SUB2;
import static io.dnv.sim.realkernel.Exports.SUB3;
import static io.dnv.sim.realkernel.Exports.awaitHeads;
import static io.dnv.sim.realkernel.Exports.connect;
import static io.dnv.sim.realkernel.Exports.export;
import static io.dnv.sim.realkernel.Step.fact;
import static io.dnv.sim.realkernel.Step.md5;
import static io.dnv.sim.realkernel.Step.ok;
import static io.dnv.sim.realkernel.Step.okOn;
import static io.dnv.sim.realkernel.Step.refused;
import static io.dnv.sim.realkernel.Step.write;

/** nvmet's configfs: what a subsystem, host entry, namespace, port and ANA group take and refuse. */
final class NvmetCases {

    private NvmetCases() {}

    static List<DifferentialCase> all() {
        return List.of(
            DifferentialCase.of("an exported device cannot be removed", export(),
                refused("EBUSY", "remove exported device", k -> k.dmRemove("dnv-t-a")),
                ok("disable namespace", k -> k.nvmetNamespaceEnable(SUB, 1, false)),
                ok("remove device", k -> k.dmRemove("dnv-t-a"))),
            DifferentialCase.of("a look at named subsystems shows them as a whole look does, and leaves out the missing", export(),
                ok("second subsystem", k -> k.nvmetSubsystemCreate(SUB2, 1, 100, "dnvtest0002")),
                Step.namedSubsystemLook(SUB),
                Step.namedSubsystemLook(SUB, SUB2, SUB3)),
            DifferentialCase.of("a new subsystem does not allow any host",
                ok("subsystem", k -> k.nvmetSubsystemCreate(SUB, 1, 100, "dnvtest0001")),
                fact("allow_any_host", false, k -> k.subsystems().get(0).allowAnyHost())),
            DifferentialCase.of("hosts cannot be listed while allow_any_host is 1, nor can it be set while hosts are listed",
                ok("subsystem", k -> k.nvmetSubsystemCreate(SUB, 1, 100, "dnvtest0001")),
                ok("host entry", k -> k.nvmetHostCreate(HOST1)),
                ok("allow_any_host 1", k -> k.nvmetAllowAnyHost(SUB, true)),
                refused("EINVAL", "allow host1 while any", k -> k.nvmetAllowHost(SUB, HOST1)),
                ok("allow_any_host 0", k -> k.nvmetAllowAnyHost(SUB, false)),
                ok("allow host1", k -> k.nvmetAllowHost(SUB, HOST1)),
                refused("EINVAL", "allow_any_host 1 while listed", k -> k.nvmetAllowAnyHost(SUB, true))),
            DifferentialCase.of("an allowed host needs its hosts/ entry",
                ok("subsystem", k -> k.nvmetSubsystemCreate(SUB, 1, 100, "dnvtest0001")),
                refused("ENOENT", "allow host without entry", k -> k.nvmetAllowHost(SUB, HOST2))),
            DifferentialCase.of("a namespace cannot be enabled on a device that does not exist",
                ok("subsystem", k -> k.nvmetSubsystemCreate(SUB, 1, 100, "dnvtest0001")),
                ok("namespace", k -> k.nvmetNamespaceCreate(SUB, 1, "/dev/mapper/dnv-t-none", NS_UUID, Names.nguid(NS_UUID), 1)),
                refused("ENOENT", "enable", k -> k.nvmetNamespaceEnable(SUB, 1, true))),
            DifferentialCase.of("ANA group 1 exists on every new port; more groups up to 128",
                okOn("port 1", k -> k.kernel().nvmetPortCreate(NvmetPort.tcp(1, k.address(), 4420))),
                fact("ana groups", "{1=OPTIMIZED}", k -> k.ports().get(0).anaGroups()),
                ok("group 2", k -> k.nvmetAnaGroupCreate(1, 2)),
                fact("ana groups", "{1=OPTIMIZED, 2=INACCESSIBLE}", k -> k.ports().get(0).anaGroups()),
                ok("group 2 inaccessible", k -> k.nvmetAnaState(1, 2, AnaState.INACCESSIBLE)),
                ok("group 128", k -> k.nvmetAnaGroupCreate(1, 128)),
                refused("EINVAL", "group 129", k -> k.nvmetAnaGroupCreate(1, 129)),
                refused("EEXIST", "group 1", k -> k.nvmetAnaGroupCreate(1, 1)),
                refused("EPERM", "remove group 1", k -> k.nvmetAnaGroupRemove(1, 1)),
                fact("ana groups", "{1=OPTIMIZED, 2=INACCESSIBLE, 128=INACCESSIBLE}", k -> k.ports().get(0).anaGroups())),
            DifferentialCase.of("a namespace takes ana_grpid 1..128 whether or not a port has the group; Debian's 6.1 stores 128 as 0",
                ok("subsystem", k -> k.nvmetSubsystemCreate(SUB, 1, 100, "dnvtest0001")),
                ok("namespace", k -> k.nvmetNamespaceCreate(SUB, 1, "/dev/mapper/dnv-t-none", NS_UUID, Names.nguid(NS_UUID), 1)),
                refused("EINVAL", "ana_grpid 0", k -> k.nvmetNamespaceAnaGroup(SUB, 1, 0)),
                refused("EINVAL", "ana_grpid 129", k -> k.nvmetNamespaceAnaGroup(SUB, 1, 129)),
                ok("ana_grpid 5 (no port has group 5)", k -> k.nvmetNamespaceAnaGroup(SUB, 1, 5)),
                fact("ana_grpid", 5, k -> k.subsystems().get(0).namespaces().get(0).anaGroup()),
                ok("ana_grpid 128", k -> k.nvmetNamespaceAnaGroup(SUB, 1, 128)),
                fact("ana_grpid after writing 128", 0, k -> k.subsystems().get(0).namespaces().get(0).anaGroup())),
            DifferentialCase.of("a namespace moves to another ANA group while enabled; a connected host follows the new group's state",
                export(),
                write("/dev/mapper/dnv-t-a", 0, 1 << 20, 52),
                ok("group 2", k -> k.nvmetAnaGroupCreate(1, 2)),
                ok("group 3", k -> k.nvmetAnaGroupCreate(1, 3)),
                ok("group 3 optimized", k -> k.nvmetAnaState(1, 3, AnaState.OPTIMIZED)),
                ok("ana_grpid 2 (inaccessible) while enabled", k -> k.nvmetNamespaceAnaGroup(SUB, 1, 2)),
                connect("connect as host1", SUB, HOST1, Names.hostId(HOST1)),
                fact("namespace heads (its only path inaccessible)", 0L,
                        k -> k.blockDevices().stream().filter(b -> b.uuid().isPresent()).count()),
                ok("ana_grpid 3 (optimized) while enabled", k -> k.nvmetNamespaceAnaGroup(SUB, 1, 3)),
                fact("ana_grpid", 3, k -> k.subsystems().get(0).namespaces().get(0).anaGroup()),
                awaitHeads(1),
                md5(Step.namespace(NS_UUID), 0, 1 << 20, Bytes.written(1 << 20, 52))),
            DifferentialCase.of("configfs keeps what is linked or not empty: a linked subsystem or host entry (EBUSY), a subsystem with namespaces or hosts, a port with links (ENOTEMPTY)",
                export(),
                refused("EBUSY", "remove subsystem (linked to the port)", k -> k.nvmetSubsystemRemove(SUB)),
                refused("ENOTEMPTY", "remove port (a subsystem linked)", k -> k.nvmetPortRemove(1)),
                refused("EBUSY", "remove host1's entry (allowed_hosts links it)", k -> k.nvmetHostRemove(HOST1)),
                ok("unlink", k -> k.nvmetUnlink(1, SUB)),
                refused("ENOTEMPTY", "remove subsystem (a namespace, a host)", k -> k.nvmetSubsystemRemove(SUB)),
                ok("remove port", k -> k.nvmetPortRemove(1)),
                ok("remove namespace", k -> k.nvmetNamespaceRemove(SUB, 1)),
                refused("ENOTEMPTY", "remove subsystem (a host)", k -> k.nvmetSubsystemRemove(SUB)),
                ok("disallow host1", k -> k.nvmetDisallowHost(SUB, HOST1)),
                ok("remove host1's entry", k -> k.nvmetHostRemove(HOST1)),
                ok("remove subsystem", k -> k.nvmetSubsystemRemove(SUB))),
            DifferentialCase.of("device_path cannot change while the namespace is enabled", export(),
                refused("EBUSY", "namespace on another device while enabled",
                        k -> k.nvmetNamespaceCreate(SUB, 1, "/dev/ram1", NS_UUID, Names.nguid(NS_UUID), 1)),
                ok("disable", k -> k.nvmetNamespaceEnable(SUB, 1, false)),
                ok("namespace on another device", k -> k.nvmetNamespaceCreate(SUB, 1, "/dev/ram1", NS_UUID, Names.nguid(NS_UUID), 1)),
                ok("enable", k -> k.nvmetNamespaceEnable(SUB, 1, true)))
        );
    }
}
