package io.dnv.core.node;

import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What every storage node reports (liveness, capacity, load), shared for a moment by the
 * volumes placing themselves on this member: a burst of creates asked every node once per
 * create. Placement already expects concurrent creates to see the same loads (it spreads them
 * by volume id), and a reservation is the node's own decision, refused if the room is gone; a
 * refusal to place is only ever decided on {@link #fresh} views.
 */
public final class NodeViews implements Extension {

    static final Duration SHARED_FOR = Duration.ofMillis(200);
    private static final Duration ASK = Duration.ofSeconds(10);

    public static final ExtensionId<NodeViews> ID = new ExtensionId<>() {
        @Override
        public NodeViews createExtension(ActorSystem<?> system) {
            return new NodeViews(ClusterSharding.get(system));
        }
    };

    public static NodeViews get(ActorSystem<?> system) {
        return system.registerExtension(ID);
    }

    private record Asked(long atNanos, CompletableFuture<List<NodeView>> views) {}

    private final ClusterSharding sharding;
    private final AtomicReference<Asked> last = new AtomicReference<>();

    private NodeViews(ClusterSharding sharding) {
        this.sharding = sharding;
    }

    /** Views asked for at most {@link #SHARED_FOR} ago (or being asked for now), else fresh ones. */
    public CompletionStage<List<NodeView>> recent() {
        Asked a = last.get();
        if (a != null && System.nanoTime() - a.atNanos() < SHARED_FOR.toNanos() && !a.views().isCompletedExceptionally()) {
            return a.views();
        }
        return fresh();
    }

    /** Asks every node in the directory now. */
    public CompletionStage<List<NodeView>> fresh() {
        CompletableFuture<List<NodeView>> views = NodeDirectory.ref(sharding).ask(NodeDirectory.ListNodes::new, ASK)
                .thenCompose(dir -> all(dir.nodeIds().stream()
                        .map(id -> sharding.entityRefFor(StorageNode.ENTITY_TYPE_KEY, id).<NodeView>ask(StorageNode.GetNode::new, ASK)
                                .toCompletableFuture())
                        .toList()))
                .toCompletableFuture();
        last.set(new Asked(System.nanoTime(), views));
        return views;
    }

    private static CompletableFuture<List<NodeView>> all(List<CompletableFuture<NodeView>> asks) {
        return CompletableFuture.allOf(asks.toArray(CompletableFuture[]::new)).thenApply(v -> asks.stream().map(CompletableFuture::join).toList());
    }
}
