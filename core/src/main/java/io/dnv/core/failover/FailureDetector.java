package io.dnv.core.failover;

import io.dnv.core.node.NodeView;
import io.dnv.core.volume.operation.ShardedPeers;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.ClusterSingletonSettings;
import org.apache.pekko.cluster.typed.SingletonActor;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Looks at every storage node every {@link #LOOK} (one per cluster, on a control member) and hands
 * each node's {@link Verdict} to its {@link NodeHealth}, which decides and records; from the same
 * look it keeps every node's witnesses as the registered nodes say ({@link WitnessAssignment}).
 * A detector that was itself held up judges nothing until the nodes had time to be heard again.
 * Holds nothing that matters: moved to another member, it looks again; a verdict repeated is ignored.
 */
public final class FailureDetector {

    /**
     * 100 ms: a crash is seen by its witnesses' holders, who report it at once, and everything
     * between that report and the decision counts against the host's keep-alive (docs/failover.md);
     * a look asks each node's entity for its view, a small message per node.
     */
    static final Duration LOOK = Duration.ofMillis(100);
    /** A verdict (or witness set) that did not change is handed again this often, in case it was lost. */
    static final Duration REPEAT = Duration.ofSeconds(5);

    private enum Look { INSTANCE }

    private enum Stop { INSTANCE }

    private record Seen(List<NodeView> nodes) {}

    private FailureDetector() {}

    public static void start(ActorSystem<?> system, Verdict.Settings settings) {
        singleton(system, settings);
    }

    /** Stops judging, for a whole system stopping on purpose: its nodes going silent have not failed. */
    public static void stop(ActorSystem<?> system) {
        singleton(system, Verdict.Settings.DEFAULT).tell(Stop.INSTANCE);
    }

    private static ActorRef<Object> singleton(ActorSystem<?> system, Verdict.Settings settings) {
        return ClusterSingleton.get(system).init(SingletonActor.of(
                Behaviors.supervise(create(settings)).onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200),
                        Duration.ofSeconds(10), 0.2)), "failure-detector")
                .withSettings(ClusterSingletonSettings.create(system).withRole("control")));
    }

    static Behavior<Object> create(Verdict.Settings settings) {
        return Behaviors.setup(ctx -> Behaviors.withTimers(timers -> {
            timers.startTimerWithFixedDelay(Look.INSTANCE, LOOK);
            Judging judging = new Judging(ClusterSharding.get(ctx.getSystem()), settings, ctx.getLog());
            boolean[] looking = {false};
            return Behaviors.receiveMessage(msg -> {
                if (msg == Stop.INSTANCE) {
                    return Behaviors.stopped();
                }
                if (msg == Look.INSTANCE) {
                    judging.ticked(Instant.now());
                    if (!looking[0]) {
                        looking[0] = true;
                        ctx.pipeToSelf(judging.peers.nodes(), (nodes, t) -> new Seen(nodes == null ? null : nodes));
                    }
                } else if (msg instanceof Seen seen) {
                    looking[0] = false;
                    if (seen.nodes() != null) {   // else a node did not answer in time: look again next tick
                        judging.seen(seen.nodes(), Instant.now());
                    }
                }
                return Behaviors.same();
            });
        }));
    }

    /** What the detector remembers between looks: what it told, and whether it was itself held up. */
    private static final class Judging {
        final ShardedPeers peers;
        private final ClusterSharding sharding;
        private final Verdict.Settings settings;
        private final org.slf4j.Logger log;
        private final WitnessAssignment witnesses;
        private final Map<String, Verdict.Kind> told = new HashMap<>();
        private final Map<String, Instant> toldAt = new HashMap<>();
        private Instant lastTick;
        private Instant quietUntil = Instant.MIN;

        Judging(ClusterSharding sharding, Verdict.Settings settings, org.slf4j.Logger log) {
            this.sharding = sharding;
            this.peers = new ShardedPeers(sharding);
            this.settings = settings;
            this.log = log;
            this.witnesses = new WitnessAssignment(sharding);
        }

        /**
         * A tick that came more than {@code suspectAfter} late says this member was held up (a
         * long pause, an overloaded machine): the silence it would see next may be its own, not the
         * nodes'. It judges again only once their heartbeats had that long to arrive.
         */
        void ticked(Instant now) {
            if (lastTick != null && Duration.between(lastTick, now).compareTo(settings.suspectAfter()) > 0) {
                quietUntil = now.plus(settings.suspectAfter());
                log.warn("failure detector held up for {} ms: judging again in {} ms", Duration.between(lastTick, now).toMillis(),
                        settings.suspectAfter().toMillis());
            }
            lastTick = now;
        }

        void seen(List<NodeView> nodes, Instant now) {
            witnesses.update(nodes, now);
            if (now.isBefore(quietUntil)) {
                return;
            }
            for (NodeView n : nodes) {
                Verdict v = Verdict.judge(n, nodes, now, settings);
                boolean changed = told.get(n.id()) != v.kind();
                if (changed || toldAt.getOrDefault(n.id(), Instant.EPOCH).isBefore(now.minus(REPEAT))) {
                    told.put(n.id(), v.kind());
                    toldAt.put(n.id(), now);
                    sharding.entityRefFor(NodeHealth.ENTITY_TYPE_KEY, n.id()).tell(new NodeHealth.Judge(v));
                }
            }
        }
    }
}
