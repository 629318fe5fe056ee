package io.dnv.sim.realkernel;

import io.dnv.core.kernel.AnaState;
import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.kernel.ObservedKernel;

import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

import static io.dnv.sim.realkernel.Step.fact;
import static io.dnv.sim.realkernel.Step.md5;
import static io.dnv.sim.realkernel.Step.op;
import static io.dnv.sim.realkernel.Step.opOn;
import static io.dnv.sim.realkernel.Step.table;
import static io.dnv.sim.realkernel.Step.write;

/**
 * Every rule marked (kernel) in the design, as steps whose outcomes must be the same on the
 * simulated kernel and on Linux: accepted or refused, tables printed back, bytes read back.
 * Disks: /dev/ram0..3, 64 MiB each (131072 sectors).
 */
final class DifferentialCases {

    static final List<String> DISKS = List.of("/dev/ram0", "/dev/ram1", "/dev/ram2", "/dev/ram3");
    static final int DISK_MIB = 64;

    private static final String SUB = "nqn.2024-01.io.dnv:t:sub1";
    private static final String SUB2 = "nqn.2024-01.io.dnv:t:sub2";
    private static final String SUB3 = "nqn.2024-01.io.dnv:t:sub3";
    private static final String HOST1 = "nqn.2024-01.io.dnv:t:host1";
    private static final String HOST2 = "nqn.2024-01.io.dnv:t:host2";
    private static final UUID NS_UUID = Names.namespaceUuid(SUB);
    private static final ConnectTimeouts TIMEOUTS = new ConnectTimeouts(5, 10, 1, 2);

    private DifferentialCases() {}

    static List<DifferentialCase> all() {
        List<DifferentialCase> cases = new ArrayList<>();
        cases.addAll(tables());
        cases.addAll(raid1());
        cases.addAll(stripes());
        cases.addAll(thin());
        cases.addAll(busy());
        cases.addAll(nvmet());
        cases.addAll(connects());
        return cases;
    }

    private static List<DifferentialCase> tables() {
        return List.of(
            DifferentialCase.of("a table naming a missing device is refused",
                op("create over a missing device", k -> k.dmCreate("dnv-t-a", "0 2048 linear /dev/mapper/dnv-t-none 0")),
                fact("dm devices", k -> names(k))),
            DifferentialCase.of("a table running past the end of its device is refused",
                op("create past the end", k -> k.dmCreate("dnv-t-a", "0 2048 linear /dev/ram0 130048")),
                op("create up to the end", k -> k.dmCreate("dnv-t-b", "0 1024 linear /dev/ram0 130048")),
                fact("dm devices", k -> names(k))),
            DifferentialCase.of("a gap between table lines is refused",
                op("create with a gap", k -> k.dmCreate("dnv-t-a", "0 1024 linear /dev/ram0 0\n2048 1024 linear /dev/ram0 2048"))),
            DifferentialCase.of("an unknown target type is refused",
                op("create unknown type", k -> k.dmCreate("dnv-t-a", "0 8 nosuchtarget"))),
            DifferentialCase.of("a multi-line linear table is printed back line by line",
                op("create concat", k -> k.dmCreate("dnv-t-a", "0 1024 linear /dev/ram0 0\n1024 2048 linear /dev/ram1 4096")),
                table("dnv-t-a")),
            DifferentialCase.of("a reload replaces the table at resume, not before",
                op("create", k -> k.dmCreate("dnv-t-a", "0 1024 linear /dev/ram0 0")),
                op("load", k -> k.dmLoad("dnv-t-a", "0 2048 linear /dev/ram1 0")),
                table("dnv-t-a"),
                op("suspend", k -> k.dmSuspend("dnv-t-a")),
                fact("suspended", k -> k.dm("dnv-t-a").map(ObservedKernel.Dm::suspended).orElse(null)),
                op("resume", k -> k.dmResume("dnv-t-a")),
                table("dnv-t-a")),
            DifferentialCase.of("creating an existing name is refused",
                op("create", k -> k.dmCreate("dnv-t-a", "0 1024 linear /dev/ram0 0")),
                op("create again", k -> k.dmCreate("dnv-t-a", "0 1024 linear /dev/ram0 0")))
        );
    }

