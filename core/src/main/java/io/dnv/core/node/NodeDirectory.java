package io.dnv.core.node;

import io.dnv.core.CborSerializable;
import io.dnv.core.JournalFailure;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;

import java.util.List;
import java.util.TreeSet;

/** The ids of every storage node that ever registered: where placement starts looking. */
public final class NodeDirectory
        extends EventSourcedBehaviorWithEnforcedReplies<NodeDirectory.Command, NodeDirectory.Event, NodeDirectory.State> {

    public static final EntityTypeKey<Command> ENTITY_TYPE_KEY = EntityTypeKey.create(Command.class, "NodeDirectory");
    static final String ID = "nodes";

    public sealed interface Command extends CborSerializable {}

    /** Lists a node; answered once that is written (at once if it is listed already). */
    public record Add(String nodeId, ActorRef<Done> replyTo) implements Command {}

    public record ListNodes(ActorRef<State> replyTo) implements Command {}

    public sealed interface Event extends CborSerializable {}

    public record NodeAdded(String nodeId) implements Event {}

    public record State(List<String> nodeIds) implements CborSerializable {}

    public static void init(ActorSystem<?> system) {
        ClusterSharding.get(system).init(Entity.of(ENTITY_TYPE_KEY, c -> create()).withRole("control"));
    }

    public static EntityRef<Command> ref(ClusterSharding sharding) {
        return sharding.entityRefFor(ENTITY_TYPE_KEY, ID);
    }

    static Behavior<Command> create() {
        return new NodeDirectory();
    }

    private NodeDirectory() {
        super(PersistenceId.of(ENTITY_TYPE_KEY.name(), ID), JournalFailure.RESTART);
    }

    @Override
    public State emptyState() {
        return new State(List.of());
    }

    @Override
    public CommandHandlerWithReply<Command, Event, State> commandHandler() {
        return newCommandHandlerWithReplyBuilder().forAnyState()
                .onCommand(Add.class, (s, a) -> s.nodeIds().contains(a.nodeId())
                        ? Effect().reply(a.replyTo(), Done.getInstance())
                        : Effect().persist(new NodeAdded(a.nodeId())).thenReply(a.replyTo(), st -> Done.getInstance()))
                .onCommand(ListNodes.class, (s, l) -> Effect().reply(l.replyTo(), s))
                .build();
    }

    @Override
    public EventHandler<State, Event> eventHandler() {
        return newEventHandlerBuilder().forAnyState()
                .onEvent(NodeAdded.class, (s, e) -> {
                    TreeSet<String> ids = new TreeSet<>(s.nodeIds());
                    ids.add(e.nodeId());
                    return new State(List.copyOf(ids));
                })
                .build();
    }
}
