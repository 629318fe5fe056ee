package io.dnv.core.volume.operation;

import io.dnv.core.kernel.CloneStatus;
import io.dnv.core.kernel.Names;
import io.dnv.core.volume.Clone;
import io.dnv.core.volume.Volume;

import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * How a hydrating clone is watched (docs/clone.md): its first active's dm-clone is told its
 * throttle and asked its status, every {@link #EVERY}.
 */
public final class Hydration {

    public static final Duration EVERY = Duration.ofSeconds(1);
    /** Progress is recorded in the volume's events at every this many percent. */
    public static final int STEP_PERCENT = 10;
    /**
     * dm-clone's {@code hydration_threshold}: regions copied at once (8 × 64 KiB), so the
     * background copy leaves the hosts' I/O most of the source's and the destination's bandwidth.
     */
    public static final long THRESHOLD = 8;
    /** dm-clone's {@code hydration_batch_size}: contiguous regions copied as one. */
    public static final long BATCH_SIZE = 4;

    private Hydration() {}

    /** The clone's status on its first active (empty: that device is no clone there now). */
    public static CompletionStage<Optional<CloneStatus>> look(Volume.State s, Peers peers) {
        String node = s.placement().orElseThrow().controllers().get(0).nodeId();
        return peers.hydrate(node, Names.volume(node, s.name()), THRESHOLD, BATCH_SIZE).thenApply(done -> done.refusal().isPresent()
                ? Optional.empty() : CloneStatus.parse(done.status()));
    }

    /** A new step of {@link #STEP_PERCENT} reached since what the volume recorded. */
    public static boolean worthRecording(Clone.Progress recorded, Clone.Progress now) {
        return now.percent() / STEP_PERCENT > recorded.percent() / STEP_PERCENT;
    }
}
