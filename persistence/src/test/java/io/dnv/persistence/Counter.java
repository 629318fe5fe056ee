package io.dnv.persistence;

import java.util.Set;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.RetentionCriteria;

/** The smallest entity that exercises journal, snapshot store, recovery and tags. */
final class Counter extends EventSourcedBehavior<Counter.Command, Counter.Added, Counter.Total> {

  /** Snapshots often enough that recovering 5 events reads a snapshot and then events. */
  static final int SNAPSHOT_EVERY = 3;

  interface Command extends CborSerializable {}

  record Add(int amount, ActorRef<Total> replyTo) implements Command {}

  record Get(ActorRef<Total> replyTo) implements Command {}

  record Added(int amount) implements CborSerializable {}

  record Total(int value) implements CborSerializable {}

  private final PersistenceId id;

  Counter(PersistenceId id) {
    super(id);
    this.id = id;
  }

  /** Odd amounts carry a tag of their own per counter: a shared database holds other runs' events. */
  static String oddTag(PersistenceId id) {
    return "odd-" + id.entityId();
  }

  @Override
  public Set<String> tagsFor(Added event) {
    return event.amount() % 2 == 1 ? Set.of(oddTag(id)) : Set.of();
  }

  @Override
  public Total emptyState() {
    return new Total(0);
  }

  @Override
  public CommandHandler<Command, Added, Total> commandHandler() {
    return newCommandHandlerBuilder().forAnyState()
        .onCommand(Add.class, (total, add) ->
            Effect().persist(new Added(add.amount())).thenRun(after -> add.replyTo().tell(after)))
        .onCommand(Get.class, (total, get) -> Effect().none().thenRun(now -> get.replyTo().tell(now)))
        .build();
  }

  @Override
  public EventHandler<Total, Added> eventHandler() {
    return newEventHandlerBuilder().forAnyState()
        .onEvent(Added.class, (total, added) -> new Total(total.value() + added.amount()))
        .build();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(SNAPSHOT_EVERY, 1);
  }
}
