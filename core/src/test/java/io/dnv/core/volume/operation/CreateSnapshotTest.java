package io.dnv.core.volume.operation;

import io.dnv.core.DomainError;
import io.dnv.core.kernel.Names;
import io.dnv.core.node.ToAgent;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.Snapshot;
import io.dnv.core.volume.SnapshotView;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeLayout;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static io.dnv.core.volume.operation.ScriptedPeers.Call;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CreateSnapshotTest {

    static final List<String> TAKEN = List.of("SnapshotRequested", "StripesHeld", "ThinsSnapped", "SnapshotTaken");

    private static VolumeBed ready(String id) {
        VolumeBed bed = new VolumeBed(id);
        TestProbe<Volume.Result> reply = bed.kit.createTestProbe();
        bed.volume.runCommand(new Volume.Create(bed.id, VolumeBed.SPEC, reply.ref()));
        bed.awaitState(st -> st.phase() == Volume.Phase.READY, "READY");
        return bed;
    }

    private static Volume.SnapshotResult take(VolumeBed bed, String name) {
        TestProbe<Volume.SnapshotResult> reply = bed.kit.createTestProbe();
        bed.volume.runCommand(new Volume.TakeSnapshot(name, reply.ref()));
        return reply.receiveMessage();
    }

    private static Volume.SnapshotResult drop(VolumeBed bed, String snapshotId) {
        TestProbe<Volume.SnapshotResult> reply = bed.kit.createTestProbe();
        bed.volume.runCommand(new Volume.DropSnapshot(snapshotId, reply.ref()));
        return reply.receiveMessage();
    }

    private static Snapshot settled(VolumeBed bed, String snapshotId) {
        Volume.State s = bed.awaitState(st -> st.operation().isEmpty(), "no operation");
        return s.snapshots().get(snapshotId).orElseThrow();
    }

    private static List<String> snapshotEvents(VolumeBed bed) {
        List<String> j = bed.journal();
        return j.subList(j.indexOf("SnapshotRequested"), j.size());
    }

    /** Every leg's pool on its owner, with thin {@code thinId}, as "pool/id". */
    private static Set<String> legThins(Volume.State s, int thinId) {
        Set<String> out = new TreeSet<>();
        Placement p = s.placement().orElseThrow();
        for (int leg = 0; leg < VolumeBed.SPEC.legCount(); leg++) {
            out.add(Names.pool(p.owner(leg, VolumeBed.SPEC).nodeId(), s.name(), leg) + "/" + thinId);
        }
        return out;
    }

    /**
     * Hold every stripe, snapshot every leg under its owner's hold, release: READY, with its id
     * naming the volume, its thin in every leg's pool and no hold left.
     */
    @Test
    void aSnapshotHoldsEveryStripeSnapsEveryLegAndReleases() {
        try (VolumeBed bed = ready("s1")) {
            SnapshotView v = take(bed, "before-upgrade").snapshot().orElseThrow();
            assertEquals("s1.1", v.id());
            assertEquals("s1", v.volumeId());
            assertEquals("CREATING", v.state());
            Snapshot done = settled(bed, v.id());
            assertEquals(Snapshot.Status.READY, done.status());
            assertEquals(VolumeLayout.of(VolumeBed.SPEC).usableBytes(), done.sizeBytes());
            assertEquals(1, done.heldMillis());
            assertEquals(TAKEN, snapshotEvents(bed));
            Volume.State s = bed.volume.getState();
            String active = s.placement().orElseThrow().actives().get(0).nodeId();
            assertEquals(List.of(List.of(Names.volume(active, "s1"))), bed.peers.calls(Call.HOLD_IO).stream()
                    .map(ScriptedPeers.Recorded::detail).toList(), "only the active's stripe is held");
            @SuppressWarnings("unchecked")
            List<ToAgent.ThinSnap> snaps = (List<ToAgent.ThinSnap>) bed.peers.calls(Call.SNAP_THINS).get(0).detail();
            assertEquals(List.of(new ToAgent.ThinSnap(Names.pool(active, "s1", 0), Names.thin(active, "s1", 0), 0, 1),
                    new ToAgent.ThinSnap(Names.pool(active, "s1", 1), Names.thin(active, "s1", 1), 0, 1)), snaps);
            assertEquals(legThins(s, 1), bed.peers.thins);
            assertTrue(bed.peers.heldIo.values().stream().allMatch(Map::isEmpty), "every hold released");

            SnapshotView second = take(bed, "second").snapshot().orElseThrow();
            assertEquals("s1.2", second.id(), "the next thin id");
            settled(bed, second.id());
        }
    }

    @Test
    void aNameIsTakenOnceAndABadOneOrABusyVolumeIsRefusedChangingNothing() {
        try (VolumeBed bed = ready("s2")) {
            int events = bed.journal().size();
            assertInstanceOf(DomainError.Invalid.class, take(bed, "Has Spaces").error().orElseThrow());
            assertInstanceOf(DomainError.Invalid.class, take(bed, "").error().orElseThrow());
            assertEquals(events, bed.journal().size());

            bed.peers.hold(Call.SNAP_THINS);
            String id = take(bed, "a").snapshot().orElseThrow().id();
            bed.awaitCall(Call.SNAP_THINS, 1);
            assertEquals(id, take(bed, "a").snapshot().orElseThrow().id(), "the same name answers the same snapshot");
            DomainError other = take(bed, "b").error().orElseThrow();
            assertEquals("snapshot", ((DomainError.Conflict) other).operation().orElseThrow());
            assertEquals("snap", ((DomainError.Conflict) other).stage().orElseThrow());
            TestProbe<Volume.Result> extend = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.Extend(128L << 20, extend.ref()));
            assertEquals("snapshot", ((DomainError.Conflict) extend.receiveMessage().error().orElseThrow()).operation().orElseThrow());
            assertEquals("snapshot", ((DomainError.Conflict) drop(bed, id).error().orElseThrow()).operation().orElseThrow());
            bed.peers.release(Call.SNAP_THINS);
            settled(bed, id);
            assertEquals(1, bed.journal().stream().filter("SnapshotRequested"::equals).count());
        }
    }

    /** An attach asked while a snapshot is taken waits for it, then goes into the kernels. */
    @Test
    void anAttachDuringASnapshotQueuesBehindIt() {
        try (VolumeBed bed = ready("s3")) {
            bed.peers.hold(Call.SNAP_THINS);
            take(bed, "a");
            bed.awaitCall(Call.SNAP_THINS, 1);
            TestProbe<Volume.AttachResult> attach = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.Attach(VolumeBed.HOST_A, attach.ref()));
            attach.expectNoMessage(Duration.ofMillis(200));
            bed.peers.release(Call.SNAP_THINS);
            assertTrue(attach.receiveMessage().connect().isPresent());
            Volume.State s = bed.awaitState(st -> st.operation().isEmpty(), "no operation");
            assertEquals(List.of(VolumeBed.HOST_A), s.exported());
            List<String> j = bed.journal();
            assertTrue(j.indexOf("SnapshotTaken") < j.lastIndexOf("Converged"), "the attachment change ran after: " + j);
        }
    }

    /**
     * A hold that lapsed before its release (the agent's bound passed) makes the snapshot
     * suspect: its thins are deleted and it is taken again.
     */
    @Test
    void aLapsedHoldUndoesTheSnapshotAndTakesItAgain() {
        try (VolumeBed bed = ready("s4")) {
            bed.peers.lapsing = 1;
            String id = take(bed, "a").snapshot().orElseThrow().id();
            assertEquals(Snapshot.Status.READY, settled(bed, id).status());
            assertEquals(List.of("SnapshotRequested", "StripesHeld", "ThinsSnapped", "SnapshotUndoing", "SnapshotRetried",
                    "StripesHeld", "ThinsSnapped", "SnapshotTaken"), snapshotEvents(bed));
            assertEquals(2 * VolumeBed.SPEC.legCount(), bed.peers.calls(Call.SNAP_THINS).stream()
                    .mapToInt(c -> ((List<?>) c.detail()).size()).sum());
            assertEquals(1, bed.peers.calls(Call.DELETE_THINS).size(), "the suspect thins were deleted before the second try");
            assertEquals(legThins(bed.volume.getState(), 1), bed.peers.thins);
        }
    }

    /**
     * A refusal at every try (the kernel says no to create_snap): after the last undo the
     * snapshot is FAILED, no hold is left and no thin is in any pool; the volume stays READY.
     */
    @Test
    void aSnapshotRefusedAtEveryTryFailsLeavingNothing() {
        try (VolumeBed bed = ready("s5")) {
            bed.peers.refuse(Call.SNAP_THINS, CreateSnapshot.TRIES);
            String id = take(bed, "a").snapshot().orElseThrow().id();
            Snapshot failed = settled(bed, id);
            assertEquals(Snapshot.Status.FAILED, failed.status());
            assertTrue(failed.error().orElseThrow().contains("create_snap refused"), failed.error().orElseThrow());
            assertTrue(bed.peers.thins.isEmpty(), "no thin left: " + bed.peers.thins);
            assertTrue(bed.peers.heldIo.values().stream().allMatch(Map::isEmpty), "no hold left");
            assertEquals(CreateSnapshot.TRIES, bed.journal().stream().filter("SnapshotUndoing"::equals).count());
            assertEquals(Volume.Phase.READY, bed.volume.getState().phase());

            bed.peers.refuse(Call.HOLD_IO, 1);
            String next = take(bed, "b").snapshot().orElseThrow().id();
            assertEquals(Snapshot.Status.READY, settled(bed, next).status(), "a suspend refused once is taken again");
        }
    }

    /** Every stage is persisted before it acts: restarted from its journal at any stage, the snapshot completes. */
    @Test
    void aSnapshotRestartedFromItsJournalAtEveryStageCompletes() {
        Map<CreateSnapshot.Stage, Call> stepOf = Map.of(CreateSnapshot.Stage.HOLD, Call.HOLD_IO,
                CreateSnapshot.Stage.SNAP, Call.SNAP_THINS, CreateSnapshot.Stage.RELEASE, Call.RELEASE_IO);
        for (CreateSnapshot.Stage stage : stepOf.keySet()) {
            try (VolumeBed bed = ready("s-" + stage.name().toLowerCase())) {
                Call call = stepOf.get(stage);
                bed.peers.hold(call);
                String id = take(bed, "a").snapshot().orElseThrow().id();
                bed.awaitCall(call, 1);
                bed.volume.restart();
                bed.awaitCall(call, 2);
                assertEquals(stage, ((CreateSnapshot) bed.volume.getState().operation().orElseThrow()).stage());
                bed.peers.release(call);
                assertEquals(Snapshot.Status.READY, settled(bed, id).status(), "restarted at " + stage);
                assertEquals(legThins(bed.volume.getState(), 1), bed.peers.thins);
            }
        }
    }

    /**
     * A snapshot's thins go from every pool when it is deleted; a volume with snapshots is
     * deleted only when asked to delete them with it.
     */
    @Test
    void aSnapshotIsDeletedFromEveryPoolAndAVolumeWithSnapshotsOnlyWithThem() {
        try (VolumeBed bed = ready("s6")) {
            String first = take(bed, "a").snapshot().orElseThrow().id();
            settled(bed, first);
            String second = take(bed, "b").snapshot().orElseThrow().id();
            settled(bed, second);
            assertEquals("DELETING", drop(bed, first).snapshot().orElseThrow().state());
            Volume.State s = bed.awaitState(st -> st.operation().isEmpty(), "deleted");
            assertEquals(List.of(second), s.snapshots().items().stream().map(Snapshot::id).toList());
            assertEquals(legThins(s, 2), bed.peers.thins);
            assertInstanceOf(DomainError.NotFound.class, drop(bed, first).error().orElseThrow());

            TestProbe<Volume.Result> delete = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.Delete(delete.ref()));
            DomainError refused = delete.receiveMessage().error().orElseThrow();
            assertTrue(refused.detail().contains(second) && refused.detail().contains("deleteSnapshots=true"), refused.detail());
            assertEquals(Volume.Phase.READY, bed.volume.getState().phase());
            bed.volume.runCommand(new Volume.Delete(delete.ref(), true));
            assertTrue(delete.receiveMessage().volume().isPresent());
            bed.awaitState(st -> st.phase() == Volume.Phase.DELETED, "deleted");
            TestProbe<Volume.SnapshotResult> get = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.GetSnapshot(second, get.ref()));
            assertInstanceOf(DomainError.NotFound.class, get.receiveMessage().error().orElseThrow());
        }
    }

    /**
     * The active's node fails while the snapshot is at SNAP: the failover takes precedence, then
     * the snapshot is undone and taken again against the new placement, its holds and thins on
     * the promoted standby.
     */
    @Test
    void aFailoverMidSnapshotUndoesItAndItIsTakenAgainOnTheNewPlacement() {
        try (VolumeBed bed = ready("s7")) {
            Placement before = bed.volume.getState().placement().orElseThrow();
            String failed = before.actives().get(0).nodeId();
            String standby = before.controllers().get(1).nodeId();
            bed.peers.hold(Call.SNAP_THINS);
            String id = take(bed, "a").snapshot().orElseThrow().id();
            bed.awaitCall(Call.SNAP_THINS, 1);
            TestProbe<Volume.FailoverAck> ack = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.ControllerFailed(failed, ack.ref()));
            assertTrue(ack.receiveMessage().affected());
            bed.peers.release(Call.SNAP_THINS);
            Snapshot done = settled(bed, id);
            assertEquals(Snapshot.Status.READY, done.status());
            Volume.State s = bed.volume.getState();
            assertEquals(standby, s.placement().orElseThrow().actives().get(0).nodeId());
            List<String> j = snapshotEvents(bed);
            assertTrue(j.indexOf("FailedOver") < j.indexOf("SnapshotRetried") && j.indexOf("SnapshotRetried") < j.indexOf("SnapshotTaken"),
                    "resumed by the failover at the undo, then taken again: " + j);
            assertEquals(1, bed.peers.calls(Call.DELETE_THINS).size(), "what the old owner may have snapped was deleted");
            assertEquals(legThins(s, 1), bed.peers.thins.stream().filter(t -> t.contains(standby)).collect(java.util.stream.Collectors.toCollection(TreeSet::new)));
            List<ScriptedPeers.Recorded> holds = bed.peers.calls(Call.HOLD_IO);
            assertEquals(standby, holds.get(holds.size() - 1).node(), "held again on the promoted standby");
        }
    }
}
