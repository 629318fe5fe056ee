package io.dnv.node.member;

import io.dnv.core.node.NodeInfo;
import io.dnv.core.node.StorageNode;
import io.dnv.core.node.ToAgent;
import io.dnv.node.agent.NodeAgent;
import io.dnv.node.agent.PassResult;
import io.dnv.node.kernel.Kernel;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A storage node's presence in the cluster: runs the node's agent and, every second, tells
 * the node's StorageNode entity that it is alive, who it is (that is its registration) and how
 * far its kernel converged. Desired state arrives from the entity as pushes.
 */
public final class AgentMember {

    public static final Duration HEARTBEAT = Duration.ofSeconds(1);

    public sealed interface Command {}

    private record FromControlPlane(ToAgent message) implements Command {}

    private record AgentStatus(NodeAgent.Status status) implements Command {}

    private enum Tick implements Command { INSTANCE }

    private AgentMember() {}

    public static Behavior<Command> create(NodeInfo info, Kernel kernel, NodeAgent.Settings settings) {
        return Behaviors.<Command>setup(ctx -> Behaviors.withTimers(timers -> {
            ActorRef<NodeAgent.Status> statuses = ctx.messageAdapter(NodeAgent.Status.class, AgentStatus::new);
            // Every pass is reported at once: the control plane waits on convergence, not on the next heartbeat.
            ActorRef<NodeAgent.Command> agent = ctx.spawn(NodeAgent.create(info.nodeId(), info.endpoints().diskPath(), kernel, settings,
                    Optional.of(statuses)),
                    "agent", DispatcherSelector.blocking());
            ActorRef<ToAgent> inbox = ctx.messageAdapter(ToAgent.class, FromControlPlane::new);
            EntityRef<StorageNode.Command> entity = ClusterSharding.get(ctx.getSystem())
                    .entityRefFor(StorageNode.ENTITY_TYPE_KEY, info.nodeId());
            timers.startTimerWithFixedDelay(Tick.INSTANCE, Duration.ZERO, HEARTBEAT);
            return running(ctx, info, agent, inbox, statuses, entity);
        }));
    }

    private static Behavior<Command> running(ActorContext<Command> ctx, NodeInfo info, ActorRef<NodeAgent.Command> agent,
                                             ActorRef<ToAgent> inbox, ActorRef<NodeAgent.Status> statuses,
                                             EntityRef<StorageNode.Command> entity) {
        PushedVolumes pushed = new PushedVolumes();
        return Behaviors.receive(Command.class)
                .onMessageEquals(Tick.INSTANCE, () -> {
                    agent.tell(new NodeAgent.GetStatus(statuses));
                    return Behaviors.same();
                })
                .onMessage(AgentStatus.class, s -> {
                    List<String> failures = s.status().lastPass().map(PassResult::failures).orElse(List.of()).stream()
                            .map(Object::toString).toList();
                    Optional<PassResult> last = s.status().lastPass();
                    entity.tell(new StorageNode.Heartbeat(info, inbox, s.status().desiredGeneration(), s.status().reachedGeneration(),
                            failures, last.map(PassResult::generation).orElse(-1L),
                            pushed.volumesWithAny(last.map(PassResult::unsettled).orElse(Set.of()))));
                    return Behaviors.same();
                })
                .onMessage(FromControlPlane.class, m -> {
                    ToAgent msg = m.message();
                    if (msg instanceof ToAgent.PutVolume put) {
                        pushed.put(put);
                    } else if (msg instanceof ToAgent.VolumeCreated created) {
                        pushed.created(created);
                    } else if (msg instanceof ToAgent.Sync sync) {
                        pushed.sync(sync).ifPresentOrElse(desired -> agent.tell(new NodeAgent.Apply(desired)), () -> ctx.getLog().warn(
                                "generation {} incomplete here ({} volumes held, {} named); waiting for the control plane to resend",
                                sync.generation(), pushed.size(), sync.versions().size()));
                    } else if (msg instanceof ToAgent.GetKernel get) {
                        ctx.spawnAnonymous(kernelReply(agent, get.replyTo()));
                    }
                    return Behaviors.same();
                })
                .build();
    }

    /** Answers with what the agent last observed (its last pass reads the kernel first). */
    private static Behavior<NodeAgent.Status> kernelReply(ActorRef<NodeAgent.Command> agent, ActorRef<ToAgent.KernelReport> replyTo) {
        return Behaviors.setup(ctx -> {
            agent.tell(new NodeAgent.GetStatus(ctx.getSelf()));
            return Behaviors.receiveMessage(status -> {
                Optional<PassResult> pass = status.lastPass();
                replyTo.tell(new ToAgent.KernelReport(pass.map(PassResult::observed)));
                return Behaviors.stopped();
            });
        });
    }
}
