package io.dnv.core.volume.operation;

import io.dnv.core.DomainError;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeSpec;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static io.dnv.core.volume.operation.ScriptedPeers.Call;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CreateVolumeTest {

    static final List<String> CREATED = List.of("CreateRequested", "NodesChosen", "Reserved", "ObjectsApplied", "BecameReady");

    private static void create(VolumeBed bed) {
        TestProbe<Volume.Result> reply = bed.kit.createTestProbe();
        bed.volume.runCommand(new Volume.Create(bed.id, VolumeBed.SPEC, reply.ref()));
        assertTrue(reply.receiveMessage().volume().isPresent());
    }

    @Test
    void aCreateGoesThroughEveryStageToReadyAndMarksItsGroupsCreated() {
        try (VolumeBed bed = new VolumeBed("v1")) {
            create(bed);
            Volume.State s = bed.awaitState(st -> st.phase() == Volume.Phase.READY, "READY");
            assertEquals(CREATED, bed.journal());
            assertTrue(s.operation().isEmpty());
            assertTrue(s.placement().orElseThrow().legs().stream().allMatch(l -> l.groups().stream().noneMatch(g -> g.brandNew())));
            assertEquals(s.nodes().size(), bed.peers.calls(Call.MARK_CREATED).size(), "every node dropped the preparations");
        }
    }

    /**
     * Every stage is persisted before it acts: the entity restarted from its journal while a
     * stage's step is under way runs that stage again, and the create ends exactly as without
     * the restart (the step of the old incarnation is lost with it).
     */
    @Test
    void aCreateRestartedFromItsJournalAtEveryStageResumesThere() {
        Map<CreateVolume.Stage, Call> stepOf = Map.of(CreateVolume.Stage.CHOOSE, Call.NODES, CreateVolume.Stage.RESERVE, Call.PLACE_LEG,
                CreateVolume.Stage.APPLY, Call.SET_OBJECTS, CreateVolume.Stage.CONVERGE, Call.PROGRESS);
        for (CreateVolume.Stage stage : List.of(CreateVolume.Stage.CHOOSE, CreateVolume.Stage.RESERVE, CreateVolume.Stage.APPLY,
                CreateVolume.Stage.CONVERGE)) {
            try (VolumeBed bed = new VolumeBed("v-" + stage.name().toLowerCase())) {
                Call call = stepOf.get(stage);
                bed.peers.hold(call);
                create(bed);
                bed.awaitCall(call, 1);
                assertEquals(stage, ((CreateVolume) bed.volume.getState().operation().orElseThrow()).stage());
                bed.volume.restart();
                bed.awaitCall(call, 2);
                bed.peers.release(call);
                bed.awaitState(st -> st.phase() == Volume.Phase.READY, "READY after a restart at " + stage);
                assertEquals(CREATED, bed.journal(), "restarted at " + stage);
            }
        }
    }

    /** Journals from before a create finalized in its converge step hold a Converged: it resumes at FINALIZE. */
    @Test
    void anOlderJournalThatConvergedResumesAtFinalize() {
        try (VolumeBed bed = new VolumeBed("v-old")) {
            bed.peers.hold(Call.MARK_CREATED);
            create(bed);
            bed.awaitCall(Call.MARK_CREATED, 1);
            Volume.State reached = bed.volume.getState();
            List<Object> events = new java.util.ArrayList<>(bed.volume.persistenceTestKit()
                    .persistedInStorage("Volume|v-old"));
            events.add(new Volume.Converged());
            bed.volume.persistenceTestKit().clearAll();
            bed.volume.persistenceTestKit().persistForRecovery("Volume|v-old", events);
            bed.volume.restart();
            assertEquals(CreateVolume.Stage.FINALIZE, ((CreateVolume) bed.volume.getState().operation().orElseThrow()).stage(),
                    "from " + reached);
            bed.peers.release(Call.MARK_CREATED);
            bed.awaitState(st -> st.phase() == Volume.Phase.READY, "READY");
        }
    }

    /**
     * Right after a control member starts, the node entities have not heard their agents yet and
     * say DOWN. A create that chooses then waits for their heartbeats instead of failing.
     */
    @Test
    void aCreateWaitsForHeartbeatsInsteadOfFailingOnNodesNotHeardYet() {
        try (VolumeBed bed = new VolumeBed("v-fresh")) {
            bed.peers.settlingAnswers = 3;
            create(bed);
            bed.awaitState(st -> st.phase() == Volume.Phase.READY, "READY");
            assertTrue(bed.peers.calls(Call.NODES).size() >= 4, "asked again until the nodes were heard");
            assertEquals(CREATED, bed.journal());
        }
    }

    /** A FAILED create holds nothing; creating it again with the same spec tries again, with another spec is a conflict. */
    @Test
    void aFailedCreateIsRetriedByTheSameCreate() {
        try (VolumeBed bed = new VolumeBed("v-retry")) {
            bed.peers.noNodes = true;
            create(bed);
            Volume.State failed = bed.awaitState(st -> st.phase() == Volume.Phase.FAILED, "FAILED");
            assertTrue(failed.error().orElseThrow().contains("needs"), failed.error().toString());

            Volume.Result other = bed.volume.<Volume.Result>runCommand(r -> new Volume.Create("v-retry",
                    new VolumeSpec(128L << 20, 1, 1, 2, 2), r)).reply();
            assertInstanceOf(DomainError.Conflict.class, other.error().orElseThrow());

            bed.peers.noNodes = false;
            create(bed);
            bed.awaitState(st -> st.phase() == Volume.Phase.READY, "READY on the retry");
        }
    }

    /** A command that collides with the create is refused naming the operation and its stage; nothing is persisted. */
    @Test
    void anAttachDuringACreateIsRefusedNamingTheOperationAndStage() {
        try (VolumeBed bed = new VolumeBed("v-busy")) {
            bed.peers.hold(Call.SET_OBJECTS);
            create(bed);
            bed.awaitCall(Call.SET_OBJECTS, 1);
            int events = bed.journal().size();
            TestProbe<Volume.AttachResult> reply = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.Attach(VolumeBed.HOST_A, reply.ref()));
            DomainError.Conflict c = (DomainError.Conflict) reply.receiveMessage().error().orElseThrow();
            assertEquals(java.util.Optional.of("create"), c.operation());
            assertEquals(java.util.Optional.of("apply"), c.stage());
            assertEquals(events, bed.journal().size(), "nothing persisted");
            bed.peers.release(Call.SET_OBJECTS);
            bed.awaitState(st -> st.phase() == Volume.Phase.READY, "READY");
        }
    }

    /** The view shows the operation under way: its stage, how long it has run, what it waits for. */
    @Test
    void theViewShowsTheOperationAndWhatItWaitsFor() {
        try (VolumeBed bed = new VolumeBed("v-view")) {
            bed.peers.agentsConverge = false;
            create(bed);
            bed.awaitCall(Call.PROGRESS, 4);
            Volume.Result r = bed.volume.<Volume.Result>runCommand(Volume.Get::new).reply();
            var op = r.volume().orElseThrow().operation().orElseThrow();
            assertEquals("create", op.kind());
            assertEquals("converge", op.stage());
            assertTrue(op.waitingFor().orElseThrow().contains("objects not in place yet"), op.toString());
            assertTrue(op.requestedAt().isAfter(Instant.now().minus(Duration.ofMinutes(1))));
            bed.peers.agentsConverge = true;
            bed.awaitState(st -> st.phase() == Volume.Phase.READY, "READY");
        }
    }

    /** What a storage node's audit asks: a volume holds what it reserved on the nodes it chose, a FAILED one nothing. */
    @Test
    void aVolumeHoldsWhatItReservedOnTheNodesItChoseAndAFailedOneNothing() {
        try (VolumeBed bed = new VolumeBed("v-holds")) {
            bed.peers.hold(Call.PLACE_LEG);
            create(bed);
            bed.awaitCall(Call.PLACE_LEG, 1);
            java.util.Set<String> chosen = new java.util.TreeSet<>(bed.volume.getState().choice().orElseThrow().controllers());
            bed.volume.getState().choice().orElseThrow().sides().forEach(chosen::addAll);
            for (String node : java.util.List.of("n1", "n2", "n3", "n4", "n5", "n6")) {
                assertEquals(chosen.contains(node), holds(bed, node), node + " while reserving");
            }
            bed.peers.release(Call.PLACE_LEG);
            bed.awaitState(st -> st.phase() == Volume.Phase.READY, "READY");
            assertTrue(holds(bed, chosen.iterator().next()));
        }
        try (VolumeBed bed = new VolumeBed("v-failed")) {
            bed.peers.noNodes = true;
            create(bed);
            bed.awaitState(st -> st.phase() == Volume.Phase.FAILED, "FAILED");
            assertTrue(!holds(bed, "n1"));
        }
    }

    private static boolean holds(VolumeBed bed, String node) {
        return bed.volume.<Volume.Holding>runCommand(r -> new Volume.Holds(node, r)).reply().holds();
    }
}