    /** Two (meta, data) pairs on ram0 and ram1 for a raid1 of 61440 sectors. */
    private static List<Step> raidSides() {
        return List.of(
            op("meta 0", k -> k.dmCreate("dnv-t-m0", "0 2048 linear /dev/ram0 0")),
            op("data 0", k -> k.dmCreate("dnv-t-d0", "0 61440 linear /dev/ram0 2048")),
            op("meta 1", k -> k.dmCreate("dnv-t-m1", "0 2048 linear /dev/ram1 0")),
            op("data 1", k -> k.dmCreate("dnv-t-d1", "0 61440 linear /dev/ram1 2048")));
    }

    private static final String SIDES = " 2 /dev/mapper/dnv-t-m0 /dev/mapper/dnv-t-d0 /dev/mapper/dnv-t-m1 /dev/mapper/dnv-t-d1";

    private static DifferentialCase raidCase(String rule, Step... more) {
        List<Step> steps = new ArrayList<>(raidSides());
        steps.addAll(List.of(more));
        return new DifferentialCase(rule, steps);
    }

    private static List<DifferentialCase> raid1() {
        return List.of(
            raidCase("raid1 #params counts the chunk and every option word: 2 is refused",
                op("raid1 with #params 2", k -> k.dmCreate("dnv-t-r", "0 61440 raid raid1 2 0 region_size 1024" + SIDES))),
            raidCase("raid1 #params 3 plain, 4 with nosync; printed in the kernel's word order",
                op("raid1 nosync after region_size", k -> k.dmCreate("dnv-t-r", "0 61440 raid raid1 4 0 region_size 1024 nosync" + SIDES)),
                table("dnv-t-r")),
            raidCase("raid1 #params 5 with rebuild, which stays in the live table",
                op("raid1 rebuild 1", k -> k.dmCreate("dnv-t-r", "0 61440 raid raid1 5 0 rebuild 1 region_size 1024" + SIDES)),
                table("dnv-t-r")),
            raidCase("raid1 region size must be a power of two",
                op("region 1000", k -> k.dmCreate("dnv-t-r", "0 61440 raid raid1 3 0 region_size 1000" + SIDES))),
            raidCase("raid1 region size must not exceed the array",
                op("region 131072", k -> k.dmCreate("dnv-t-r", "0 61440 raid raid1 3 0 region_size 131072" + SIDES))),
            raidCase("raid1 writes land on both sides",
                op("raid1", k -> k.dmCreate("dnv-t-r", "0 61440 raid raid1 4 0 nosync region_size 1024" + SIDES)),
                write("/dev/mapper/dnv-t-r", 1 << 20, 256 << 10, 11),
                md5("/dev/mapper/dnv-t-r", 1 << 20, 256 << 10),
                md5("/dev/mapper/dnv-t-d0", 1 << 20, 256 << 10),
                md5("/dev/mapper/dnv-t-d1", 1 << 20, 256 << 10)),
            raidCase("raid1 without nosync on fresh metadata copies side 0 to side 1",
                write("/dev/mapper/dnv-t-d0", 0, 128 << 10, 12),
                op("raid1 (resync)", k -> k.dmCreate("dnv-t-r", "0 61440 raid raid1 3 0 region_size 1024" + SIDES)),
                new Step("wait for resync", k -> {
                    for (int i = 0; i < 100 && !k.kernel().observe().dm("dnv-t-r").map(d -> d.status().contains(" AA ")
                            && d.status().contains("idle")).orElse(false); i++) {
                        Thread.sleep(200);
                    }
                    return Step.Outcome.of("waited");
                }),
                md5("/dev/mapper/dnv-t-d1", 0, 128 << 10))
        );
    }

    private static List<DifferentialCase> stripes() {
        return List.of(
            DifferentialCase.of("raid0 and striped lay data out alike",
                op("leg a", k -> k.dmCreate("dnv-t-la", "0 4096 linear /dev/ram0 0")),
                op("leg b", k -> k.dmCreate("dnv-t-lb", "0 4096 linear /dev/ram1 0")),
                op("raid0", k -> k.dmCreate("dnv-t-s", "0 8192 raid raid0 1 32 2 - /dev/mapper/dnv-t-la - /dev/mapper/dnv-t-lb")),
                table("dnv-t-s"),
                write("/dev/mapper/dnv-t-s", 0, 1 << 20, 21),
                op("remove raid0", k -> k.dmRemove("dnv-t-s")),
                op("striped", k -> k.dmCreate("dnv-t-s", "0 8192 striped 2 32 /dev/mapper/dnv-t-la 0 /dev/mapper/dnv-t-lb 0")),
                table("dnv-t-s"),
                md5("/dev/mapper/dnv-t-s", 0, 1 << 20),
                md5("/dev/mapper/dnv-t-la", 0, 16 << 10),
                md5("/dev/mapper/dnv-t-lb", 0, 16 << 10)),
            DifferentialCase.of("striped length must divide by the stripes and then by the chunk",
                op("leg a", k -> k.dmCreate("dnv-t-la", "0 4096 linear /dev/ram0 0")),
                op("leg b", k -> k.dmCreate("dnv-t-lb", "0 4096 linear /dev/ram1 0")),
                op("striped 2032", k -> k.dmCreate("dnv-t-s", "0 2032 striped 2 32 /dev/mapper/dnv-t-la 0 /dev/mapper/dnv-t-lb 0")))
        );
    }

