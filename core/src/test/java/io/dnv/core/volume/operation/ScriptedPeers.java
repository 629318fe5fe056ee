package io.dnv.core.volume.operation;

import io.dnv.core.node.NodeEndpoints;
import io.dnv.core.node.NodeInfo;
import io.dnv.core.node.NodeView;
import io.dnv.core.node.StorageNode;
import io.dnv.core.kernel.AnaGroups;
import io.dnv.core.node.ToAgent;
import io.dnv.core.plan.Fixtures;
import io.dnv.core.plan.NodeObjects;
import io.dnv.core.volume.Leg;
import io.dnv.core.volume.Placement;
import io.dnv.core.volume.Placer;
import org.apache.pekko.Done;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The rest of the cluster as a volume operation's test scripts it: six nodes that answer like
 * storage nodes and legs do, every call recorded in order; calls of a held kind wait until the
 * test lets them go, so a test can act (delete, attach, restart) while a step is under way.
 */
final class ScriptedPeers implements Peers {

    enum Call { NODES, PLACE_LEG, RELEASE_LEG, RELEASE_GROUP, ALLOCATE_ANA, MOVE_ANA, RELEASE_ANA, SET_OBJECTS, PROGRESS, MARK_CREATED,
        HEALTH, HOLD_IO, RELEASE_IO, SNAP_THINS, DELETE_THINS, HYDRATE, TAKE_SNAPSHOT, SNAPSHOTS, DROP_SNAPSHOT, EXPORT, RELEASE_EXPORT }

    record Recorded(Call call, String node, Object detail) {}

    final List<Recorded> calls = Collections.synchronizedList(new ArrayList<>());
    private final Set<Call> held = ConcurrentHashMap.newKeySet();
    private final List<Runnable> waiting = Collections.synchronizedList(new ArrayList<>());
    private final Map<String, AtomicLong> generations = new ConcurrentHashMap<>();
    /** Every leg's groups, as the Leg entities would hold them. */
    private final Map<Integer, List<Placement.Group>> legs = new ConcurrentHashMap<>();
    /** How many more calls of a kind fail (an ask that timed out, an entity that crashed). */
    private final Map<Call, Integer> failing = new ConcurrentHashMap<>();
    /** A leg that refuses to place a group of this index (no room on its nodes). */
    volatile int refuseGroup = -1;
    /** While positive, nodes() answers every node DOWN and not heard from yet, as right after a control restart. */
    volatile int settlingAnswers;
    volatile boolean noNodes;
    volatile boolean agentsConverge = true;
    /** Nodes whose agents are gone: their progress never settles, and nodes() shows them DOWN. */
    final Set<String> silent = ConcurrentHashMap.newKeySet();
    /** Nodes whose kernel has no dm-clone (as Debian's). */
    final Set<String> withoutDmClone = ConcurrentHashMap.newKeySet();
    /** Nodes the control plane declared failed (their NodeHealth). */
    final Set<String> declaredFailed = ConcurrentHashMap.newKeySet();
    /** Nodes whose volume port has no ANA group left for another failover domain. */
    final Set<String> fullPorts = ConcurrentHashMap.newKeySet();
    /** Nodes that refuse an ANA group though their view showed room (another volume took it meanwhile). */
    final Set<String> refuseAna = ConcurrentHashMap.newKeySet();
    /** What every node's agent holds now, by token: the hold id (an agent's holds, as OrderWorker keeps them). */
    final Map<String, Map<String, String>> heldIo = new ConcurrentHashMap<>();
    /** Thins in every pool, as "pool/thin id". */
    final Set<String> thins = ConcurrentHashMap.newKeySet();
    /** How many more orders of a kind the agents refuse (a kernel that said no). */
    private final Map<Call, Integer> refusing = new ConcurrentHashMap<>();
    /** How many more holds lapse before their release (the agent's bound passed). */
    volatile int lapsing;
    private final AtomicLong holdIds = new AtomicLong();
    /** A clone's source volume, as its entity would answer: its snapshots by id, and who imports which. */
    final Map<String, io.dnv.core.volume.SnapshotView> sourceSnapshots = new ConcurrentHashMap<>();
    final Set<io.dnv.core.volume.SnapshotImport> sourceImports = ConcurrentHashMap.newKeySet();
    /** The source's snapshots are CREATING for this many more looks. */
    volatile int sourceSnapshotLooks;
    /** Every clone's dm-clone: regions hydrated of all, as its status says; -1: no clone there. */
    volatile long hydratedRegions = -1;
    volatile long totalRegions = 1024;
    private final AtomicLong sourceThinIds = new AtomicLong(10);

