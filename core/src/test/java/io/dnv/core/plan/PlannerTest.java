package io.dnv.core.plan;

import io.dnv.core.kernel.DmDevice;
import io.dnv.core.kernel.DmTarget;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;
import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.VolumeLayout;
import io.dnv.core.volume.VolumeSpec;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PlannerTest {

    private static final String HOST = "nqn.2014-08.org.nvmexpress:uuid:1f7e0c55-3b7d-4d5e-8f22-9a0b1c2d3e4f";
    private final Map<String, NodeEndpoints> nodes = Fixtures.sixNodes();

    @Test
    void usableSizeIsRoundedUpToWholeStripesOfAllLegs() {
        // 12 legs: 1 MiB is 5 1/3 stripes of 12 chunks of 16 KiB, rounded up to 6
        VolumeLayout l = VolumeLayout.of(new VolumeSpec(1 << 20, 3, 1, 4, 2));
        assertEquals(6 * 12 * 16 * 1024, l.usableBytes());
        assertEquals(l.usableBytes() / 512 / 12, l.legSectors());
        assertEquals(0, l.legSectors() % VolumeLayout.STRIPE_CHUNK_SECTORS);
    }

    @Test
    void poolDataIsLegPlusSnapshotReserveInWholeThinBlocks() {
        VolumeLayout l = VolumeLayout.of(new VolumeSpec(1L << 30, 1, 1, 1, 2));
        assertEquals((1L << 30) / 512, l.legSectors());
        // 1 GiB + 20 % = 1228.8 MiB, rounded up to 1229 one-MiB blocks
        assertEquals(1229L * 2048, l.poolDataSectors());
        VolumeLayout none = VolumeLayout.of(new VolumeSpec(1L << 30, 1, 1, 1, 2), 0);
        assertEquals(1024L * 2048, none.poolDataSectors());
    }

    @Test
    void thinMetadataFollowsTheKernelRuleAndNeverGoesBelowTwoMiB() {
        assertEquals(4096, VolumeLayout.of(new VolumeSpec(64L << 20, 1, 0, 1, 1)).thinMetaSectors());
        // 100 GiB leg: 122880 blocks * 48 bytes = 5.625 MiB, rounded up to 6 MiB
        VolumeLayout big = VolumeLayout.of(new VolumeSpec(100L << 30, 1, 0, 1, 1));
        assertEquals(6L * 2048, big.thinMetaSectors());
    }

    /** dm-raid picks a raid1 region from the array's length when the table names none (docs/architecture.md). */
    @Test
    void raid1TablesLeaveTheRegionSizeToTheKernel() {
        VolumeSpec spec = new VolumeSpec(64L << 20, 2, 1, 2, 2);
        VolumeLayout layout = VolumeLayout.of(spec);
        int raids = 0;
        for (NodeObjects objects : Planner.plan("v", spec, layout, Fixtures.placement(spec, layout, true), List.of(), nodes).values()) {
            for (DmDevice d : objects.dmDevices()) {
                if (d.table().lines().get(0).target() instanceof DmTarget.Raid1 r) {
                    raids++;
                    assertFalse(r.args(ref -> "dev").contains("region_size"), d.name() + ": " + r.args(ref -> "dev"));
                }
            }
        }
        assertEquals(spec.legCount(), raids);
    }

    @Test
    void groupsThatAreNoLongerBrandNewGetNoNosyncAndNoPreparation() {
        VolumeSpec spec = new VolumeSpec(64L << 20, 1, 1, 2, 2);
        VolumeLayout layout = VolumeLayout.of(spec);
        NodeObjects cn = Planner.plan("v", spec, layout, Fixtures.placement(spec, layout, false), List.of(), nodes).get("n1");
        for (DmDevice d : cn.dmDevices()) {
            assertTrue(d.beforeCreate().isEmpty(), d.name());
            if (d.table().lines().get(0).target() instanceof DmTarget.Raid1 r) {
                assertFalse(r.nosync(), d.name());
            }
        }
    }

    /** A create's finalize persists NodeObjects.created() of the brand-new objects, not a new plan. */
    @Test
    void theCreatedFormOfBrandNewObjectsIsWhatThePlannerPlansOnceCreated() {
        for (VolumeSpec spec : List.of(new VolumeSpec(64L << 20, 1, 1, 4, 2), new VolumeSpec(64L << 20, 2, 1, 4, 2),
                new VolumeSpec(64L << 20, 1, 0, 1, 3))) {
            VolumeLayout layout = VolumeLayout.of(spec);
            Map<String, NodeObjects> brandNew = Planner.plan("v", spec, layout, Fixtures.placement(spec, layout, true), List.of(HOST), nodes);
            Map<String, NodeObjects> created = Planner.plan("v", spec, layout, Fixtures.placement(spec, layout, false), List.of(HOST), nodes);
            assertNotEquals(created, brandNew, "brand new objects differ from created ones for " + spec);
            assertEquals(created.keySet(), brandNew.keySet());
            brandNew.forEach((node, objects) -> assertEquals(created.get(node), objects.created(), node + " of " + spec));
        }
    }

    @Test
    void everyDmNameCarriesItsNodeAndEveryNameFitsTheKernelLimits() {
        VolumeSpec spec = new VolumeSpec(64L << 20, 2, 1, 4, 2);
        VolumeLayout layout = VolumeLayout.of(spec);
        String longId = "v".repeat(40);
        Map<String, NodeObjects> plan = Planner.plan(longId, spec, layout, Fixtures.placement(spec, layout, true), List.of(), nodes);
        plan.forEach((node, objects) -> {
            objects.dmDevices().forEach(d -> {
                assertTrue(Names.ownsDm(node, d.name()), d.name());
                assertTrue(d.name().length() <= 127, d.name());
            });
            objects.subsystems().forEach(s -> assertTrue(s.nqn().length() <= 223 && s.nqn().startsWith(Names.NQN_PREFIX)));
        });
        assertThrows(IllegalArgumentException.class,
                () -> Planner.plan("V_bad", spec, layout, Fixtures.placement(spec, layout, true), List.of(), nodes));
    }

    /**
     * An attached host's NQN becomes a configfs directory name on every controller: one that
     * is not an NQN (a '/' makes it a path, a UUID form whose UUID is not one) never reaches an agent.
     */
    @Test
    void attachedHostsMustBeNqnsThatCannotBecomePaths() {
        VolumeSpec spec = new VolumeSpec(64L << 20, 1, 1, 1, 2);
        VolumeLayout layout = VolumeLayout.of(spec);
        Placement placement = Fixtures.placement(spec, layout, false);
        for (String host : List.of("nqn.2024-01.a:x/../../../tmp/p", "nqn.2014-08.org.nvmexpress:uuid:not-a-uuid",
                "nqn.2024-01.io.dnv:a,hostnqn=b", "h1")) {
            assertThrows(IllegalArgumentException.class, () -> Planner.plan("v", spec, layout, placement, List.of(host), nodes), host);
        }
        Planner.plan("v", spec, layout, placement, List.of(HOST), nodes);
    }

    /** Group 1 is every port's default group, shared by whatever else the port exports: a volume gets a group of its own. */
    @Test
    void aControllerTakesAnAnaGroupOfItsOwnNotTheDefaultGroup() {
        VolumeSpec spec = new VolumeSpec(64L << 20, 1, 0, 1, 2);
        VolumeLayout layout = VolumeLayout.of(spec);
        Placement good = Fixtures.placement(spec, layout, false);
        for (int group : new int[]{0, 1, 129}) {
            Placement p = new Placement(List.of(new Placement.Controller("n1", Placement.Role.ACTIVE, Fixtures.VOLUME_PORT, group)),
                    good.legs());
            assertThrows(IllegalArgumentException.class, () -> Planner.plan("v", spec, layout, p, List.of(), nodes), "group " + group);
        }
    }

    @Test
    void exportsOfOneVolumeUseDisjointCntlidRangesPerControllerSlot() {
        VolumeSpec spec = new VolumeSpec(64L << 20, 2, 1, 1, 2);
        VolumeLayout layout = VolumeLayout.of(spec);
        Map<String, NodeObjects> plan = Planner.plan("v", spec, layout, Fixtures.placement(spec, layout, true), List.of(), nodes);
        List<int[]> ranges = new ArrayList<>();
        for (String n : List.of("n1", "n2", "n3")) {
            plan.get(n).subsystems().stream().filter(s -> s.nqn().equals(Names.volumeNqn("v")))
                    .forEach(s -> ranges.add(new int[]{s.cntlidMin(), s.cntlidMax()}));
        }
        assertEquals(3, ranges.size());
        for (int i = 0; i < ranges.size(); i++) {
            for (int j = i + 1; j < ranges.size(); j++) {
                assertTrue(ranges.get(i)[1] < ranges.get(j)[0] || ranges.get(j)[1] < ranges.get(i)[0]);
            }
        }
    }

    /**
     * Linux 6.1 draws every subsystem's cntlids from one allocator per kernel: the LD and leg
     * exports of a node must never take ids a volume export of any slot needs.
     */
    @Test
    void ldAndLegExportsDrawFromRangesNoVolumeExportUses() {
        VolumeSpec spec = new VolumeSpec(64L << 20, 2, 1, 2, 2);
        VolumeLayout layout = VolumeLayout.of(spec);
        Map<String, NodeObjects> plan = Planner.plan("v", spec, layout, Fixtures.placement(spec, layout, true), List.of(HOST), nodes);
        List<CntlidRanges.Range> volumes = new ArrayList<>();
        List<CntlidRanges.Range> internal = new ArrayList<>();
        plan.values().forEach(objects -> objects.subsystems().forEach(s -> (s.nqn().equals(Names.volumeNqn("v")) ? volumes : internal)
                .add(new CntlidRanges.Range(s.cntlidMin(), s.cntlidMax()))));
        assertEquals(spec.controllerCount(), volumes.size());
        for (int slot = 0; slot < CntlidRanges.SLOTS; slot++) {
            CntlidRanges.Range any = CntlidRanges.volume(slot);
            internal.forEach(r -> assertFalse(r.overlaps(any), r + " overlaps " + any));
        }
    }

    @Test
    void noTwoCntlidRangesOverlapAndAllFitBelowTheReservedIds() {
        List<CntlidRanges.Range> all = new ArrayList<>(List.of(CntlidRanges.ld()));
        for (int slot = 0; slot < CntlidRanges.SLOTS; slot++) {
            all.add(CntlidRanges.volume(slot));
            all.add(CntlidRanges.leg(slot));
        }
        for (int i = 0; i < all.size(); i++) {
            assertTrue(all.get(i).min() >= 1 && all.get(i).max() <= 0xffef && all.get(i).size() > 1, all.get(i).toString());
            for (int j = i + 1; j < all.size(); j++) {
                assertFalse(all.get(i).overlaps(all.get(j)), all.get(i) + " and " + all.get(j));
            }
        }
        assertThrows(IllegalArgumentException.class, () -> CntlidRanges.volume(CntlidRanges.SLOTS));
    }

    @Test
    void placementsThatBreakTheSpecAreRefused() {
        VolumeSpec spec = new VolumeSpec(64L << 20, 1, 1, 1, 2);
        VolumeLayout layout = VolumeLayout.of(spec);
        Placement good = Fixtures.placement(spec, layout, true);
        Placement sameNodeTwice = new Placement(List.of(good.controllers().get(0),
                new Placement.Controller("n1", Placement.Role.STANDBY, 3, 3)), good.legs());
        assertThrows(IllegalArgumentException.class, () -> Planner.plan("v", spec, layout, sameNodeTwice, List.of(), nodes));
        Placement.Extent e = good.legs().get(0).groups().get(0).sides().get(0);
        Placement sidesOnOneNode = new Placement(good.controllers(),
                List.of(new Placement.Leg(List.of(new Placement.Group(true, List.of(e, e), 0, 0)))));
        assertThrows(IllegalArgumentException.class, () -> Planner.plan("v", spec, layout, sidesOnOneNode, List.of(), nodes));
        Placement tooSmall = new Placement(good.controllers(), List.of(new Placement.Leg(List.of(new Placement.Group(true,
                List.of(new Placement.Extent("n1", 0, 100), new Placement.Extent("n2", 0, 100)), 0, 0)))));
        assertThrows(IllegalArgumentException.class, () -> Planner.plan("v", spec, layout, tooSmall, List.of(), nodes));
        assertThrows(IllegalArgumentException.class, () -> new VolumeSpec(1 << 20, 0, 1, 1, 2));
    }

    /**
     * While a failover promotes the standby into a failed active's slot, the other active imports
     * the slot's legs from the successor and still from the failed owner (the path it has), so
     * the leg namespace it stripes over never loses its last path; the fenced controller, kept
     * behind the others, is given nothing. Once promoted, only the successor's path is wanted.
     */
    @Test
    void aPromotedOwnersPeersKeepTheFailedOwnersPathUntilThePromotionIsOver() {
        VolumeSpec spec = new VolumeSpec(64L << 20, 2, 1, 2, 2);
        VolumeLayout layout = VolumeLayout.of(spec);
        Placement before = Fixtures.placement(spec, layout, false);
        Placement promoting = before.fencing("n2").promoting(1, 5);
        Map<String, NodeObjects> plan = Planner.plan("v", spec, layout, promoting, List.of(), nodes);
        for (int leg = 2; leg < 4; leg++) {
            String nqn = Names.legNqn("v", leg);
            assertEquals(Set.of("127.0.1.2", "127.0.1.3"), plan.get("n1").connections().stream().filter(c -> c.subsystemNqn().equals(nqn))
                    .map(NvmeConnection::address).collect(java.util.stream.Collectors.toSet()), "leg " + leg);
        }
        // The failed node keeps only the LDs of the groups n1 runs (their sides there are n1's to
        // take back when the node returns); the legs n3 took over are assembled without them.
        assertEquals(List.of(Names.ldNqn("v", 0, 0, 1, "n2")), plan.get("n2").subsystems().stream().map(sub -> sub.nqn()).toList());
        assertEquals(List.of(Names.hostNqn("n1")), plan.get("n2").subsystems().get(0).allowedHosts());
        assertTrue(plan.get("n3").dmDevices().stream().noneMatch(d -> d.name().equals(Names.raidData("n3", "v", 3, 0, 1))),
                "n3 assembles leg 3 without its side on n2");
        Map<String, NodeObjects> after = Planner.plan("v", spec, layout, promoting.promoted(), List.of(), nodes);
        assertEquals(Set.of("127.0.1.3"), after.get("n1").connections().stream().filter(c -> c.subsystemNqn().equals(Names.legNqn("v", 2)))
                .map(NvmeConnection::address).collect(java.util.stream.Collectors.toSet()));
        // The surviving active's stripe and the legs it owns stay as they are; only a raid1 group
        // with a side on the failed node's disk is assembled with that side missing.
        NodeObjects was = Planner.plan("v", spec, layout, before, List.of(), nodes).get("n1");
        for (NodeObjects now : List.of(plan.get("n1"), after.get("n1"))) {
            for (String name : List.of(Names.volume("n1", "v"), Names.thin("n1", "v", 0), Names.pool("n1", "v", 0),
                    Names.thin("n1", "v", 1), Names.legExport("n1", "v", 0))) {
                assertEquals(device(was, name), device(now, name), name);
            }
        }
    }

    /**
     * A standby placed after a failover prepares nothing over a failed node's disk: whoever it
     * replaces later assembles without every side lost by then, and a connect to a dead node holds
     * the node's every connect for its SYN timeout (docs/failover.md, "Failover at scale"). The
     * surviving owner keeps its import of that side, a side it runs.
     */
    @Test
    void aStandbyPlacedAfterAFailoverImportsNothingFromTheFailedNode() {
        VolumeSpec spec = new VolumeSpec(64L << 20, 2, 1, 2, 2);
        VolumeLayout layout = VolumeLayout.of(spec);
        Placement failedOver = Fixtures.placement(spec, layout, false).fencing("n2").promoting(1, 5).promoted()
                .withStandby(new Placement.Controller("n4", Placement.Role.STANDBY, Fixtures.VOLUME_PORT, 2));
        Map<String, NodeObjects> plan = Planner.plan("v", spec, layout, failedOver, List.of(), nodes);
        assertTrue(plan.get("n4").connections().stream().noneMatch(c -> c.address().equals("127.0.1.2")),
                "the new standby imports nothing from the failed n2");
        assertTrue(plan.get("n4").dmDevices().stream().noneMatch(d -> d.name().equals(Names.raidMeta("n4", "v", 0, 0, 1))),
                "no slice over n2's side of leg 0");
        assertTrue(plan.get("n4").dmDevices().stream().anyMatch(d -> d.name().equals(Names.raidMeta("n4", "v", 0, 0, 0))),
                "the slice over n1's side of leg 0 is prepared");
        assertTrue(plan.get("n1").connections().stream().anyMatch(c -> c.subsystemNqn().equals(Names.ldNqn("v", 0, 0, 1, "n2"))),
                "the owner of leg 0 keeps its import of the side it runs");
    }

    private static DmDevice device(NodeObjects o, String name) {
        return o.dmDevices().stream().filter(d -> d.name().equals(name)).findFirst().orElseThrow(() -> new AssertionError(name));
    }

    /**
     * A snapshot exported to a clone's active: on every leg's owner a thin of the snapshot's id
     * over the leg's pool, exported on the leg port to that node alone, under an NQN without the
     * owner; the importer connects each. The volume's own objects are as without the export. A
     * failover moves the export to the successor, and the importer keeps its path to the failed
     * owner while the promotion runs, as the other actives do for a leg.
     */
    @Test
    void aSnapshotIsExportedFromEveryLegOwnerToTheClonesActive() {
        VolumeSpec spec = new VolumeSpec(64L << 20, 2, 1, 2, 2);
        VolumeLayout layout = VolumeLayout.of(spec);
        Placement placement = Fixtures.placement(spec, layout, false);
        long snapLeg = layout.legSectors() / 2;
        List<SnapshotExport> exports = List.of(new SnapshotExport(7, snapLeg, List.of("n5")));
        Map<String, NodeObjects> plain = Planner.plan("v", spec, layout, placement, List.of(HOST), nodes);
        Map<String, NodeObjects> plan = Planner.plan("v", spec, layout, placement, List.of(HOST), nodes, exports);
        for (int leg = 0; leg < spec.legCount(); leg++) {
            String owner = placement.owner(leg, spec).nodeId();
            DmDevice snap = device(plan.get(owner), Names.snapshotLeg(owner, "v", 7, leg));
            assertEquals(new DmTarget.Thin(new io.dnv.core.kernel.DeviceRef.Dm(Names.pool(owner, "v", leg)), 7),
                    snap.table().lines().get(0).target());
            assertEquals(snapLeg, snap.table().sizeSectors());
            assertEquals(List.of(), snap.beforeCreate(), "the snapshot is never created by the export");
            String nqn = Names.snapshotLegNqn("v", 7, leg);
            var sub = plan.get(owner).subsystems().stream().filter(x -> x.nqn().equals(nqn)).findFirst().orElseThrow();
            assertEquals(List.of(Names.hostNqn("n5")), sub.allowedHosts());
            assertEquals(List.of(Fixtures.LEG_PORT), sub.ports());
            assertEquals(snap.ref(), sub.namespaces().get(0).device());
            assertTrue(Names.isInternalNqn(nqn), "an importer taken off is fenced");
            assertEquals(List.of("127.0.1." + owner.substring(1)), plan.get("n5").connections().stream()
                    .filter(c -> c.subsystemNqn().equals(nqn)).map(NvmeConnection::address).toList());
        }
        assertEquals(plain.get("n5").connections(), plan.get("n5").connections().stream()
                .filter(c -> !c.subsystemNqn().startsWith(Names.snapshotLegNqn("v", 7, 0).replace(":7:0", ""))).toList(),
                "the importer gets the snapshot's imports and nothing else");
        assertEquals(plain.get("n5").dmDevices(), plan.get("n5").dmDevices());
        for (String n : plain.keySet()) {
            for (DmDevice d : plain.get(n).dmDevices()) {
                assertEquals(d, device(plan.get(n), d.name()), "the volume's own objects do not change: " + d.name());
            }
        }

        Placement promoting = placement.fencing("n2").promoting(1, 5);
        Map<String, NodeObjects> failover = Planner.plan("v", spec, layout, promoting, List.of(HOST), nodes, exports);
        String moved = Names.snapshotLegNqn("v", 7, 2);
        assertEquals(Set.of("127.0.1.2", "127.0.1.3"), failover.get("n5").connections().stream()
                .filter(c -> c.subsystemNqn().equals(moved)).map(NvmeConnection::address).collect(java.util.stream.Collectors.toSet()));
        device(failover.get("n3"), Names.snapshotLeg("n3", "v", 7, 2));
        Map<String, NodeObjects> promoted = Planner.plan("v", spec, layout, promoting.promoted(), List.of(HOST), nodes, exports);
        assertEquals(List.of("127.0.1.3"), promoted.get("n5").connections().stream()
                .filter(c -> c.subsystemNqn().equals(moved)).map(NvmeConnection::address).toList());

        assertThrows(IllegalArgumentException.class, () -> Planner.plan("v", spec, layout, placement, List.of(), nodes,
                List.of(exports.get(0), exports.get(0))), "one snapshot exported twice");
        assertThrows(IllegalArgumentException.class, () -> new SnapshotExport(0, snapLeg, List.of("n5")), "the origin is no snapshot");
    }

    /**
     * A clone's first active while it hydrates: the source snapshot's imported legs striped as the
     * source stripes them, its own stripe as the destination, the metadata on a thin of the
     * reserved id in its first leg's pool (created if missing), and the volume device a clone of
     * the source's size followed by the rest of the stripe. The other active's path is
     * inaccessible; the standby's is as ever. Without the source, the plain plan.
     */
    @Test
    void aHydratingClonesFirstActiveBuildsItsVolumeOverACloneOfTheImportedSnapshot() {
        VolumeSpec spec = new VolumeSpec(96L << 20, 2, 1, 1, 2);
        VolumeLayout layout = VolumeLayout.of(spec);
        Placement placement = Fixtures.placement(spec, layout, false);
        CloneSource src = new CloneSource("src", 3, 4, (64L << 20) / 512 / 4);
        Map<String, NodeObjects> plain = Planner.plan("c", spec, layout, placement, List.of(HOST), nodes);
        Map<String, NodeObjects> plan = Planner.plan("c", spec, layout, placement, List.of(HOST), nodes, List.of(),
                java.util.Optional.of(src));

        DmDevice source = device(plan.get("n1"), Names.cloneSource("n1", "c"));
        assertEquals(src.sectors(), source.table().sizeSectors());
        List<io.dnv.core.kernel.DeviceRef> legs = new ArrayList<>();
        for (int leg = 0; leg < 4; leg++) {
            legs.add(new io.dnv.core.kernel.DeviceRef.Namespace(Names.namespaceUuid(Names.snapshotLegNqn("src", 3, leg))));
        }
        assertEquals(new DmTarget.Raid0(VolumeLayout.STRIPE_CHUNK_SECTORS, legs), source.table().lines().get(0).target());
        DmDevice destination = device(plan.get("n1"), Names.cloneDestination("n1", "c"));
        DmDevice plainStripe = device(plain.get("n1"), Names.volume("n1", "c"));
        assertEquals(plainStripe.table(), destination.table(), "the destination is the stripe the volume has once hydrated");
        DmDevice metadata = device(plan.get("n1"), Names.cloneMetadata("n1", "c"));
        String pool = Names.pool("n1", "c", 0);
        assertEquals(new DmTarget.Thin(new io.dnv.core.kernel.DeviceRef.Dm(pool), io.dnv.core.volume.Snapshot.CLONE_METADATA_THIN_ID),
                metadata.table().lines().get(0).target());
        assertEquals(List.of(new io.dnv.core.kernel.Preparation.PoolMessage(pool, "create_thin " + ((1 << 24) - 1))),
                metadata.beforeCreate());
        assertEquals(8192, src.metadataSectors(), "4 MiB: 1024 regions of 64 KiB fit far within the floor");

        DmDevice volume = device(plan.get("n1"), Names.volume("n1", "c"));
        assertEquals(layout.stripeSectors(), volume.table().sizeSectors());
        assertEquals(List.of(new io.dnv.core.kernel.DmLine(0, src.sectors(), new DmTarget.Clone(metadata.ref(), destination.ref(),
                        source.ref(), 128, false, false, java.util.OptionalLong.empty(), java.util.OptionalLong.empty())),
                new io.dnv.core.kernel.DmLine(src.sectors(), layout.stripeSectors() - src.sectors(),
                        new DmTarget.Linear(destination.ref(), src.sectors()))), volume.table().lines());
        assertEquals(io.dnv.core.kernel.AnaState.OPTIMIZED, plan.get("n1").anaGroups().get(0).state());
        assertEquals(io.dnv.core.kernel.AnaState.INACCESSIBLE, plan.get("n2").anaGroups().get(0).state(),
                "the other active serves once the clone is hydrated");
        assertEquals(plain.get("n2").dmDevices(), plan.get("n2").dmDevices());
        assertEquals(plain.get("n3"), plan.get("n3"), "the standby is as ever");
        for (String n : plain.keySet()) {
            for (DmDevice d : plain.get(n).dmDevices()) {
                if (!d.name().equals(Names.volume("n1", "c"))) {
                    assertEquals(d, device(plan.get(n), d.name()), "only the first active's volume device differs: " + d.name());
                }
            }
        }
        assertEquals(Set.of(Names.volume("n1", "c")), Set.of(Names.volumeOfDm("n1", Names.cloneSource("n1", "c")).map(v -> Names.volume("n1", v))
                .orElseThrow()), "the new names read back as the clone's");

        assertThrows(IllegalArgumentException.class, () -> Planner.plan("c", spec, layout, placement, List.of(), nodes, List.of(),
                java.util.Optional.of(new CloneSource("src", 3, 4, layout.stripeSectors() / 4 + 32))), "a clone smaller than its source");
        assertThrows(IllegalArgumentException.class, () -> Planner.plan("c", spec, layout, placement, List.of(), nodes, List.of(),
                java.util.Optional.of(new CloneSource("c", 3, 4, 2048))), "a clone of itself");
    }
}