    private static List<Step> pool(String features) {
        return List.of(
            op("thin meta", k -> k.dmCreate("dnv-t-tm", "0 8192 linear /dev/ram2 0")),
            op("thin data", k -> k.dmCreate("dnv-t-td", "0 65536 linear /dev/ram3 0")),
            op("pool", k -> k.dmCreate("dnv-t-p", "0 65536 thin-pool /dev/mapper/dnv-t-tm /dev/mapper/dnv-t-td 2048 16 " + features)));
    }

    private static DifferentialCase poolCase(String rule, String features, Step... more) {
        List<Step> steps = new ArrayList<>(pool(features));
        steps.addAll(List.of(more));
        return new DifferentialCase(rule, steps);
    }

    private static List<DifferentialCase> thin() {
        return List.of(
            DifferentialCase.of("thin-pool block size must be a multiple of 128 sectors, at least 128",
                op("thin meta", k -> k.dmCreate("dnv-t-tm", "0 8192 linear /dev/ram2 0")),
                op("thin data", k -> k.dmCreate("dnv-t-td", "0 65536 linear /dev/ram3 0")),
                op("block 100", k -> k.dmCreate("dnv-t-p", "0 65536 thin-pool /dev/mapper/dnv-t-tm /dev/mapper/dnv-t-td 100 16 0")),
                op("block 64", k -> k.dmCreate("dnv-t-p2", "0 65536 thin-pool /dev/mapper/dnv-t-tm /dev/mapper/dnv-t-td 64 16 0")),
                op("block 384", k -> k.dmCreate("dnv-t-p3", "0 65536 thin-pool /dev/mapper/dnv-t-tm /dev/mapper/dnv-t-td 384 16 0"))),
            poolCase("thin-pool features are printed in the kernel's order", "2 error_if_no_space skip_block_zeroing",
                table("dnv-t-p")),
            poolCase("a thin device needs an id the pool has", "1 skip_block_zeroing",
                op("thin id 5 before create_thin", k -> k.dmCreate("dnv-t-t", "0 8192 thin /dev/mapper/dnv-t-p 5")),
                op("create_thin 5", k -> k.dmMessage("dnv-t-p", 0, "create_thin 5")),
                op("create_thin 5 again", k -> k.dmMessage("dnv-t-p", 0, "create_thin 5")),
                op("thin id 5", k -> k.dmCreate("dnv-t-t", "0 8192 thin /dev/mapper/dnv-t-p 5")),
                table("dnv-t-t")),
            DifferentialCase.of("skip_block_zeroing: a newly provisioned block shows the old bytes of its extent",
                write("/dev/ram3", 0, 1 << 20, 31),
                op("thin meta", k -> k.dmCreate("dnv-t-tm", "0 8192 linear /dev/ram2 0")),
                op("thin data", k -> k.dmCreate("dnv-t-td", "0 65536 linear /dev/ram3 0")),
                op("pool", k -> k.dmCreate("dnv-t-p", "0 65536 thin-pool /dev/mapper/dnv-t-tm /dev/mapper/dnv-t-td 2048 16 1 skip_block_zeroing")),
                op("create_thin 0", k -> k.dmMessage("dnv-t-p", 0, "create_thin 0")),
                op("thin", k -> k.dmCreate("dnv-t-t", "0 8192 thin /dev/mapper/dnv-t-p 0")),
                write("/dev/mapper/dnv-t-t", 0, 4096, 32),
                md5("/dev/mapper/dnv-t-t", 4096, (1 << 20) - 4096),
                md5("/dev/ram3", 4096, (1 << 20) - 4096)),
            DifferentialCase.of("without skip_block_zeroing a newly provisioned block reads zeroes around a write",
                write("/dev/ram3", 0, 1 << 20, 33),
                op("thin meta", k -> k.dmCreate("dnv-t-tm", "0 8192 linear /dev/ram2 0")),
                op("thin data", k -> k.dmCreate("dnv-t-td", "0 65536 linear /dev/ram3 0")),
                op("pool", k -> k.dmCreate("dnv-t-p", "0 65536 thin-pool /dev/mapper/dnv-t-tm /dev/mapper/dnv-t-td 2048 16 0")),
                op("create_thin 0", k -> k.dmMessage("dnv-t-p", 0, "create_thin 0")),
                op("thin", k -> k.dmCreate("dnv-t-t", "0 8192 thin /dev/mapper/dnv-t-p 0")),
                write("/dev/mapper/dnv-t-t", 0, 4096, 34),
                md5("/dev/mapper/dnv-t-t", 0, 1 << 20)),
            poolCase("create_snap of an active, unsuspended origin is accepted (and, with no I/O in flight, consistent)",
                "1 skip_block_zeroing",
                op("create_thin 0", k -> k.dmMessage("dnv-t-p", 0, "create_thin 0")),
                op("origin", k -> k.dmCreate("dnv-t-o", "0 8192 thin /dev/mapper/dnv-t-p 0")),
                write("/dev/mapper/dnv-t-o", 0, 1 << 20, 41),
                op("create_snap 1 0 (origin not suspended)", k -> k.dmMessage("dnv-t-p", 0, "create_snap 1 0")),
                write("/dev/mapper/dnv-t-o", 0, 4096, 44),
                op("snapshot", k -> k.dmCreate("dnv-t-s", "0 8192 thin /dev/mapper/dnv-t-p 1")),
                md5("/dev/mapper/dnv-t-s", 0, 1 << 20)),
            poolCase("create_snap of a suspended origin keeps the snapshot's bytes when the origin changes", "1 skip_block_zeroing",
                op("create_thin 0", k -> k.dmMessage("dnv-t-p", 0, "create_thin 0")),
                op("origin", k -> k.dmCreate("dnv-t-o", "0 8192 thin /dev/mapper/dnv-t-p 0")),
                write("/dev/mapper/dnv-t-o", 0, 1 << 20, 42),
                op("suspend origin", k -> k.dmSuspend("dnv-t-o")),
                op("create_snap 1 0", k -> k.dmMessage("dnv-t-p", 0, "create_snap 1 0")),
                op("resume origin", k -> k.dmResume("dnv-t-o")),
                write("/dev/mapper/dnv-t-o", 0, 1 << 20, 43),
                op("snapshot", k -> k.dmCreate("dnv-t-s", "0 8192 thin /dev/mapper/dnv-t-p 1")),
                md5("/dev/mapper/dnv-t-s", 0, 1 << 20),
                md5("/dev/mapper/dnv-t-o", 0, 1 << 20)),
            poolCase("an open thin device cannot be deleted from its pool", "1 skip_block_zeroing",
                op("create_thin 0", k -> k.dmMessage("dnv-t-p", 0, "create_thin 0")),
                op("thin", k -> k.dmCreate("dnv-t-t", "0 8192 thin /dev/mapper/dnv-t-p 0")),
                op("delete 0 while active", k -> k.dmMessage("dnv-t-p", 0, "delete 0")),
                op("remove thin", k -> k.dmRemove("dnv-t-t")),
                op("delete 0", k -> k.dmMessage("dnv-t-p", 0, "delete 0")))
        );
    }

