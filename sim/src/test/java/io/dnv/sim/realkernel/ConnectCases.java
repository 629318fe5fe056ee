package io.dnv.sim.realkernel;

import io.dnv.core.kernel.Names;

import java.util.UUID;
import java.util.List;

import static io.dnv.sim.realkernel.Exports.HOST1;
import static io.dnv.sim.realkernel.Exports.HOST2;
import static io.dnv.sim.realkernel.Exports.NS_UUID;
import static io.dnv.sim.realkernel.Exports.SUB;
import static io.dnv.sim.realkernel.Exports.SUB2;
import static io.dnv.sim.realkernel.Exports.SUB3;
import static io.dnv.sim.realkernel.Exports.awaitLive;
import static io.dnv.sim.realkernel.Exports.connect;
import static io.dnv.sim.realkernel.Exports.connectRefused;
import static io.dnv.sim.realkernel.Exports.export;
import static io.dnv.sim.realkernel.Step.fact;
import static io.dnv.sim.realkernel.Step.md5;
import static io.dnv.sim.realkernel.Step.ok;
import static io.dnv.sim.realkernel.Step.write;

/** NVMe/TCP connects to an export: who may connect, what a second connect gets, what unlinking does. */
final class ConnectCases {

    private ConnectCases() {}

    static List<DifferentialCase> all() {
        UUID id1 = Names.hostId(HOST1);
        UUID id2 = Names.hostId(HOST2);
        return List.of(
            DifferentialCase.of("connect succeeds only for an allowed host", export(),
                ok("host2 entry", k -> k.nvmetHostCreate(HOST2)),
                connectRefused("EIO", "connect as host2 (not allowed)", SUB, HOST2, id2),
                connect("connect as host1", SUB, HOST1, id1),
                fact("controllers", 1, k -> k.controllers().size()),
                fact("namespace heads", 1L, k -> k.blockDevices().stream().filter(b -> b.uuid().isPresent()).count())),
            DifferentialCase.of("Linux 6.1 keeps no host id / host NQN pairing: one id under two NQNs and one NQN under two ids connect", export(),
                ok("disallow host1", k -> k.nvmetDisallowHost(SUB, HOST1)),
                ok("allow_any_host 1", k -> k.nvmetAllowAnyHost(SUB, true)),
                connect("connect as host1", SUB, HOST1, id1),
                ok("second subsystem", k -> k.nvmetSubsystemCreate(SUB2, 101, 200, "dnvtest0002")),
                ok("allow_any_host 1", k -> k.nvmetAllowAnyHost(SUB2, true)),
                ok("link", k -> k.nvmetLink(1, SUB2)),
                connect("connect as host2 with host1's id", SUB2, HOST2, id1),
                ok("third subsystem", k -> k.nvmetSubsystemCreate(SUB3, 201, 300, "dnvtest0003")),
                ok("allow_any_host 1", k -> k.nvmetAllowAnyHost(SUB3, true)),
                ok("link", k -> k.nvmetLink(1, SUB3)),
                connect("connect as host1 with host2's id", SUB3, HOST1, id2),
                fact("controllers", 3, k -> k.controllers().size())),
            DifferentialCase.of("a second connect of one host to one subsystem and address is refused", export(),
                connect("connect as host1", SUB, HOST1, id1),
                connectRefused("EALREADY", "connect as host1 again", SUB, HOST1, id1)),
            DifferentialCase.of("removing an allowed host keeps live connections; unlinking the subsystem drops them", export(),
                connect("connect as host1", SUB, HOST1, id1),
                ok("disallow host1", k -> k.nvmetDisallowHost(SUB, HOST1)),
                awaitLive(SUB, true),
                ok("unlink", k -> k.nvmetUnlink(1, SUB)),
                awaitLive(SUB, false)),
            DifferentialCase.of("unlinking the last subsystem of a port disables it; linking enables it", export(),
                ok("unlink", k -> k.nvmetUnlink(1, SUB)),
                connectRefused("ECONNREFUSED", "connect to a port with no subsystem", SUB, HOST1, id1),
                ok("link", k -> k.nvmetLink(1, SUB)),
                connect("connect after link", SUB, HOST1, id1)),
            DifferentialCase.of("a host reads through the export the bytes written below it", export(),
                write("/dev/mapper/dnv-t-a", 0, 1 << 20, 51),
                connect("connect as host1", SUB, HOST1, id1),
                md5(Step.namespace(NS_UUID), 0, 1 << 20, Bytes.written(1 << 20, 51)))
        );
    }
}
