package io.dnv.core.volume.operation;

import io.dnv.core.kernel.AnaGroups;
import io.dnv.core.kernel.DmDevice;
import io.dnv.core.kernel.DmTarget;
import io.dnv.core.kernel.Names;
import io.dnv.core.plan.NodeObjects;
import io.dnv.core.volume.ConnectInfo;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeSpec;
import io.dnv.core.volume.VolumeView;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.dnv.core.volume.operation.ScriptedPeers.Call;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The failover of a volume as an operation (docs/failover.md): fence, promote, place a new
 * standby, each stage recorded and timed; its precedence over what the volume was doing (an
 * attach resumed against the new placement, a create rolled back and placed again, a delete
 * superseding it); a node's failure the volume was never told of; a restart at every stage.
 */
class FailOverTest {

    static final List<String> FAILED_OVER = List.of("FailoverRequested", "ObjectsApplied", "Fenced", "SuccessorPlaced", "ObjectsApplied",
            "Promoted", "StandbyChosen", "StandbyPlaced", "ObjectsApplied", "FailedOver");
    static final List<String> STAGES = List.of("fence", "fence_wait", "promote", "promote_apply", "promote_wait", "standby_choose",
            "standby_reserve", "standby_apply", "standby_wait");

    private static VolumeBed ready(String id, VolumeSpec spec) {
        VolumeBed bed = new VolumeBed(id);
        TestProbe<Volume.Result> reply = bed.kit.createTestProbe();
        bed.volume.runCommand(new Volume.Create(bed.id, spec, reply.ref()));
        bed.awaitState(st -> st.phase() == Volume.Phase.READY, "READY");
        return bed;
    }

    /** The node crashed: its agent is silent and the control plane declared it failed. */
    private static Volume.FailoverAck fail(VolumeBed bed, String node) {
        bed.peers.silent.add(node);
        bed.peers.declaredFailed.add(node);
        TestProbe<Volume.FailoverAck> ack = bed.kit.createTestProbe();
        bed.volume.runCommand(new Volume.ControllerFailed(node, ack.ref()));
        return ack.receiveMessage();
    }

    private static Volume.State failedOver(VolumeBed bed) {
        return bed.awaitState(st -> st.operation().isEmpty() && st.lastFailover().isPresent(), "failed over");
    }

    private static List<String> since(VolumeBed bed, String event) {
        List<String> j = bed.journal();
        return j.subList(j.indexOf(event), j.size());
    }

    /** What the volume asked {@code node} to hold from the {@code after}-th SetVolumeObjects on. */
    private static List<NodeObjects> objectsSentTo(VolumeBed bed, String node, int after) {
        List<NodeObjects> sent = new ArrayList<>();
        List<ScriptedPeers.Recorded> sets = bed.peers.calls(Call.SET_OBJECTS);
        for (int i = after; i < sets.size(); i++) {
            if (sets.get(i).node().equals(node)) {
                sent.add((NodeObjects) sets.get(i).detail());
            }
        }
        return sent;
    }

    private static List<String> nodesAsked(VolumeBed bed, Call call, int after) {
        List<ScriptedPeers.Recorded> all = bed.peers.calls(call);
        return all.subList(after, all.size()).stream().map(ScriptedPeers.Recorded::node).toList();
    }

