package io.dnv.core.volume.operation;

import io.dnv.core.DomainError;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.kernel.NvmetSubsystem;
import io.dnv.core.plan.Fixtures;
import io.dnv.core.plan.NodeObjects;
import io.dnv.core.volume.Snapshot;
import io.dnv.core.volume.SnapshotImport;
import io.dnv.core.volume.Volume;
import io.dnv.core.volume.VolumeLayout;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.junit.jupiter.api.Test;

import java.util.List;

import static io.dnv.core.volume.operation.ScriptedPeers.Call;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A clone's source exporting a snapshot to the clone's node: recorded, brought into the kernels, released; what it forbids meanwhile. */
class ChangeExportsTest {

    private static final String CLONE = "c1";

    /** A READY volume with a READY snapshot "a"; answers the snapshot's id. */
    private static String readyWithSnapshot(VolumeBed bed) {
        TestProbe<Volume.Result> created = bed.kit.createTestProbe();
        bed.volume.runCommand(new Volume.Create(bed.id, VolumeBed.SPEC, created.ref()));
        bed.awaitState(st -> st.phase() == Volume.Phase.READY && st.operation().isEmpty(), "READY");
        TestProbe<Volume.SnapshotResult> taken = bed.kit.createTestProbe();
        bed.volume.runCommand(new Volume.TakeSnapshot("a", taken.ref()));
        String id = taken.receiveMessage().snapshot().orElseThrow().id();
        bed.awaitState(st -> st.operation().isEmpty(), "snapshot taken");
        return id;
    }

    /** A node that holds nothing of the volume: the clone's active. */
    private static String outsider(VolumeBed bed) {
        List<String> own = bed.volume.getState().ownNodes();
        return Fixtures.sixNodes().keySet().stream().filter(n -> !own.contains(n)).findFirst().orElseThrow();
    }

    private static Volume.ExportReply export(VolumeBed bed, String snapshotId, String node) {
        TestProbe<Volume.ExportReply> reply = bed.kit.createTestProbe();
        bed.volume.runCommand(new Volume.ExportSnapshot(snapshotId, CLONE, node, reply.ref()));
        return reply.receiveMessage();
    }

    private static Volume.ExportReply release(VolumeBed bed, String snapshotId) {
        TestProbe<Volume.ExportReply> reply = bed.kit.createTestProbe();
        bed.volume.runCommand(new Volume.ReleaseSnapshotExport(snapshotId, CLONE, reply.ref()));
        return reply.receiveMessage();
    }

    /** The objects {@code node} was handed last for the volume. */
    private static NodeObjects lastObjects(VolumeBed bed, String node) {
        List<ScriptedPeers.Recorded> sets = bed.peers.calls(Call.SET_OBJECTS).stream().filter(c -> c.node().equals(node)).toList();
        assertFalse(sets.isEmpty(), node + " was never handed objects");
        return (NodeObjects) sets.get(sets.size() - 1).detail();
    }

    private static List<String> connected(NodeObjects o) {
        return o.connections().stream().map(NvmeConnection::subsystemNqn).distinct().sorted().toList();
    }

