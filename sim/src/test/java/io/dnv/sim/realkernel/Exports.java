package io.dnv.sim.realkernel;

import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.kernel.ObservedKernel;

import java.util.List;
import java.util.UUID;

import static io.dnv.sim.realkernel.Step.ok;
import static io.dnv.sim.realkernel.Step.okOn;

/** The export most nvmet cases start from, and the connects to it. */
final class Exports {

    static final String SUB = "nqn.2024-01.io.dnv:t:sub1";
    static final String SUB2 = "nqn.2024-01.io.dnv:t:sub2";
    static final String SUB3 = "nqn.2024-01.io.dnv:t:sub3";
    static final String HOST1 = "nqn.2024-01.io.dnv:t:host1";
    static final String HOST2 = "nqn.2024-01.io.dnv:t:host2";
    static final UUID NS_UUID = Names.namespaceUuid(SUB);
    /**
     * Keep-alive 5 s, ctrl-loss 10 s, reconnect every 1 s, fail I/O 2 s after a loss: short, so a
     * fenced write fails within the cases' deadlines (the product's own are in ConnectTimeouts).
     */
    static final ConnectTimeouts TIMEOUTS = new ConnectTimeouts(5, 10, 1, 2);

    private Exports() {}

    /** A linear of {@code sectors} on ram0 exported as SUB (nsid 1) on port 1 (svc 4420) of this kernel, allowing HOST1. */
    static List<Step> export(long sectors) {
        return List.of(
            ok("device", k -> k.dmCreate("dnv-t-a", "0 " + sectors + " linear /dev/ram0 0")),
            okOn("port 1", k -> k.kernel().nvmetPortCreate(NvmetPort.tcp(1, k.address(), 4420))),
            ok("subsystem", k -> k.nvmetSubsystemCreate(SUB, 1, 100, "dnvtest0001")),
            ok("host entry", k -> k.nvmetHostCreate(HOST1)),
            ok("allow host1", k -> k.nvmetAllowHost(SUB, HOST1)),
            ok("namespace", k -> k.nvmetNamespaceCreate(SUB, 1, "/dev/mapper/dnv-t-a", NS_UUID, Names.nguid(NS_UUID), 1)),
            ok("enable", k -> k.nvmetNamespaceEnable(SUB, 1, true)),
            ok("link", k -> k.nvmetLink(1, SUB)));
    }

    static List<Step> export() {
        return export(8192);
    }

    /** A connection to port 1 (svc 4420) at {@code address}. */
    static NvmeConnection connection(String address, String nqn, String host, UUID hostId) {
        return new NvmeConnection("tcp", address, 4420, nqn, host, hostId, TIMEOUTS);
    }

    /** This kernel connects to its own port 1. */
    static Step connect(String what, String nqn, String host, UUID hostId) {
        return okOn(what, k -> k.kernel().nvmeConnect(connection(k.address(), nqn, host, hostId)));
    }

    static Step connectRefused(String errno, String what, String nqn, String host, UUID hostId) {
        return Step.refusedOn(errno, what, k -> k.kernel().nvmeConnect(connection(k.address(), nqn, host, hostId)));
    }

    /** The peer connects to this kernel's port 1. */
    static Step peerConnects(String what, String nqn, String host) {
        return okOn("peer: " + what, k -> k.peer().kernel().nvmeConnect(connection(k.address(), nqn, host, Names.hostId(host))));
    }

    /** Waits (up to 10 s) until every controller of the subsystem is, or is not, live. */
    static Step awaitLive(String nqn, boolean live) {
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
        }, Step.Expect.of("yes"));
    }

    /**
     * Waits (up to 10 s) until the host holds {@code count} namespace heads: a host learns a
     * path's ANA state from an AEN and the log it then reads, not at once.
     */
    static Step awaitHeads(long count) {
        return new Step("namespace heads within 10 s", k -> {
            long heads = -1;
            for (int i = 0; i < 100 && heads != count; i++) {
                if (i > 0) {
                    Thread.sleep(100);
                }
                heads = k.kernel().observe().blockDevices().stream().filter(b -> b.uuid().isPresent()).count();
            }
            return Step.Outcome.of(Long.toString(heads));
        }, Step.Expect.of(Long.toString(count)));
    }

    /** The size in sectors of the namespace head with {@code uuid}, -1 while there is none. */
    static long headSize(ObservedKernel k, UUID uuid) {
        return k.namespace(uuid).map(ObservedKernel.BlockDevice::sizeSectors).orElse(-1L);
    }
}
