package io.dnv.core.node;

import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.ObservedKernel;
import io.dnv.core.kernel.ThinPoolStatus;
import io.dnv.core.CborSerializable;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * How full one leg's thin pool is, as its owner's kernel reports it ({@link ThinPoolStatus}):
 * snapshots keep the blocks the origin overwrites, so they eat the pool's reserve.
 *
 * @param mode as dm-thin prints it: {@code rw}, {@code out_of_data_space} or {@code ro}
 */
public record PoolUsage(String volumeId, int leg, long usedDataBlocks, long totalDataBlocks, long usedMetaBlocks,
                        long totalMetaBlocks, String mode) implements CborSerializable {

    /**
     * A heartbeat names a pool only from this use on (percent of data or metadata), or when it
     * is not {@code rw}: a node owns hundreds of legs, a heartbeat goes every 300 ms and one over
     * Artery's frame is dropped whole. Below it a pool is far from any mark that acts.
     */
    public static final int REPORTED_FROM_PERCENT = 50;
    /** At most this many pools in a heartbeat, the fullest first. */
    public static final int REPORTED_MAX = 64;

    public ThinPoolStatus status() {
        return new ThinPoolStatus(usedMetaBlocks, totalMetaBlocks, usedDataBlocks, totalDataBlocks, mode);
    }

    public int usedPercent() {
        return status().usedPercent();
    }

    /** The usage of a dm device of {@code nodeId} if it is a leg's pool whose status parses. */
    public static Optional<PoolUsage> of(String nodeId, ObservedKernel.Dm dm) {
        Optional<String> volume = Names.volumeOfDm(nodeId, dm.name());
        if (volume.isEmpty()) {
            return Optional.empty();
        }
        String tail = dm.name().substring(dm.name().lastIndexOf('-') + 1);
        int leg;
        try {
            leg = Integer.parseInt(tail);
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
        if (!dm.name().equals(Names.pool(nodeId, volume.get(), leg))) {
            return Optional.empty();
        }
        return ThinPoolStatus.parse(dm.status()).map(s -> new PoolUsage(volume.get(), leg, s.usedDataBlocks(), s.totalDataBlocks(),
                s.usedMetaBlocks(), s.totalMetaBlocks(), s.mode()));
    }

    /** The pools of {@code nodeId} a heartbeat names: at or past {@code fromPercent}, or not rw; the fullest first. */
    public static List<PoolUsage> reported(String nodeId, ObservedKernel observed, int fromPercent) {
        return observed.dmDevices().stream().flatMap(d -> d.name().startsWith(Names.dmPrefix(nodeId) + "pool-") ? of(nodeId, d).stream() : java.util.stream.Stream.empty())
                .filter(p -> p.usedPercent() >= fromPercent || !p.mode().equals("rw"))
                .sorted(Comparator.comparingInt(PoolUsage::usedPercent).reversed())
                .limit(REPORTED_MAX).toList();
    }
}
