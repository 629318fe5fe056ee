package io.dnv.app;

import io.dnv.core.kernel.NvmetPort;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.node.NodeInfo;
import io.dnv.node.agent.NodeAgent;
import io.dnv.node.sim.SimulatedKernel;
import io.dnv.node.sim.nvme.Fabric;
import org.apache.pekko.actor.Address;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Down;
import org.apache.pekko.cluster.typed.Join;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * A controller or agent exits non-zero when the cluster removed its member (systemd then starts
 * it again as a new incarnation), and 0 when it was stopped by a signal.
 */
class MemberExitTest {

    @TempDir
    Path dir;

    @Test
    void onlyAStopAskedForBySignalExitsZero() {
        assertEquals(0, MemberExit.code(Optional.of(CoordinatedShutdown.jvmExitReason())));
        assertEquals(MemberExit.REMOVED, MemberExit.code(Optional.of(CoordinatedShutdown.clusterDowningReason())), "downed");
        assertEquals(MemberExit.REMOVED, MemberExit.code(Optional.of(CoordinatedShutdown.clusterLeavingReason())), "left, not by our stop");
        assertEquals(MemberExit.FAILED, MemberExit.code(Optional.of(CoordinatedShutdown.actorSystemTerminateReason())), "stopped by itself");
        assertEquals(MemberExit.FAILED, MemberExit.code(Optional.empty()), "stopped without a coordinated shutdown");
    }

    /** As the split-brain resolver does to a member on the minority side. */
    @Test
    void aDownedMemberEndsItsSystemWithTheDowningReasonAndExitsNonZero() throws Exception {
        String address = "127.0.6.1";
        SimulatedKernel kernel = new SimulatedKernel(address, new Fabric()).addDisk("/dev/ram0", dir.resolve("d0"), 8L << 20);
        try {
            NodeInfo info = new NodeInfo(new NodeEndpoints("x1", address, Optional.of("/dev/ram0"),
                    Optional.of(NvmetPort.tcp(1, address, 4420)), Optional.empty(), List.of()), 8L << 20, Set.of("disk"), Map.of(),
                    kernel.capabilities());
            ActorSystem<Void> member = Members.storageNode("127.0.0.1", 0, List.of(), info, kernel, NodeAgent.Settings.DEFAULT);
            CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> {
                try {
                    return MemberExit.await(member);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Cluster cluster = Cluster.get(member);
            Address self = cluster.selfMember().address();
            cluster.manager().tell(Join.create(self));
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (cluster.selfMember().status() != MemberStatus.up() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertEquals(MemberStatus.up(), cluster.selfMember().status(), "joined itself");

            cluster.manager().tell(new Down(self));
            int status = exit.get(30, TimeUnit.SECONDS);
            assertEquals(Optional.of(CoordinatedShutdown.clusterDowningReason()), CoordinatedShutdown.get(member).getShutdownReason());
            assertEquals(MemberExit.REMOVED, status);
        } finally {
            kernel.shutdown();
        }
    }
}