    @Test
    void theActivesNodeFailsTheStandbyIsPromotedAndANewStandbyIsPlaced() {
        try (VolumeBed bed = ready("f1", VolumeBed.SPEC)) {
            Placement before = bed.volume.getState().placement().orElseThrow();
            String active = before.controllers().get(0).nodeId();
            String standby = before.controllers().get(1).nodeId();
            int sets = bed.peers.calls(Call.SET_OBJECTS).size();
            int progress = bed.peers.calls(Call.PROGRESS).size();
            int allocations = bed.peers.calls(Call.ALLOCATE_ANA).size();
            int releases = bed.peers.calls(Call.RELEASE_ANA).size();

            assertTrue(fail(bed, active).affected());
            Volume.State s = failedOver(bed);
            assertEquals(FAILED_OVER, since(bed, "FailoverRequested"));

            Placement after = s.placement().orElseThrow();
            assertEquals(2, after.controllers().size(), "the fenced controller left: " + after);
            Placement.Controller successor = after.controllers().get(0);
            Placement.Controller fresh = after.controllers().get(1);
            assertEquals(standby, successor.nodeId());
            assertEquals(Placement.Role.ACTIVE, successor.role());
            assertEquals(1, successor.idSlot(0), "the successor keeps its cntlid ranges");
            assertEquals(null, successor.replacing(), "its peers no longer keep the failed owner's paths");
            assertEquals(Placement.Role.STANDBY, fresh.role());
            assertFalse(Set.of(active, standby).contains(fresh.nodeId()), "a new node: " + fresh);
            assertEquals(2, fresh.idSlot(1), "neither the failed controller's cntlid range nor the successor's");
            assertEquals(Set.of(active), after.lost());

            List<ScriptedPeers.Recorded> allocated = bed.peers.calls(Call.ALLOCATE_ANA).subList(allocations,
                    bed.peers.calls(Call.ALLOCATE_ANA).size());
            assertEquals(List.of(new ScriptedPeers.Recorded(Call.ALLOCATE_ANA, fresh.nodeId(), AnaGroups.standbyOf(List.of(standby)))),
                    allocated, "the new standby's group is its node's standby domain of the actives of now");
            assertTrue(bed.peers.calls(Call.MOVE_ANA).contains(new ScriptedPeers.Recorded(Call.MOVE_ANA, standby, AnaGroups.ACTIVE)));

            // The failed node is handed nothing but the removal of what it held, and never waited for.
            objectsSentTo(bed, active, sets).forEach(o -> assertTrue(o.isEmpty(), "the failed node was handed " + o));
            assertFalse(nodesAsked(bed, Call.PROGRESS, progress).contains(active), "the failed node was waited for");
            assertTrue(nodesAsked(bed, Call.RELEASE_ANA, releases).contains(active), "the failed node gives its ANA group back");

            // The new standby: an error device of the stripe's size exported in its inaccessible
            // group; first in line, it imports every LD ahead of a promotion, and nothing else.
            List<NodeObjects> toFresh = objectsSentTo(bed, fresh.nodeId(), sets);
            NodeObjects standbyObjects = toFresh.get(toFresh.size() - 1);
            DmDevice device = standbyObjects.dmDevices().stream().filter(d -> d.name().equals(Names.volume(fresh.nodeId(), bed.id)))
                    .findFirst().orElseThrow();
            assertInstanceOf(DmTarget.Error.class, device.table().lines().get(0).target());
            Set<String> lds = new java.util.HashSet<>();
            for (int leg = 0; leg < after.legs().size(); leg++) {
                List<Placement.Group> groups = after.legs().get(leg).groups();
                for (int group = 0; group < groups.size(); group++) {
                    for (int side = 0; side < groups.get(group).sides().size(); side++) {
                        if (after.lost().contains(groups.get(group).sides().get(side).nodeId())) {
                            continue;   // the failed node's disk: nothing of it is imported
                        }
                        lds.add(Names.ldNqn(bed.id, leg, group, side, groups.get(group).sides().get(side).nodeId()));
                    }
                }
            }
            assertEquals(lds, standbyObjects.connections().stream().map(c -> c.subsystemNqn()).collect(java.util.stream.Collectors.toSet()),
                    "the new standby imports every LD but the lost node's, and nothing else");
            assertEquals(fresh.anaGroup(), standbyObjects.subsystems().stream().filter(sub -> sub.nqn().equals(Names.volumeNqn(bed.id)))
                    .findFirst().orElseThrow().namespaces().get(0).anaGroup());

            // Every stage with its timing, in the view and in the events.
            VolumeView view = view(bed);
            VolumeView.FailoverView f = view.lastFailover().orElseThrow();
            assertEquals(active, f.failedNode());
            assertEquals(standby, f.successor().orElseThrow());
            assertEquals(fresh.nodeId(), f.standby().orElseThrow());
            assertEquals(STAGES, f.stages().stream().map(VolumeView.StageTiming::stage).toList());
            assertTrue(f.stages().stream().allMatch(t -> t.millis() >= 0));
            assertEquals(f.millis(), f.stages().stream().mapToLong(VolumeView.StageTiming::millis).sum(), "the stages add up to the whole");
            assertTrue(f.note().isEmpty());
        }
    }