    void hold(Call call) {
        held.add(call);
    }

    /** Answers every held call of this kind, and those that come later. */
    void release(Call call) {
        List<Runnable> now;
        synchronized (waiting) {
            held.remove(call);
            now = List.copyOf(waiting);
            waiting.clear();
        }
        now.forEach(Runnable::run);
    }

    /** Answers the calls waiting now; later calls of held kinds wait again. */
    void releaseWaiting() {
        List<Runnable> now;
        synchronized (waiting) {
            now = List.copyOf(waiting);
            waiting.clear();
        }
        now.forEach(Runnable::run);
    }

    /** How many calls wait for a release (those of a step that was dropped included). */
    int waitingCount() {
        return waiting.size();
    }

    List<Recorded> calls(Call call) {
        synchronized (calls) {
            return calls.stream().filter(c -> c.call() == call).toList();
        }
    }

    /** The next {@code n} calls of this kind fail. */
    void fail(Call call, int n) {
        failing.put(call, n);
    }

    /** The next {@code n} orders of this kind are refused by the agent. */
    void refuse(Call call, int n) {
        refusing.put(call, n);
    }

    private boolean refusesNow(Call call) {
        return refusing.getOrDefault(call, 0) > 0 && refusing.merge(call, -1, Integer::sum) >= 0;
    }

    /** The groups every leg holds now. */
    Map<Integer, List<Placement.Group>> legs() {
        return Map.copyOf(legs);
    }

    private <T> CompletionStage<T> answer(Call call, String node, Object detail, Supplier<T> value) {
        calls.add(new Recorded(call, node, detail));
        if (failing.getOrDefault(call, 0) > 0) {
            failing.merge(call, -1, Integer::sum);
            return CompletableFuture.failedFuture(new java.util.concurrent.TimeoutException("scripted: " + call + " timed out"));
        }
        CompletableFuture<T> f = new CompletableFuture<>();
        synchronized (waiting) {
            // Checked and queued under the lock release takes: a call is either held and answered
            // by the release, or answered now.
            if (held.contains(call)) {
                waiting.add(() -> f.complete(value.get()));
                return f;
            }
        }
        f.complete(value.get());
        return f;
    }

    @Override
    public CompletionStage<List<NodeView>> nodes() {
        boolean settling = settlingAnswers > 0;
        if (settling) {
            settlingAnswers--;
        }
        return answer(Call.NODES, "", "", () -> noNodes ? List.of() : Fixtures.sixNodes().values().stream()
                .map(e -> view(e, settling)).toList());
    }

    private NodeView view(NodeEndpoints e, boolean settling) {
        Set<String> capabilities = new java.util.HashSet<>(Placer.REQUIRED);
        if (!withoutDmClone.contains(e.nodeId())) {
            capabilities.add(Placer.DM_CLONE);
        }
        NodeInfo info = new NodeInfo(e, 1L << 30, Set.of("disk", "ctrl"), Map.of(), capabilities);
        boolean down = settling || silent.contains(e.nodeId());
        // A full port: every usable group taken by other domains, so none is left for a new one.
        List<NodeView.AnaGroup> groups = new ArrayList<>();
        if (fullPorts.contains(e.nodeId())) {
            for (int g = AnaGroups.FIRST_CREATED; g <= AnaGroups.LAST_USABLE; g++) {
                groups.add(new NodeView.AnaGroup(Fixtures.VOLUME_PORT, g, "standby-of:other" + g, 1));
            }
        }
        return new NodeView(e.nodeId(), down ? "DOWN" : "UP", Optional.of(info), settling ? Optional.empty() : Optional.of(Instant.now()),
                new NodeView.Capacity(1L << 30, 0, 1L << 30, 1L << 30, 1, 0), 0, 0, groups, 0, 0, List.of(), settling, Set.of(),
                List.of());
    }

