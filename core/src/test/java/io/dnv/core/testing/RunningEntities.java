package io.dnv.core.testing;

import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.ShardRegion.CurrentShardRegionState;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;

import java.time.Duration;
import java.util.HashSet;
import java.util.Set;

/** Which entities of a type a member runs right now: what tests of passivation look at. */
public final class RunningEntities {

    private RunningEntities() {}

    public static Set<String> ids(ActorSystem<?> system, EntityTypeKey<?> type) {
        CurrentShardRegionState state = AskPattern.<ClusterShardingQuery, CurrentShardRegionState>ask(
                ClusterSharding.get(system).shardState(), r -> new GetShardRegionState(type, r),
                Duration.ofSeconds(10), system.scheduler()).toCompletableFuture().join();
        Set<String> ids = new HashSet<>();
        state.getShards().forEach(shard -> ids.addAll(shard.getEntityIds()));
        return ids;
    }
}