    @Test
    void withNowhereToPlaceAStandbyTheVolumeRunsWithoutOneSaysSoAndReservesNothing() {
        try (VolumeBed bed = ready("f2", VolumeBed.SPEC)) {
            Placement before = bed.volume.getState().placement().orElseThrow();
            String active = before.controllers().get(0).nodeId();
            for (int i = 1; i <= 6; i++) {
                bed.peers.fullPorts.add("n" + i);
            }
            int allocations = bed.peers.calls(Call.ALLOCATE_ANA).size();
            fail(bed, active);
            Volume.State s = failedOver(bed);
            assertEquals(List.of("FailoverRequested", "ObjectsApplied", "Fenced", "SuccessorPlaced", "ObjectsApplied", "Promoted",
                    "NoStandbyPlaced", "ObjectsApplied", "FailedOver"), since(bed, "FailoverRequested"));
            assertEquals(allocations, bed.peers.calls(Call.ALLOCATE_ANA).size(), "nothing reserved");
            assertEquals(1, s.placement().orElseThrow().controllers().size());
            VolumeView.FailoverView f = view(bed).lastFailover().orElseThrow();
            assertTrue(f.standby().isEmpty());
            assertTrue(f.note().orElseThrow().contains("no controller node up with an ANA group"), f.toString());
        }
    }

    /** The node chosen had room when it was looked at and none when asked: what it may have reserved is given back. */
    @Test
    void aStandbyRefusedByItsNodeIsGivenBackAndTheVolumeRunsWithout() {
        try (VolumeBed bed = ready("f3", VolumeBed.SPEC)) {
            String active = bed.volume.getState().placement().orElseThrow().controllers().get(0).nodeId();
            for (int i = 1; i <= 6; i++) {
                bed.peers.refuseAna.add("n" + i);
            }
            int releases = bed.peers.calls(Call.RELEASE_ANA).size();
            fail(bed, active);
            failedOver(bed);
            assertEquals(List.of("Promoted", "StandbyChosen", "NoStandbyPlaced", "ObjectsApplied", "FailedOver"), since(bed, "Promoted"));
            String chosen = bed.volume.getState().lastFailover().orElseThrow().standby();
            assertTrue(chosen.isEmpty(), "the summary names no standby");
            List<String> released = nodesAsked(bed, Call.RELEASE_ANA, releases);
            List<ScriptedPeers.Recorded> asked = bed.peers.calls(Call.ALLOCATE_ANA);
            String refusedBy = asked.get(asked.size() - 1).node();
            assertTrue(released.contains(refusedBy), "the refusing node was told to give back: " + released);
            assertTrue(view(bed).lastFailover().orElseThrow().note().orElseThrow().contains("could not reserve"));
        }
    }