    private static List<DifferentialCase> busy() {
        return List.of(
            DifferentialCase.of("a device mapped by another table cannot be removed",
                op("lower", k -> k.dmCreate("dnv-t-a", "0 2048 linear /dev/ram0 0")),
                op("upper", k -> k.dmCreate("dnv-t-b", "0 2048 linear /dev/mapper/dnv-t-a 0")),
                op("remove lower", k -> k.dmRemove("dnv-t-a")),
                fact("open count of lower", k -> k.dm("dnv-t-a").map(ObservedKernel.Dm::openCount).orElse(-1)),
                op("remove upper", k -> k.dmRemove("dnv-t-b")),
                op("remove lower", k -> k.dmRemove("dnv-t-a"))),
            export("an exported device cannot be removed",
                op("remove exported device", k -> k.dmRemove("dnv-t-a")),
                op("disable namespace", k -> k.nvmetNamespaceEnable(SUB, 1, false)),
                op("remove device", k -> k.dmRemove("dnv-t-a")))
        );
    }

    /** A linear exported as SUB on port 1 (svc 4420) of this kernel, allowing HOST1. */
    private static DifferentialCase export(String rule, Step... more) {
        List<Step> steps = new ArrayList<>(List.of(
            op("device", k -> k.dmCreate("dnv-t-a", "0 8192 linear /dev/ram0 0")),
            opOn("port 1", k -> k.kernel().nvmetPortCreate(NvmetPort.tcp(1, k.address(), 4420))),
            op("subsystem", k -> k.nvmetSubsystemCreate(SUB, 1, 100, "dnvtest0001")),
            op("host entry", k -> k.nvmetHostCreate(HOST1)),
            op("allow host1", k -> k.nvmetAllowHost(SUB, HOST1)),
            op("namespace", k -> k.nvmetNamespaceCreate(SUB, 1, "/dev/mapper/dnv-t-a", NS_UUID, Names.nguid(NS_UUID), 1)),
            op("enable", k -> k.nvmetNamespaceEnable(SUB, 1, true)),
            op("link", k -> k.nvmetLink(1, SUB))));
        steps.addAll(List.of(more));
        return new DifferentialCase(rule, steps);
    }

