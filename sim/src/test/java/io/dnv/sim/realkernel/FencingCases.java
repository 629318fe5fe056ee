package io.dnv.sim.realkernel;

import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.ObservedKernel;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import static io.dnv.sim.realkernel.DifferentialCase.steps;
import static io.dnv.sim.realkernel.Exports.HOST1;
import static io.dnv.sim.realkernel.Exports.HOST2;
import static io.dnv.sim.realkernel.Exports.NS_UUID;
import static io.dnv.sim.realkernel.Exports.SUB;
import static io.dnv.sim.realkernel.Exports.connect;
import static io.dnv.sim.realkernel.Exports.export;
import static io.dnv.sim.realkernel.Exports.peerConnects;
import static io.dnv.sim.realkernel.Step.awaitWrite;
import static io.dnv.sim.realkernel.Step.md5;
import static io.dnv.sim.realkernel.Step.ok;
import static io.dnv.sim.realkernel.Step.okOn;
import static io.dnv.sim.realkernel.Step.onPeer;
import static io.dnv.sim.realkernel.Step.pause;
import static io.dnv.sim.realkernel.Step.startWrite;
import static io.dnv.sim.realkernel.Step.write;

/**
 * The seed's consistency rule at kernel level: no write issued through a failed controller may
 * land after a write issued through its successor. The kernel under test is the disk node (its
 * LD dnv-t-a exported to host1) and the successor S (host2, connecting to its own port); its
 * peer is the failed controller F (host1), whose device dnv-t-f maps the imported LD. F is
 * fenced in dataplane.md's order: allow-list, unlink (drops F's connection), suspend/resume of
 * the LD (F's I/O that reached it lands now), and only then is S allowed in.
 */
final class FencingCases {

    private static final int MIB = 1 << 20;

    private FencingCases() {}

    /** The LD exported to F, F connected with its own device over the import, S's host entry ready. */
    private static List<Step> setup() {
        List<Step> steps = new ArrayList<>(export());
        steps.add(ok("S's host entry", k -> k.nvmetHostCreate(HOST2)));
        steps.add(peerConnects("F connects", SUB, HOST1));
        steps.add(okOn("peer: F's device over its import", k -> k.peer().kernel().dmCreate("dnv-t-f",
                "0 8192 linear " + namespacePath(k.peer()) + " 0")));
        return steps;
    }

    private static List<Step> fence() {
        return List.of(
            ok("fence: disallow F", k -> k.nvmetDisallowHost(SUB, HOST1)),
            ok("fence: unlink (drops F's connection)", k -> k.nvmetUnlink(1, SUB)),
            ok("fence: suspend the LD", k -> k.dmSuspend("dnv-t-a")),
            ok("fence: resume the LD", k -> k.dmResume("dnv-t-a")));
    }

    /** S is allowed in, connects to the disk node and writes #{@code seed} at the start of the LD. */
    private static List<Step> successorWrites(long seed) {
        return List.of(
            ok("allow S", k -> k.nvmetAllowHost(SUB, HOST2)),
            connect("S connects", SUB, HOST2, Names.hostId(HOST2)),
            write(Step.namespace(NS_UUID), 0, MIB, seed));
    }

    static List<DifferentialCase> all() {
        return List.of(
            DifferentialCase.twoKernels("fencing: a write held inside F (its device suspended) fails when released after S wrote; the block keeps S's bytes",
                steps(setup(),
                    onPeer(write("/dev/mapper/dnv-t-f", 0, MIB, 101)),
                    onPeer(ok("suspend F's device (holds F's next write)", k -> k.dmSuspend("dnv-t-f"))),
                    onPeer(startWrite("x", "/dev/mapper/dnv-t-f", 0, MIB, 102)),
                    pause(Duration.ofMillis(500)),
                    fence(),
                    ok("link again", k -> k.nvmetLink(1, SUB)),
                    successorWrites(103),
                    onPeer(ok("resume F's device (releases the held write)", k -> k.dmResume("dnv-t-f"))),
                    onPeer(awaitWrite("x", Duration.ofSeconds(15), "failed EIO")),
                    md5("/dev/mapper/dnv-t-a", 0, MIB, Bytes.written(MIB, 103)))),
            DifferentialCase.twoKernels("fencing, control in the wrong order: with F only taken off the allow-list, its held write lands after S's",
                steps(setup(),
                    onPeer(write("/dev/mapper/dnv-t-f", 0, MIB, 101)),
                    onPeer(ok("suspend F's device (holds F's next write)", k -> k.dmSuspend("dnv-t-f"))),
                    onPeer(startWrite("x", "/dev/mapper/dnv-t-f", 0, MIB, 102)),
                    pause(Duration.ofMillis(500)),
                    ok("disallow F, and nothing else", k -> k.nvmetDisallowHost(SUB, HOST1)),
                    successorWrites(103),
                    onPeer(ok("resume F's device (releases the held write)", k -> k.dmResume("dnv-t-f"))),
                    onPeer(awaitWrite("x", Duration.ofSeconds(15), "ok")),
                    md5("/dev/mapper/dnv-t-a", 0, MIB, Bytes.written(MIB, 102)))),
            DifferentialCase.twoKernels("fencing: a write of F held in the disk node's suspended LD lands at the fence's resume and fails on F; S's bytes stay",
                steps(setup(),
                    onPeer(write(Step.namespace(NS_UUID), 0, MIB, 104)),
                    ok("suspend the LD (holds what reaches it)", k -> k.dmSuspend("dnv-t-a")),
                    onPeer(startWrite("x", Step.namespace(NS_UUID), 0, MIB, 105)),
                    pause(Duration.ofMillis(500)),
                    fence(),
                    pause(Duration.ofMillis(500)),
                    md5("/dev/mapper/dnv-t-a", 0, MIB, Bytes.written(MIB, 105)),
                    ok("link again", k -> k.nvmetLink(1, SUB)),
                    successorWrites(106),
                    onPeer(awaitWrite("x", Duration.ofSeconds(15), "failed EIO")),
                    md5("/dev/mapper/dnv-t-a", 0, MIB, Bytes.written(MIB, 106))))
        );
    }

    /** The path of F's namespace head: it appears once the connect's scan is done. */
    private static String namespacePath(KernelUnderTest k) {
        for (int i = 0; i < 50; i++) {
            String p = k.kernel().observeHost().blockDevices().stream().filter(b -> b.uuid().filter(NS_UUID::equals).isPresent())
                    .map(ObservedKernel.BlockDevice::path).findFirst().orElse(null);
            if (p != null) {
                return p;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
        }
        throw new IllegalStateException("F's namespace head never appeared");
    }
}