    /**
     * The import is recorded, then every node (the importer too) is handed the export and
     * waited for: the importer connects every leg's snapshot export, and hears it settled only
     * then. Released, the importer is handed nothing, and no snapshot export is left anywhere.
     */
    @Test
    void anExportReachesTheImporterAndGoesWithItsRelease() {
        try (VolumeBed bed = new VolumeBed("src1")) {
            String snap = readyWithSnapshot(bed);
            String importer = outsider(bed);
            int thinId = Snapshot.ORIGIN_THIN_ID + 1;
            bed.peers.hold(Call.PROGRESS);
            Volume.ExportReply first = export(bed, snap, importer);
            Volume.ExportedSnapshot exported = first.export().orElseThrow();
            assertEquals(new Volume.ExportedSnapshot(snap, thinId, VolumeBed.SPEC.legCount(), VolumeLayout.of(VolumeBed.SPEC).legSectors()),
                    exported);
            assertFalse(first.settled(), "not in the kernels yet");
            bed.awaitCall(Call.PROGRESS, 1);
            assertFalse(export(bed, snap, importer).settled(), "asked again while the agents converge: not yet");
            List<String> legNqns = List.of(Names.snapshotLegNqn("src1", thinId, 0), Names.snapshotLegNqn("src1", thinId, 1));
            assertEquals(legNqns, connected(lastObjects(bed, importer)));
            bed.peers.release(Call.PROGRESS);
            bed.awaitState(st -> st.operation().isEmpty(), "the export settled");
            assertTrue(export(bed, snap, importer).settled());
            assertTrue(bed.peers.calls(Call.PROGRESS).stream().anyMatch(c -> c.node().equals(importer)), "the importer was waited for");
            assertEquals(List.of(new SnapshotImport(snap, CLONE, importer)), bed.volume.getState().snapshots().imports());
            assertTrue(bed.volume.getState().nodes().contains(importer), "the importer holds objects of the volume");
            TestProbe<Volume.Holding> holding = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.Holds(importer, holding.ref()));
            assertTrue(holding.receiveMessage().holds(), "an audit on the importer must not take the imports away");

            Volume.ExportReply released = release(bed, snap);
            assertTrue(released.export().isEmpty());
            bed.awaitState(st -> st.operation().isEmpty(), "the release settled");
            assertEquals(List.of(), connected(lastObjects(bed, importer)), "the importer lets the snapshot go");
            for (String node : bed.volume.getState().ownNodes()) {
                assertTrue(lastObjects(bed, node).subsystems().stream().noneMatch(s -> s.nqn().contains(":snap:")),
                        node + " exports no snapshot any more");
            }
            assertTrue(release(bed, snap).settled(), "released again: the same answer");
            assertEquals(List.of("SnapshotImported", "ObjectsApplied", "Converged", "SnapshotImportReleased", "ObjectsApplied",
                    "Converged"), bed.journal().subList(bed.journal().indexOf("SnapshotImported"), bed.journal().size()));
        }
    }

    /**
     * While imported, neither the snapshot nor the volume can be deleted (a conflict naming the
     * clone), and a snapshot that does not exist or is not READY is not exported; none of it
     * changes the journal.
     */
    @Test
    void anExportedSnapshotAndItsVolumeAreNotDeletedAndOnlyAReadySnapshotIsExported() {
        try (VolumeBed bed = new VolumeBed("src2")) {
            String snap = readyWithSnapshot(bed);
            String importer = outsider(bed);
            int events = bed.journal().size();
            assertInstanceOf(DomainError.NotFound.class, export(bed, "src2.9", importer).error().orElseThrow());
            bed.peers.hold(Call.SNAP_THINS);
            TestProbe<Volume.SnapshotResult> taking = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.TakeSnapshot("b", taking.ref()));
            String creating = taking.receiveMessage().snapshot().orElseThrow().id();
            bed.awaitCall(Call.SNAP_THINS, 1);
            DomainError notReady = export(bed, creating, importer).error().orElseThrow();
            assertTrue(notReady.toString().contains("CREATING"), notReady.toString());
            DomainError busy = export(bed, snap, importer).error().orElseThrow();
            assertEquals("snapshot", ((DomainError.Conflict) busy).operation().orElseThrow(), "another operation runs: asked again later");
            bed.peers.release(Call.SNAP_THINS);
            bed.awaitState(st -> st.operation().isEmpty(), "snapshot b taken");
            assertEquals(events + 4, bed.journal().size(), "only snapshot b's events");

            assertTrue(export(bed, snap, importer).error().isEmpty());
            bed.awaitState(st -> st.operation().isEmpty(), "exported");
            events = bed.journal().size();
            TestProbe<Volume.SnapshotResult> drop = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.DropSnapshot(snap, drop.ref()));
            DomainError dropRefused = drop.receiveMessage().error().orElseThrow();
            assertInstanceOf(DomainError.Conflict.class, dropRefused);
            assertTrue(dropRefused.toString().contains("volume " + CLONE), dropRefused.toString());
            TestProbe<Volume.Result> delete = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.Delete(delete.ref(), true));
            DomainError deleteRefused = delete.receiveMessage().error().orElseThrow();
            assertInstanceOf(DomainError.Conflict.class, deleteRefused);
            assertTrue(deleteRefused.toString().contains("volume " + CLONE), deleteRefused.toString());
            assertEquals(events, bed.journal().size(), "refusals change nothing");
            bed.volume.runCommand(new Volume.DropSnapshot(creating, drop.ref()));
            assertTrue(drop.receiveMessage().error().isEmpty(), "a snapshot nobody imports is deleted");
            bed.awaitState(st -> st.operation().isEmpty(), "b deleted");

            release(bed, snap);
            bed.awaitState(st -> st.operation().isEmpty(), "released");
            bed.volume.runCommand(new Volume.Delete(delete.ref(), true));
            assertTrue(delete.receiveMessage().error().isEmpty(), "released, the volume is deleted with its snapshots");
        }
    }

    /** Restarted from its journal at either stage, an export change completes. */
    @Test
    void anExportRestartedAtEachStageCompletes() {
        for (Call step : List.of(Call.SET_OBJECTS, Call.PROGRESS)) {
            try (VolumeBed bed = new VolumeBed("src-" + step.name().toLowerCase().replace('_', '-'))) {
                String snap = readyWithSnapshot(bed);
                String importer = outsider(bed);
                int before = bed.peers.calls(step).size();
                bed.peers.hold(step);
                export(bed, snap, importer);
                bed.awaitCall(step, before + 1);
                bed.volume.restart();
                bed.peers.release(step);
                bed.awaitState(st -> st.operation().isEmpty(), "exported after a restart at " + step);
                assertTrue(export(bed, snap, importer).settled());
                assertEquals(1, bed.journal().stream().filter("SnapshotImported"::equals).count());
                assertEquals(List.of(Names.snapshotLegNqn(bed.id, 1, 0), Names.snapshotLegNqn(bed.id, 1, 1)),
                        connected(lastObjects(bed, importer)));
            }
        }
    }

    /** An importer declared failed is not waited for: the export settles without it. */
    @Test
    void aFailedImporterIsNotWaitedFor() {
        try (VolumeBed bed = new VolumeBed("src3")) {
            String snap = readyWithSnapshot(bed);
            String importer = outsider(bed);
            bed.peers.silent.add(importer);
            bed.peers.declaredFailed.add(importer);
            export(bed, snap, importer);
            bed.awaitState(st -> st.operation().isEmpty(), "exported without the failed importer");
            assertEquals(Volume.Phase.READY, bed.volume.getState().phase());
            assertTrue(bed.volume.getState().lastFailover().isEmpty(), "an importer's failure is no failover of the source");
        }
    }

    /**
     * The source's active (the owner of every leg) fails while it exports the snapshot to a
     * clone's node: the successor exports every leg's snapshot to the importer, and the importer
     * is handed its imports there alone (the same namespaces, a new path). An importer that
     * failed at the same time is not waited for: the failover completes without it.
     */
    @Test
    void aFailoverOfTheSourceMovesTheExportAndWaitsForNoFailedImporter() {
        for (boolean importerFails : List.of(false, true)) {
            try (VolumeBed bed = new VolumeBed("src-fo-" + importerFails)) {
                String snap = readyWithSnapshot(bed);
                String importer = outsider(bed);
                export(bed, snap, importer);
                bed.awaitState(st -> st.operation().isEmpty(), "exported");
                assertTrue(export(bed, snap, importer).settled());
                String active = bed.volume.getState().placement().orElseThrow().controllers().get(0).nodeId();
                if (importerFails) {
                    bed.peers.silent.add(importer);
                    bed.peers.declaredFailed.add(importer);
                }
                bed.peers.silent.add(active);
                bed.peers.declaredFailed.add(active);
                TestProbe<Volume.FailoverAck> ack = bed.kit.createTestProbe();
                bed.volume.runCommand(new Volume.ControllerFailed(active, ack.ref()));
                assertTrue(ack.receiveMessage().affected());
                Volume.State s = bed.awaitState(st -> st.operation().isEmpty() && st.lastFailover().isPresent(),
                        "failed over" + (importerFails ? " without the failed importer" : ""));
                assertEquals(Volume.Phase.READY, s.phase());
                String successor = s.placement().orElseThrow().controllers().get(0).nodeId();
                assertTrue(!successor.equals(active), successor);
                List<String> legs = List.of(Names.snapshotLegNqn(bed.id, 1, 0), Names.snapshotLegNqn(bed.id, 1, 1));
                assertEquals(legs, lastObjects(bed, successor).subsystems().stream().map(NvmetSubsystem::nqn)
                        .filter(legs::contains).sorted().toList(), "the successor exports the snapshot");
                List<NvmeConnection> imports = lastObjects(bed, importer).connections().stream()
                        .filter(c -> legs.contains(c.subsystemNqn())).toList();
                assertEquals(legs, imports.stream().map(NvmeConnection::subsystemNqn).distinct().sorted().toList());
                assertEquals(List.of(Fixtures.sixNodes().get(successor).address()), imports.stream().map(NvmeConnection::address)
                        .distinct().toList(), "imported from the successor alone");
            }
        }
    }

    /**
     * The source extended while it exports: every plan an extend stage hands out keeps the
     * snapshot exported by the leg owner and imported by the clone's node (a plan without them
     * would take the hydrating clone's source away under it).
     */
    @Test
    void anExportStaysThroughAnExtendOfTheSource() {
        try (VolumeBed bed = new VolumeBed("src-ext")) {
            String snap = readyWithSnapshot(bed);
            String importer = outsider(bed);
            export(bed, snap, importer);
            bed.awaitState(st -> st.operation().isEmpty(), "exported");
            String owner = bed.volume.getState().placement().orElseThrow().controllers().get(0).nodeId();
            int before = bed.peers.calls(Call.SET_OBJECTS).size();
            TestProbe<Volume.Result> reply = bed.kit.createTestProbe();
            bed.volume.runCommand(new Volume.Extend(192L << 20, reply.ref()));
            assertTrue(reply.receiveMessage().volume().isPresent());
            bed.awaitState(st -> st.operation().isEmpty() && st.spec().orElseThrow().sizeBytes() == 192L << 20, "extended");
            List<String> legs = List.of(Names.snapshotLegNqn(bed.id, 1, 0), Names.snapshotLegNqn(bed.id, 1, 1));
            List<ScriptedPeers.Recorded> sets = bed.peers.calls(Call.SET_OBJECTS);
            int seen = 0;
            for (ScriptedPeers.Recorded set : sets.subList(before, sets.size())) {
                NodeObjects o = (NodeObjects) set.detail();
                if (set.node().equals(importer)) {
                    assertEquals(legs, connected(o).stream().filter(legs::contains).toList(), "imported at every stage");
                    seen++;
                }
                if (set.node().equals(owner)) {
                    assertEquals(legs, o.subsystems().stream().map(NvmetSubsystem::nqn).filter(legs::contains).sorted().toList(),
                            "exported at every stage");
                    seen++;
                }
            }
            assertTrue(seen >= 6, "the extend handed both nodes their objects at its three applies: " + seen);
        }
    }
}