    private static List<DifferentialCase> nvmet() {
        return List.of(
            DifferentialCase.of("a new subsystem does not allow any host",
                op("subsystem", k -> k.nvmetSubsystemCreate(SUB, 1, 100, "dnvtest0001")),
                fact("allow_any_host", k -> k.subsystems().get(0).allowAnyHost())),
            DifferentialCase.of("hosts cannot be listed while allow_any_host is 1, nor can it be set while hosts are listed",
                op("subsystem", k -> k.nvmetSubsystemCreate(SUB, 1, 100, "dnvtest0001")),
                op("host entry", k -> k.nvmetHostCreate(HOST1)),
                op("allow_any_host 1", k -> k.nvmetAllowAnyHost(SUB, true)),
                op("allow host1 while any", k -> k.nvmetAllowHost(SUB, HOST1)),
                op("allow_any_host 0", k -> k.nvmetAllowAnyHost(SUB, false)),
                op("allow host1", k -> k.nvmetAllowHost(SUB, HOST1)),
                op("allow_any_host 1 while listed", k -> k.nvmetAllowAnyHost(SUB, true))),
            DifferentialCase.of("an allowed host needs its hosts/ entry",
                op("subsystem", k -> k.nvmetSubsystemCreate(SUB, 1, 100, "dnvtest0001")),
                op("allow host without entry", k -> k.nvmetAllowHost(SUB, HOST2))),
            DifferentialCase.of("a namespace cannot be enabled on a device that does not exist",
                op("subsystem", k -> k.nvmetSubsystemCreate(SUB, 1, 100, "dnvtest0001")),
                op("namespace", k -> k.nvmetNamespaceCreate(SUB, 1, "/dev/mapper/dnv-t-none", NS_UUID, Names.nguid(NS_UUID), 1)),
                op("enable", k -> k.nvmetNamespaceEnable(SUB, 1, true))),
            DifferentialCase.of("ANA group 1 exists on every new port; more groups up to 128",
                opOn("port 1", k -> k.kernel().nvmetPortCreate(NvmetPort.tcp(1, k.address(), 4420))),
                fact("ana groups", k -> k.ports().get(0).anaGroups()),
                op("group 2", k -> k.nvmetAnaGroupCreate(1, 2)),
                fact("ana groups", k -> k.ports().get(0).anaGroups()),
                op("group 2 inaccessible", k -> k.nvmetAnaState(1, 2, AnaState.INACCESSIBLE)),
                op("group 128", k -> k.nvmetAnaGroupCreate(1, 128)),
                op("group 129", k -> k.nvmetAnaGroupCreate(1, 129)),
                fact("ana groups", k -> k.ports().get(0).anaGroups())),
            export("a subsystem with namespaces, hosts or links cannot be removed, nor a port with links",
                op("remove subsystem", k -> k.nvmetSubsystemRemove(SUB)),
                op("remove port", k -> k.nvmetPortRemove(1)),
                op("unlink", k -> k.nvmetUnlink(1, SUB)),
                op("remove port", k -> k.nvmetPortRemove(1)),
                op("remove namespace", k -> k.nvmetNamespaceRemove(SUB, 1)),
                op("disallow host1", k -> k.nvmetDisallowHost(SUB, HOST1)),
                op("remove subsystem", k -> k.nvmetSubsystemRemove(SUB)))
        );
    }