    @Test
    void aFailedStandbyIsReplacedAndTheActiveServesOn() {
        try (VolumeBed bed = ready("f4", VolumeBed.SPEC)) {
            Placement before = bed.volume.getState().placement().orElseThrow();
            String active = before.controllers().get(0).nodeId();
            String standby = before.controllers().get(1).nodeId();
            int moves = bed.peers.calls(Call.MOVE_ANA).size();
            fail(bed, standby);
            Volume.State s = failedOver(bed);
            assertEquals(List.of("FailoverRequested", "ObjectsApplied", "Fenced", "Promoted", "StandbyChosen", "StandbyPlaced",
                    "ObjectsApplied", "FailedOver"), since(bed, "FailoverRequested"));
            Placement after = s.placement().orElseThrow();
            assertEquals(before.controllers().get(0), after.controllers().get(0), "the active is untouched");
            assertNotEquals(standby, after.controllers().get(1).nodeId());
            assertNotEquals(active, after.controllers().get(1).nodeId());
            assertEquals(2, after.controllers().get(1).idSlot(1), "not the failed standby's cntlid range: hosts may hold it still");
            assertEquals(moves, bed.peers.calls(Call.MOVE_ANA).size(), "nobody promoted");
            assertTrue(view(bed).lastFailover().orElseThrow().successor().isEmpty());
        }
    }

