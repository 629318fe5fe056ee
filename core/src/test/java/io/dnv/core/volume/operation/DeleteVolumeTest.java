package io.dnv.core.volume.operation;

import io.dnv.core.DomainError;
import io.dnv.core.plan.NodeObjects;
import io.dnv.core.volume.Volume;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Optional;

import static io.dnv.core.volume.operation.ScriptedPeers.Call;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DeleteVolumeTest {

    private static void create(VolumeBed bed) {
        TestProbe<Volume.Result> reply = bed.kit.createTestProbe();
        bed.volume.runCommand(new Volume.Create(bed.id, VolumeBed.SPEC, reply.ref()));
        reply.receiveMessage();
    }

    private static Volume.Result delete(VolumeBed bed) {
        return bed.volume.<Volume.Result>runCommand(Volume.Delete::new).reply();
    }

    /**
     * A DELETE accepted while the create's apply step runs: that step's answer comes back after
     * the delete was persisted and must not count (it did for the delete, which then skipped
     * removing the objects and freed the extents under them). The delete waits for the step,
     * then removes the objects from every node, then releases.
     */
    @Test
    void aDeleteDuringACreateSupersedesItAndTheCreatesStepResultIsDropped() {
        try (VolumeBed bed = new VolumeBed("d1")) {
            bed.peers.hold(Call.SET_OBJECTS);
            create(bed);
            bed.awaitCall(Call.SET_OBJECTS, 1);
            assertTrue(delete(bed).volume().isPresent(), "accepted");
            int applied = bed.peers.calls(Call.SET_OBJECTS).size();
            bed.peers.release(Call.SET_OBJECTS);
            bed.awaitState(st -> st.phase() == Volume.Phase.DELETED, "DELETED");

            assertEquals(List.of("CreateRequested", "NodesChosen", "Reserved", "DeleteRequested", "ObjectsRemoved", "Deleted"),
                    bed.journal(), "the create's apply never landed");
            List<ScriptedPeers.Recorded> sets = bed.peers.calls(Call.SET_OBJECTS);
            List<ScriptedPeers.Recorded> removals = sets.subList(applied, sets.size());
            assertTrue(removals.stream().allMatch(c -> c.detail().equals(NodeObjects.NONE)), removals.toString());
            assertEquals(sets.subList(0, applied).stream().map(ScriptedPeers.Recorded::node).sorted().toList(),
                    removals.stream().map(ScriptedPeers.Recorded::node).sorted().toList(), "every node the create reached");
            int firstRelease = bed.peers.calls.indexOf(bed.peers.calls(Call.RELEASE_LEG).get(0));
            int lastRemoval = bed.peers.calls.indexOf(removals.get(removals.size() - 1));
            assertTrue(lastRemoval < firstRelease, "removed before released");
            assertEquals(VolumeBed.SPEC.legCount(), bed.peers.calls(Call.RELEASE_LEG).size());
            assertEquals(VolumeBed.SPEC.controllerCount(), bed.peers.calls(Call.RELEASE_ANA).size());
        }
    }

    /**
     * The create's last step (mark created) answers the same kind of result as the delete's
     * remove step: only the attempt tells them apart. Taken for the delete's, the volume would
     * record its objects removed without having removed anything.
     */
    @Test
    void aStaleResultOfTheSameKindIsDroppedToo() {
        try (VolumeBed bed = new VolumeBed("d5")) {
            bed.peers.hold(Call.MARK_CREATED);
            create(bed);
            bed.awaitCall(Call.MARK_CREATED, 1);
            int before = bed.peers.calls(Call.SET_OBJECTS).size();
            delete(bed);
            bed.peers.release(Call.MARK_CREATED);
            bed.awaitState(st -> st.phase() == Volume.Phase.DELETED, "DELETED");
            List<ScriptedPeers.Recorded> removals = bed.peers.calls(Call.SET_OBJECTS).subList(before,
                    bed.peers.calls(Call.SET_OBJECTS).size());
            assertEquals(bed.peers.calls(Call.MARK_CREATED).size(), removals.size(), "every node was told to remove: " + removals);
            assertTrue(removals.stream().allMatch(c -> c.detail().equals(NodeObjects.NONE)));
        }
    }

    /** Superseding a create that is still choosing: nothing was applied anywhere, the legs and groups are released. */
    @Test
    void aDeleteWhileChoosingReleasesWithoutRemoving() {
        try (VolumeBed bed = new VolumeBed("d2")) {
            bed.peers.hold(Call.NODES);
            create(bed);
            bed.awaitCall(Call.NODES, 1);
            delete(bed);
            bed.peers.release(Call.NODES);
            bed.awaitState(st -> st.phase() == Volume.Phase.DELETED, "DELETED");
            assertEquals(List.of("CreateRequested", "DeleteRequested", "ObjectsRemoved", "Deleted"), bed.journal());
            assertTrue(bed.peers.calls(Call.PLACE_LEG).isEmpty(), "the choice was dropped, nothing reserved");
        }
    }

    @Test
    void aDeleteRestartedFromItsJournalAtEveryStageResumesThere() {
        // UNSOURCE is a clone's: CloneVolumeTest
        for (DeleteVolume.Stage stage : List.of(DeleteVolume.Stage.REMOVE, DeleteVolume.Stage.RELEASE)) {
            try (VolumeBed bed = new VolumeBed("d-" + stage.name().toLowerCase())) {
                create(bed);
                bed.awaitState(st -> st.phase() == Volume.Phase.READY, "READY");
                Call call = switch (stage) {
                    case REMOVE -> Call.SET_OBJECTS;
                    case RELEASE -> Call.RELEASE_LEG;
                    case UNSOURCE -> throw new AssertionError("a clone's stage");
                };
                int before = bed.peers.calls(call).size();
                bed.peers.hold(call);
                delete(bed);
                bed.awaitCall(call, before + 1);
                assertEquals(stage, ((DeleteVolume) bed.volume.getState().operation().orElseThrow()).stage());
                bed.volume.restart();
                bed.awaitCall(call, before + 2);
                bed.peers.release(call);
                bed.awaitState(st -> st.phase() == Volume.Phase.DELETED, "DELETED after a restart at " + stage);
                assertEquals(List.of("CreateRequested", "NodesChosen", "Reserved", "ObjectsApplied", "BecameReady", "DeleteRequested",
                        "ObjectsRemoved", "Deleted"), bed.journal());
            }
        }
    }

    @Test
    void aDeleteOfAnAttachedVolumeOrDuringAnAttachmentChangeIsRefused() {
        try (VolumeBed bed = new VolumeBed("d3")) {
            create(bed);
            bed.awaitState(st -> st.phase() == Volume.Phase.READY, "READY");
            TestProbe<Volume.AttachResult> attached = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.Attach(VolumeBed.HOST_A, attached.ref()));
            attached.receiveMessage();
            assertInstanceOf(DomainError.Conflict.class, delete(bed).error().orElseThrow());

            bed.peers.hold(Call.PROGRESS);
            TestProbe<Volume.Result> detached = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.Detach(VolumeBed.HOST_A, detached.ref()));
            DomainError.Conflict busy = (DomainError.Conflict) delete(bed).error().orElseThrow();
            assertEquals(Optional.of("attachments"), busy.operation());
            bed.peers.release(Call.PROGRESS);
            detached.receiveMessage();
            assertTrue(delete(bed).volume().isPresent());
            bed.awaitState(st -> st.phase() == Volume.Phase.DELETED, "DELETED");
        }
    }

    @Test
    void aDeletedVolumeIsNotFoundAndAsksToBePassivated() {
        try (VolumeBed bed = new VolumeBed("d4")) {
            create(bed);
            bed.awaitState(st -> st.phase() == Volume.Phase.READY, "READY");
            delete(bed);
            bed.awaitState(st -> st.phase() == Volume.Phase.DELETED, "DELETED");
            bed.shard.expectMessageClass(org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding.Passivate.class);
            assertInstanceOf(DomainError.NotFound.class, bed.volume.<Volume.Result>runCommand(Volume.Get::new).reply().error()
                    .orElseThrow());
        }
    }
}