    private static NvmeConnection connection(KernelUnderTest k, String nqn, String host, UUID hostId) {
        return new NvmeConnection("tcp", k.address(), 4420, nqn, host, hostId, TIMEOUTS);
    }

    private static Step connect(String what, String nqn, String host, UUID hostId) {
        return opOn(what, k -> k.kernel().nvmeConnect(connection(k, nqn, host, hostId)));
    }

    /** Waits (up to 10 s) until every controller of the subsystem is, or is not, live. */
    private static Step awaitLive(String nqn, boolean live) {
        return new Step("controllers of " + nqn + (live ? " live" : " not live"), k -> {
            for (int i = 0; i < 100; i++) {
                boolean all = k.kernel().observe().controllers().stream().filter(c -> c.subsystemNqn().equals(nqn))
                        .allMatch(c -> c.state().equals("live") == live);
                if (all) {
                    return Step.Outcome.of("yes");
                }
                Thread.sleep(100);
            }
            return Step.Outcome.of("no");
        });
    }

    private static List<DifferentialCase> connects() {
        UUID id1 = Names.hostId(HOST1);
        UUID id2 = Names.hostId(HOST2);
        return List.of(
            export("connect succeeds only for an allowed host",
                op("host2 entry", k -> k.nvmetHostCreate(HOST2)),
                connect("connect as host2 (not allowed)", SUB, HOST2, id2),
                connect("connect as host1", SUB, HOST1, id1),
                fact("controllers", k -> k.controllers().size()),
                fact("namespace heads", k -> k.blockDevices().stream().filter(b -> b.uuid().isPresent()).count())),
            export("Linux 6.1 keeps no host id / host NQN pairing: one id under two NQNs and one NQN under two ids connect",
                op("disallow host1", k -> k.nvmetDisallowHost(SUB, HOST1)),
                op("allow_any_host 1", k -> k.nvmetAllowAnyHost(SUB, true)),
                connect("connect as host1", SUB, HOST1, id1),
                op("second subsystem", k -> k.nvmetSubsystemCreate(SUB2, 101, 200, "dnvtest0002")),
                op("allow_any_host 1", k -> k.nvmetAllowAnyHost(SUB2, true)),
                op("link", k -> k.nvmetLink(1, SUB2)),
                connect("connect as host2 with host1's id", SUB2, HOST2, id1),
                op("third subsystem", k -> k.nvmetSubsystemCreate(SUB3, 201, 300, "dnvtest0003")),
                op("allow_any_host 1", k -> k.nvmetAllowAnyHost(SUB3, true)),
                op("link", k -> k.nvmetLink(1, SUB3)),
                connect("connect as host1 with host2's id", SUB3, HOST1, id2),
                fact("controllers", k -> k.controllers().size())),
            export("a second connect of one host to one subsystem and address is refused",
                connect("connect as host1", SUB, HOST1, id1),
                connect("connect as host1 again", SUB, HOST1, id1)),
            export("removing an allowed host keeps live connections; unlinking the subsystem drops them",
                connect("connect as host1", SUB, HOST1, id1),
                op("disallow host1", k -> k.nvmetDisallowHost(SUB, HOST1)),
                awaitLive(SUB, true),
                op("unlink", k -> k.nvmetUnlink(1, SUB)),
                awaitLive(SUB, false)),
            export("unlinking the last subsystem of a port disables it; linking enables it",
                op("unlink", k -> k.nvmetUnlink(1, SUB)),
                connect("connect to a port with no subsystem", SUB, HOST1, id1),
                op("link", k -> k.nvmetLink(1, SUB)),
                connect("connect after link", SUB, HOST1, id1)),
            export("a host reads through the export the bytes written below it",
                write("/dev/mapper/dnv-t-a", 0, 1 << 20, 51),
                connect("connect as host1", SUB, HOST1, id1),
                new Step("md5 through the host's namespace", k -> {
                    String dev = k.kernel().observe().namespace(NS_UUID).map(ObservedKernel.BlockDevice::path).orElse(null);
                    return dev == null ? Step.Outcome.of("no namespace") : new Step.Outcome(k.md5(dev, 0, 1 << 20), dev);
                }))
        );
    }

    private static List<String> names(ObservedKernel k) {
        return k.dmDevices().stream().map(ObservedKernel.Dm::name).sorted().toList();
    }
}