    @Override
    public CompletionStage<Leg.Placed> placeLeg(String volumeId, int leg, int group, List<String> sideNodes, long ldSectors) {
        return answer(Call.PLACE_LEG, "", leg, () -> {
            if (group == refuseGroup) {
                return new Leg.Placed(Optional.empty(), "scripted: no room for group " + group + " of leg " + leg);
            }
            List<Placement.Group> groups = legs.compute(leg, (k, held) -> {
                List<Placement.Group> g = new ArrayList<>(held == null ? List.of() : held);
                if (g.size() == group) {
                    // Extents that never overlap: leg and group pick a range of their own.
                    long start = (leg * 16L + group) * (1L << 22);
                    g.add(Placement.Group.placed(sideNodes.stream().map(n -> new Placement.Extent(n, start, ldSectors)).toList()));
                }
                return List.copyOf(g);
            });
            return groups.size() > group ? new Leg.Placed(Optional.of(new Placement.Leg(groups)), "")
                    : new Leg.Placed(Optional.empty(), "leg " + leg + " has " + groups.size() + " groups");
        });
    }

    @Override
    public CompletionStage<Done> releaseGroup(String volumeId, int leg, int group) {
        return answer(Call.RELEASE_GROUP, "", leg, () -> {
            legs.computeIfPresent(leg, (k, g) -> g.size() == group + 1 ? List.copyOf(g.subList(0, group)) : g);
            return Done.getInstance();
        });
    }

    @Override
    public CompletionStage<Done> releaseLeg(String volumeId, int leg) {
        return answer(Call.RELEASE_LEG, "", leg, () -> {
            legs.remove(leg);
            return Done.getInstance();
        });
    }

    /** Recorded with the domain asked for; every group is 2, a node's active group 3 (a move never keeps the group). */
    @Override
    public CompletionStage<StorageNode.AnaGroupReply> allocateAnaGroup(String node, String volumeId, int portId, String domain) {
        return answer(Call.ALLOCATE_ANA, node, domain, () -> fullPorts.contains(node) || refuseAna.contains(node)
                ? new StorageNode.AnaGroupReply(Optional.empty(), "scripted: " + node + " has no ANA group for " + domain)
                : new StorageNode.AnaGroupReply(Optional.of(domain.equals(AnaGroups.ACTIVE) ? 3 : 2), ""));
    }

    @Override
    public CompletionStage<StorageNode.AnaGroupReply> moveAnaGroup(String node, String volumeId, int portId, String domain) {
        return answer(Call.MOVE_ANA, node, domain, () -> new StorageNode.AnaGroupReply(
                Optional.of(domain.equals(AnaGroups.ACTIVE) ? 3 : 4), ""));
    }

    @Override
    public CompletionStage<Done> releaseAnaGroup(String node, String volumeId) {
        return answer(Call.RELEASE_ANA, node, "", Done::getInstance);
    }

    @Override
    public CompletionStage<Long> setObjects(String node, String volumeId, NodeObjects objects) {
        return answer(Call.SET_OBJECTS, node, objects, () -> generations.computeIfAbsent(node, n -> new AtomicLong()).incrementAndGet());
    }

    @Override
    public CompletionStage<StorageNode.Progress> progress(String node, String volumeId, long generation) {
        return answer(Call.PROGRESS, node, generation, () -> silent.contains(node)
                ? new StorageNode.Progress(false, node + ": agent silent")
                : agentsConverge ? new StorageNode.Progress(true, "") : new StorageNode.Progress(false, node + ": objects not in place yet"));
    }

    @Override
    public CompletionStage<Boolean> failed(String node) {
        return answer(Call.HEALTH, node, "", () -> declaredFailed.contains(node));
    }

