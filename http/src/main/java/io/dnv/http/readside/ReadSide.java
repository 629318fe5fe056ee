package io.dnv.http.readside;

import io.dnv.persistence.Database;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.ClusterSingletonSettings;
import org.apache.pekko.cluster.typed.SingletonActor;

import java.time.Duration;
import java.util.concurrent.Executor;

/**
 * The read side of a control member: the tables projections keep, and the projections
 * themselves. Each projection is a cluster singleton among control members, so exactly one
 * instance writes its table however many control members run.
 */
public final class ReadSide {

    private final VolumeList volumes;
    private final Executor blocking;

    private ReadSide(VolumeList volumes, Executor blocking) {
        this.volumes = volumes;
        this.blocking = blocking;
    }

    /** On a control member, after the entities are initialised (the projection asks them). */
    public static ReadSide start(ActorSystem<?> system, Database db) {
        Executor blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
        VolumeList volumes = new VolumeList(ReadSidePool.open(system, db));
        VolumeListProjection projection = new VolumeListProjection(system, volumes, blocking);
        ClusterSingleton.get(system).init(SingletonActor.of(
                        Behaviors.supervise(ProjectionRunner.create(VolumeList.PROJECTION, projection::run))
                                .onFailure(SupervisorStrategy.restartWithBackoff(Duration.ofSeconds(1), Duration.ofSeconds(30), 0.2)),
                        VolumeList.PROJECTION)
                .withStopMessage(ProjectionRunner.Stop.INSTANCE)
                .withSettings(ClusterSingletonSettings.create(system).withRole("control")));
        return new ReadSide(volumes, blocking);
    }

    public VolumeList volumes() {
        return volumes;
    }

    /** Where the read side's blocking JDBC calls run, so they never hold a default-dispatcher thread. */
    public Executor blocking() {
        return blocking;
    }
}