    /**
     * An attach waiting for the active's agent when its node fails: the failover takes over, then
     * the attach goes into the kernels of the new placement, and its caller hears the paths of
     * the successor and the new standby, never of the failed node.
     */
    @Test
    void anAttachCaughtByAFailoverEndsOnTheNewPlacement() {
        try (VolumeBed bed = ready("f5", VolumeBed.SPEC)) {
            Placement before = bed.volume.getState().placement().orElseThrow();
            String active = before.controllers().get(0).nodeId();
            String standby = before.controllers().get(1).nodeId();
            bed.peers.silent.add(active);
            int sets = bed.peers.calls(Call.SET_OBJECTS).size();
            TestProbe<Volume.AttachResult> attach = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.Attach(VolumeBed.HOST_A, attach.ref()));
            bed.awaitState(st -> st.operation().filter(op -> op instanceof ChangeAttachments c
                    && c.stage() == ChangeAttachments.Stage.CONVERGE).isPresent(), "waiting for the active's agent");
            attach.expectNoMessage(java.time.Duration.ofMillis(300));

            fail(bed, active);
            ConnectInfo info = attach.receiveMessage(java.time.Duration.ofSeconds(20)).connect().orElseThrow();
            Volume.State s = bed.awaitState(st -> st.operation().isEmpty(), "no operation");
            assertEquals(List.of(VolumeBed.HOST_A), s.exported());
            List<String> j = since(bed, "FailoverRequested");
            assertTrue(j.indexOf("FailedOver") < j.lastIndexOf("Converged"), "the attach ended after the failover: " + j);

            Placement after = s.placement().orElseThrow();
            String fresh = after.controllers().get(1).nodeId();
            assertEquals(List.of(address(standby), address(fresh)), info.paths().stream().map(ConnectInfo.Path::address).toList());
            assertEquals(List.of("optimized", "inaccessible"), info.paths().stream().map(ConnectInfo.Path::anaState).toList());
            objectsSentTo(bed, active, sets).subList(1, objectsSentTo(bed, active, sets).size())
                    .forEach(o -> assertTrue(o.isEmpty(), "applied to the failed node: " + o));
            for (String node : List.of(standby, fresh)) {
                List<NodeObjects> sent = objectsSentTo(bed, node, sets);
                assertEquals(List.of(VolumeBed.HOST_A), sent.get(sent.size() - 1).subsystems().stream()
                        .filter(sub -> sub.nqn().equals(Names.volumeNqn(bed.id))).findFirst().orElseThrow().allowedHosts(), node);
            }
        }
    }

    /**
     * A node of a create fails while the create waits for it: the create is rolled back (its
     * objects off every node, its reservations given back) and placed again without the node,
     * which the placer would otherwise still take (it looks up for a while after its crash).
     */
    @Test
    void aCreateWhoseNodeFailsIsRolledBackAndPlacedAgainWithoutIt() {
        try (VolumeBed bed = new VolumeBed("f6")) {
            bed.peers.hold(Call.PROGRESS);
            TestProbe<Volume.Result> reply = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.Create(bed.id, VolumeBed.SPEC, reply.ref()));
            bed.awaitCall(Call.PROGRESS, 1);
            Placement first = bed.volume.getState().placement().orElseThrow();
            String lost = first.controllers().get(0).nodeId();
            bed.peers.declaredFailed.add(lost);
            TestProbe<Volume.FailoverAck> ack = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.ControllerFailed(lost, ack.ref()));
            assertTrue(ack.receiveMessage().affected());
            int setsAtLoss = bed.peers.calls(Call.SET_OBJECTS).size();
            bed.peers.release(Call.PROGRESS);

            Volume.State s = bed.awaitState(st -> st.phase() == Volume.Phase.READY, "READY");
            assertEquals(List.of("PlacementLost", "ObjectsRemoved", "PlacementRefused", "NodesChosen", "Reserved", "ObjectsApplied",
                    "BecameReady"), since(bed, "PlacementLost"));
            assertFalse(s.nodes().contains(lost), "placed again without " + lost + ": " + s.placement());
            assertTrue(first.controllers().stream().allMatch(c -> bed.peers.calls(Call.RELEASE_ANA).stream()
                    .anyMatch(r -> r.node().equals(c.nodeId()))), "every chosen controller node gave its group back");
            assertEquals(VolumeBed.SPEC.legCount(), bed.peers.calls(Call.RELEASE_LEG).size(), "every leg gave its extents back");
            // The first placement was taken off every one of its nodes before anything was reserved again.
            List<ScriptedPeers.Recorded> sets = bed.peers.calls(Call.SET_OBJECTS);
            for (String node : nodesOf(first)) {
                assertTrue(sets.subList(setsAtLoss, sets.size()).stream().anyMatch(r -> r.node().equals(node)
                        && ((NodeObjects) r.detail()).isEmpty()), node + " was not told to hold nothing");
            }
            objectsSentTo(bed, lost, setsAtLoss).forEach(o -> assertTrue(o.isEmpty(), "the failed node was handed " + o));
            bed.peers.legs().values().forEach(groups -> groups.forEach(g -> g.sides()
                    .forEach(x -> assertNotEquals(lost, x.nodeId(), "a leg holds an extent on the failed node"))));
            assertTrue(s.error().isEmpty() || s.error().get().contains(lost));
        }
    }

    /**
     * The control plane declared a node failed before the create held anything there, so nobody
     * told the create: it finds the node failed while waiting for it, and rolls back by itself.
     */
    @Test
    void aCreateWaitingForANodeDeclaredFailedFindsOutByItself() {
        try (VolumeBed bed = new VolumeBed("f7")) {
            bed.peers.hold(Call.PROGRESS);
            TestProbe<Volume.Result> reply = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.Create(bed.id, VolumeBed.SPEC, reply.ref()));
            bed.awaitCall(Call.PROGRESS, 1);
            String lost = bed.volume.getState().placement().orElseThrow().controllers().get(1).nodeId();
            bed.peers.silent.add(lost);
            bed.peers.declaredFailed.add(lost);
            bed.peers.release(Call.PROGRESS);
            Volume.State s = bed.awaitState(st -> st.phase() == Volume.Phase.READY, "READY");
            assertTrue(bed.journal().contains("PlacementLost"), bed.journal().toString());
            assertFalse(s.nodes().contains(lost));
            assertTrue(bed.peers.calls(Call.HEALTH).stream().anyMatch(r -> r.node().equals(lost)));
        }
    }

    /** The same for a READY volume's attach: the node of its active was declared failed, the volume was never told. */
    @Test
    void anAttachWaitingForANodeDeclaredFailedStartsTheFailoverByItself() {
        try (VolumeBed bed = ready("f8", VolumeBed.SPEC)) {
            String active = bed.volume.getState().placement().orElseThrow().controllers().get(0).nodeId();
            bed.peers.silent.add(active);
            bed.peers.declaredFailed.add(active);
            TestProbe<Volume.AttachResult> attach = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.Attach(VolumeBed.HOST_A, attach.ref()));
            assertTrue(attach.receiveMessage(java.time.Duration.ofSeconds(20)).connect().isPresent());
            assertTrue(bed.journal().contains("FailedOver"));
            assertFalse(bed.volume.getState().placement().orElseThrow().controllers().stream().anyMatch(c -> c.nodeId().equals(active)));
        }
    }

    /** A delete supersedes a failover under way; every place the volume may hold is given back. */
    @Test
    void aDeleteSupersedesAFailover() {
        try (VolumeBed bed = ready("f9", VolumeBed.SPEC)) {
            Placement before = bed.volume.getState().placement().orElseThrow();
            String active = before.controllers().get(0).nodeId();
            bed.peers.hold(Call.PROGRESS);
            int progress = bed.peers.calls(Call.PROGRESS).size();
            fail(bed, active);
            bed.awaitCall(Call.PROGRESS, progress + 1);
            TestProbe<Volume.Result> delete = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.Delete(delete.ref()));
            assertTrue(delete.receiveMessage().volume().isPresent(), "accepted while the failover waits for the fence");
            bed.peers.release(Call.PROGRESS);
            bed.awaitState(st -> st.phase() == Volume.Phase.DELETED, "DELETED");
            assertEquals(List.of("FailoverRequested", "ObjectsApplied", "DeleteRequested", "ObjectsRemoved", "Deleted"),
                    since(bed, "FailoverRequested"));
            for (Placement.Controller c : before.controllers()) {
                assertTrue(bed.peers.calls(Call.RELEASE_ANA).stream().anyMatch(r -> r.node().equals(c.nodeId())), c.nodeId());
            }
            assertTrue(bed.peers.legs().isEmpty(), "every leg gave its extents back");
        }
    }

    /** Two actives: the one left keeps its slot, the failed one's slot is the standby's, and its peer keeps the old path meanwhile. */
    @Test
    void oneOfTwoActivesFailsItsSlotIsPromotedAndItsPeerKeepsTheOldPathUntilThen() {
        VolumeSpec two = new VolumeSpec(64L << 20, 2, 1, 2, 2);
        try (VolumeBed bed = ready("f10", two)) {
            Placement before = bed.volume.getState().placement().orElseThrow();
            String kept = before.controllers().get(0).nodeId();
            String failed = before.controllers().get(1).nodeId();
            String standby = before.controllers().get(2).nodeId();
            bed.peers.hold(Call.PROGRESS);
            int sets = bed.peers.calls(Call.SET_OBJECTS).size();
            fail(bed, failed);
            // Let the fence and the promotion's apply through; hold at PROMOTE_WAIT.
            awaitStepOf(bed, FailOver.Stage.PROMOTE_WAIT, Call.PROGRESS);
            Placement promoting = bed.volume.getState().placement().orElseThrow();
            assertEquals(List.of(kept, standby, failed), promoting.controllers().stream().map(Placement.Controller::nodeId).toList());
            assertEquals(failed, promoting.controllers().get(1).replacing());
            List<NodeObjects> toKept = objectsSentTo(bed, kept, sets);
            String legNqn = Names.legNqn(bed.id, 2);
            List<String> paths = toKept.get(toKept.size() - 1).connections().stream().filter(c -> c.subsystemNqn().equals(legNqn))
                    .map(c -> c.address()).toList();
            assertEquals(Set.of(address(failed), address(standby)), Set.copyOf(paths), "the old path and the new one");
            bed.peers.release(Call.PROGRESS);
            Volume.State s = failedOver(bed);
            Placement after = s.placement().orElseThrow();
            assertEquals(kept, after.controllers().get(0).nodeId());
            assertEquals(before.controllers().get(0), after.controllers().get(0), "the other active is untouched");
            assertEquals(standby, after.controllers().get(1).nodeId());
            List<NodeObjects> finally_ = objectsSentTo(bed, kept, sets);
            assertEquals(List.of(address(standby)), finally_.get(finally_.size() - 1).connections().stream()
                    .filter(c -> c.subsystemNqn().equals(legNqn)).map(c -> c.address()).toList(), "only the successor's path");
            assertEquals(AnaGroups.standbyOf(List.of(kept, standby)), bed.peers.calls(Call.ALLOCATE_ANA)
                    .get(bed.peers.calls(Call.ALLOCATE_ANA).size() - 1).detail());
        }
    }

    /** Every stage is persisted before it acts: restarted from the journal at any stage, the failover resumes there. */
    @Test
    void aFailoverRestartedFromItsJournalAtEveryStageResumesThere() {
        Map<FailOver.Stage, Call> stepOf = Map.of(FailOver.Stage.FENCE, Call.SET_OBJECTS, FailOver.Stage.FENCE_WAIT, Call.PROGRESS,
                FailOver.Stage.PROMOTE, Call.MOVE_ANA, FailOver.Stage.PROMOTE_APPLY, Call.SET_OBJECTS, FailOver.Stage.PROMOTE_WAIT,
                Call.PROGRESS, FailOver.Stage.STANDBY_CHOOSE, Call.NODES, FailOver.Stage.STANDBY_RESERVE, Call.ALLOCATE_ANA,
                FailOver.Stage.STANDBY_APPLY, Call.SET_OBJECTS, FailOver.Stage.STANDBY_WAIT, Call.PROGRESS);
        for (FailOver.Stage stage : FailOver.Stage.values()) {
            try (VolumeBed bed = ready("fr-" + stage.name().toLowerCase().replace('_', '-'), VolumeBed.SPEC)) {
                String active = bed.volume.getState().placement().orElseThrow().controllers().get(0).nodeId();
                Call call = stepOf.get(stage);
                bed.peers.hold(call);
                fail(bed, active);
                awaitStepOf(bed, stage, call);
                int before = bed.peers.calls(call).size();
                bed.volume.restart();
                bed.awaitCall(call, before + 1);
                assertEquals(stage, ((FailOver) bed.volume.getState().operation().orElseThrow()).stage(), "resumed at " + stage);
                bed.peers.release(call);
                failedOver(bed);
                assertEquals(FAILED_OVER, since(bed, "FailoverRequested"), "restarted at " + stage);
                assertEquals(STAGES, view(bed).lastFailover().orElseThrow().stages().stream().map(VolumeView.StageTiming::stage).toList());
            }
        }
    }

    /** Lets held calls of earlier stages go until the step of {@code stage} is the one held. */
    private static void awaitStepOf(VolumeBed bed, FailOver.Stage stage, Call call) {
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (bed.peers.waitingCount() > 0) {
                if (bed.volume.getState().operation().orElseThrow() instanceof FailOver f && f.stage() == stage) {
                    return;
                }
                bed.peers.releaseWaiting();
            }
            VolumeBed.sleep(5);
        }
        throw new AssertionError("never held at " + stage + "; now " + bed.volume.getState().operation() + ", journal " + bed.journal());
    }

    private static VolumeView view(VolumeBed bed) {
        TestProbe<Volume.Result> get = bed.kit.createTestProbe();
        bed.volume.runCommand(new Volume.Get(get.ref()));
        return get.receiveMessage().volume().orElseThrow();
    }

    private static String address(String node) {
        return io.dnv.core.plan.Fixtures.sixNodes().get(node).address();
    }

    private static Set<String> nodesOf(Placement p) {
        Set<String> nodes = new java.util.TreeSet<>();
        p.controllers().forEach(c -> nodes.add(c.nodeId()));
        p.legs().forEach(l -> l.groups().forEach(g -> g.sides().forEach(x -> nodes.add(x.nodeId()))));
        return nodes;
    }
}
