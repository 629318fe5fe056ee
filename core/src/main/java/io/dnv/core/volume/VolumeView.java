package io.dnv.core.volume;

import io.dnv.core.CborSerializable;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * A volume as the API shows it. {@code state} is CREATING, READY, DELETING, FAILED (an open
 * list); {@code step} says what it is doing (the running operation's stage, else the state);
 * {@code operation} details the operation under way; {@code sizeBytes} is the size usable now;
 * {@code kernel}, when asked for, what the nodes' agents observed of it; {@code full}, when a leg's
 * pool is past the low-water mark, why (new snapshots are refused meanwhile).
 */
public record VolumeView(String id, String name, String state, String step, long sizeBytes, VolumeSpec spec,
                         List<Controller> controllers, List<LegView> legs, List<String> attachments, Optional<String> error,
                         Instant createdAt, Optional<OperationView> operation, Optional<KernelView> kernel,
                         Optional<FailoverView> lastFailover, Optional<String> full, Optional<CloneView> cloneOf) implements CborSerializable {

    /**
     * A volume made as a clone (docs/clone.md): its source, the snapshot it hydrates from,
     * {@code status} SOURCING, HYDRATING, HYDRATED or DONE, and how far hydration is: percent,
     * bytes copied of all, and bytes per second at the last look ({@code at}).
     */
    public record CloneView(String sourceVolumeId, Optional<String> snapshotId, String status, int percent, long hydratedBytes,
                            long totalBytes, long bytesPerSecond, Optional<Instant> at) implements CborSerializable {}

    public VolumeView(String id, String name, String state, String step, long sizeBytes, VolumeSpec spec,
                      List<Controller> controllers, List<LegView> legs, List<String> attachments, Optional<String> error,
                      Instant createdAt, Optional<OperationView> operation, Optional<KernelView> kernel,
                      Optional<FailoverView> lastFailover, Optional<String> full) {
        this(id, name, state, step, sizeBytes, spec, controllers, legs, attachments, error, createdAt, operation, kernel, lastFailover,
                full, Optional.empty());
    }

    /**
     * What the agents of the volume's nodes observed at their last pass: in place on every node,
     * or per node what is not yet (right after a restart, until the agents re-assembled it);
     * {@code degraded}: raid1 groups of its legs serving with a side down, failed or recovering;
     * {@code pools}: its legs' thin pools its owners' agents reported (those past
     * {@link io.dnv.core.node.PoolUsage#REPORTED_FROM_PERCENT} or not rw), by leg.
     */
    public record KernelView(boolean inPlace, List<String> notInPlace, List<String> degraded, List<PoolView> pools)
            implements CborSerializable {
        public KernelView {
            degraded = degraded == null ? List.of() : List.copyOf(degraded);
            pools = pools == null ? List.of() : List.copyOf(pools);
        }
    }

    /**
     * One leg's thin pool as its owner's kernel reports it: blocks of data (the pool's block, 1 MiB)
     * and of metadata (4 KiB) mapped and in all; {@code usedPercent} the fuller of the two;
     * {@code mode} {@code rw}, {@code out_of_data_space} (writes needing a block fail) or {@code ro}.
     */
    public record PoolView(int leg, String node, long usedDataBlocks, long totalDataBlocks, long usedMetaBlocks, long totalMetaBlocks,
                           int usedPercent, String mode) implements CborSerializable {

        public static PoolView of(String node, io.dnv.core.node.PoolUsage p) {
            return new PoolView(p.leg(), node, p.usedDataBlocks(), p.totalDataBlocks(), p.usedMetaBlocks(), p.totalMetaBlocks(),
                    p.usedPercent(), p.mode());
        }
    }

    public VolumeView {
        // Rows the read side wrote before these were recorded.
        operation = operation == null ? Optional.empty() : operation;
        kernel = kernel == null ? Optional.empty() : kernel;
        lastFailover = lastFailover == null ? Optional.empty() : lastFailover;
        full = full == null ? Optional.empty() : full;
        cloneOf = cloneOf == null ? Optional.empty() : cloneOf;
    }

    public VolumeView withKernel(KernelView k) {
        return new VolumeView(id, name, state, step, sizeBytes, spec, controllers, legs, attachments, error, createdAt, operation,
                Optional.of(k), lastFailover, full, cloneOf);
    }

    public VolumeView withFull(Optional<String> why) {
        return new VolumeView(id, name, state, step, sizeBytes, spec, controllers, legs, attachments, error, createdAt, operation,
                kernel, lastFailover, why, cloneOf);
    }

    /** Every node that holds something of the volume. */
    public java.util.Set<String> nodes() {
        java.util.Set<String> n = new java.util.TreeSet<>();
        controllers.forEach(c -> n.add(c.node()));
        legs.forEach(l -> l.groups().forEach(g -> g.sides().forEach(x -> n.add(x.node()))));
        return n;
    }

    /**
     * @param attempt     the volume's revision when the stage began
     * @param stageMillis how long the current stage has been running (on this control member)
     * @param overdue     past the stage's deadline; the volume keeps trying
     * @param waitingFor  what the stage waits for (which node, which objects), when it waits
     * @param lastError   the last failure of the stage's step, when it failed
     * @param stages      the stages so far with when each began and how long it took (the current one: so far), for
     *                    operations that time theirs (a failover); empty otherwise
     */
    public record OperationView(String kind, String stage, long attempt, Instant requestedAt, long stageMillis, boolean overdue,
                                Optional<String> waitingFor, Optional<String> lastError, List<StageTiming> stages)
            implements CborSerializable {
        public OperationView {
            stages = stages == null ? List.of() : List.copyOf(stages);
        }
    }

    /** A stage: when it began and how long it took. */
    public record StageTiming(String stage, Instant startedAt, long millis) implements CborSerializable {}

    /**
     * The volume's last failover, once done: which node failed, who took its slot ({@code successor},
     * absent when a standby failed or nobody could be promoted), the new standby (absent: none was
     * placed, {@code note} says why when one was wanted), the error when it could promote nobody,
     * and every stage with its timing, from the request to the end ({@code millis}).
     */
    public record FailoverView(String failedNode, Instant requestedAt, Optional<Instant> endedAt, long millis, Optional<String> successor,
                               Optional<String> standby, Optional<String> note, Optional<String> error, List<StageTiming> stages)
            implements CborSerializable {
        public FailoverView {
            stages = List.copyOf(stages);
        }
    }

    public record Controller(String node, int slot, String role, String anaState, String transport, String address, int port)
            implements CborSerializable {}

    public record LegView(int index, String owner, List<GroupView> groups) implements CborSerializable {}

    public record GroupView(int index, boolean brandNew, List<Side> sides) implements CborSerializable {}

    public record Side(String node, long startSector, long lengthSectors) implements CborSerializable {}
}