    @Override
    public CompletionStage<Long> markCreated(String node, String volumeId) {
        return answer(Call.MARK_CREATED, node, "", () -> generations.computeIfAbsent(node, n -> new AtomicLong()).incrementAndGet());
    }

    @Override
    public CompletionStage<ToAgent.OrderDone> holdIo(String node, String token, List<String> devices, java.time.Duration bound) {
        return answer(Call.HOLD_IO, node, devices, () -> {
            if (refusesNow(Call.HOLD_IO)) {
                return ToAgent.OrderDone.refused("scripted: suspend refused");
            }
            return ToAgent.OrderDone.held(heldIo.computeIfAbsent(node, n -> new ConcurrentHashMap<>())
                    .computeIfAbsent(token, t -> "h" + holdIds.incrementAndGet()));
        });
    }

    @Override
    public CompletionStage<ToAgent.OrderDone> releaseIo(String node, String token, String holdId) {
        return answer(Call.RELEASE_IO, node, holdId, () -> {
            String held = heldIo.getOrDefault(node, Map.of()).get(token);
            if (held != null) {
                heldIo.get(node).remove(token);
            }
            boolean lapsed = held != null && !holdId.isEmpty() && lapsing > 0 && lapsing-- > 0;
            return ToAgent.OrderDone.released(held != null && held.equals(holdId) && !lapsed, 1000);
        });
    }

    @Override
    public CompletionStage<ToAgent.OrderDone> snapThins(String node, String token, String holdId, List<ToAgent.ThinSnap> snaps) {
        return answer(Call.SNAP_THINS, node, snaps, () -> {
            if (!holdId.equals(heldIo.getOrDefault(node, Map.of()).get(token))) {
                return ToAgent.OrderDone.refused("scripted: hold " + holdId + " is not in force");
            }
            if (refusesNow(Call.SNAP_THINS)) {
                return ToAgent.OrderDone.refused("scripted: create_snap refused");
            }
            snaps.forEach(x -> thins.add(x.pool() + "/" + x.snapId()));
            return ToAgent.OrderDone.done();
        });
    }

    @Override
    public CompletionStage<ToAgent.OrderDone> deleteThins(String node, List<ToAgent.PoolThin> gone) {
        return answer(Call.DELETE_THINS, node, gone, () -> {
            if (refusesNow(Call.DELETE_THINS)) {
                return ToAgent.OrderDone.refused("scripted: delete refused");
            }
            gone.forEach(x -> thins.remove(x.pool() + "/" + x.thinId()));
            return ToAgent.OrderDone.done();
        });
    }

    @Override
    public CompletionStage<ToAgent.OrderDone> hydrate(String node, String device, long threshold, long batchSize) {
        return answer(Call.HYDRATE, node, device, () -> hydratedRegions < 0 ? ToAgent.OrderDone.refused("scripted: no clone")
                : ToAgent.OrderDone.status("0 1000 clone 8 3/2048 " + io.dnv.core.plan.CloneSource.REGION_SECTORS + " "
                + Math.min(hydratedRegions, totalRegions) + "/" + totalRegions + " 0 1 no_discard_passdown 4 hydration_threshold "
                + threshold + " hydration_batch_size " + batchSize + " rw"));
    }

    /** Taken by name, READY at once unless {@link #sourceSnapshotLooks} says otherwise. */
    @Override
    public CompletionStage<io.dnv.core.volume.Volume.SnapshotResult> takeSnapshot(String volumeId, String name) {
        // One at a time, as the source's entity takes its commands: a call answered on release and one
        // that came just then would both make it otherwise.
        return answer(Call.TAKE_SNAPSHOT, volumeId, name, () -> {
            synchronized (sourceSnapshots) {
                io.dnv.core.volume.SnapshotView v = sourceSnapshots.values().stream().filter(x -> x.name().equals(name)).findFirst()
                        .orElseGet(() -> {
                            String id = volumeId + "." + sourceThinIds.incrementAndGet();
                            io.dnv.core.volume.SnapshotView made = new io.dnv.core.volume.SnapshotView(id, volumeId, name, "CREATING",
                                    Instant.now(), 64L << 20, Optional.empty(), 0);
                            sourceSnapshots.put(id, made);
                            return made;
                        });
                return new io.dnv.core.volume.Volume.SnapshotResult(Optional.of(lookedAt(v)), Optional.empty());
            }
        });
    }

    private io.dnv.core.volume.SnapshotView lookedAt(io.dnv.core.volume.SnapshotView v) {
        if (v.state().equals("CREATING") && sourceSnapshotLooks-- <= 0) {
            io.dnv.core.volume.SnapshotView ready = new io.dnv.core.volume.SnapshotView(v.id(), v.volumeId(), v.name(), "READY",
                    v.createdAt(), v.sizeBytes(), Optional.empty(), 1);
            sourceSnapshots.put(v.id(), ready);
            return ready;
        }
        return v;
    }

    @Override
    public CompletionStage<io.dnv.core.volume.Volume.SnapshotList> snapshots(String volumeId) {
        return answer(Call.SNAPSHOTS, volumeId, "", () -> new io.dnv.core.volume.Volume.SnapshotList(sourceSnapshots.values().stream()
                .filter(x -> x.volumeId().equals(volumeId)).map(this::lookedAt).toList(), Optional.empty()));
    }

    @Override
    public CompletionStage<io.dnv.core.volume.Volume.SnapshotResult> dropSnapshot(String volumeId, String snapshotId) {
        return answer(Call.DROP_SNAPSHOT, volumeId, snapshotId, () -> {
            if (sourceImports.stream().anyMatch(i -> i.snapshotId().equals(snapshotId))) {
                return new io.dnv.core.volume.Volume.SnapshotResult(Optional.empty(), Optional.of(
                        io.dnv.core.DomainError.Conflict.of("scripted: " + snapshotId + " is exported")));
            }
            io.dnv.core.volume.SnapshotView gone = sourceSnapshots.remove(snapshotId);
            return gone == null ? new io.dnv.core.volume.Volume.SnapshotResult(Optional.empty(), Optional.of(
                    new io.dnv.core.DomainError.NotFound("no snapshot " + snapshotId)))
                    : new io.dnv.core.volume.Volume.SnapshotResult(Optional.of(gone), Optional.empty());
        });
    }

    /** Exported at once to the node named (only there, for that clone), legs of 4 x 16 MiB. */
    @Override
    public CompletionStage<io.dnv.core.volume.Volume.ExportReply> exportSnapshot(String volumeId, String snapshotId, String cloneId,
                                                                               String node) {
        return answer(Call.EXPORT, node, snapshotId, () -> {
            io.dnv.core.volume.SnapshotView v = sourceSnapshots.get(snapshotId);
            if (v == null || !v.state().equals("READY")) {
                return new io.dnv.core.volume.Volume.ExportReply(Optional.empty(), false, Optional.of(
                        new io.dnv.core.DomainError.NotFound("no READY snapshot " + snapshotId)));
            }
            sourceImports.removeIf(i -> i.snapshotId().equals(snapshotId) && i.volumeId().equals(cloneId));
            sourceImports.add(new io.dnv.core.volume.SnapshotImport(snapshotId, cloneId, node));
            int thinId = Integer.parseInt(snapshotId.substring(snapshotId.lastIndexOf('.') + 1));
            return new io.dnv.core.volume.Volume.ExportReply(Optional.of(new io.dnv.core.volume.Volume.ExportedSnapshot(snapshotId,
                    thinId, 4, (16L << 20) / 512)), true, Optional.empty());
        });
    }

    @Override
    public CompletionStage<io.dnv.core.volume.Volume.ExportReply> releaseSnapshotExport(String volumeId, String snapshotId,
                                                                                       String cloneId) {
        return answer(Call.RELEASE_EXPORT, volumeId, snapshotId, () -> {
            sourceImports.removeIf(i -> i.snapshotId().equals(snapshotId) && i.volumeId().equals(cloneId));
            return new io.dnv.core.volume.Volume.ExportReply(Optional.empty(), true, Optional.empty());
        });
    }
}
