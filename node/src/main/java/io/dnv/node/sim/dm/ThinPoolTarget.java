package io.dnv.node.sim.dm;

import io.dnv.core.kernel.DmTarget;
import io.dnv.node.sim.block.BlockDevice;

import java.io.IOException;

/**
 * A `thin-pool` table line. Loading only checks the metadata device against the table (Linux
 * opens the metadata at load; the simulator reads it then and writes it at resume, so a refused
 * table never formats anything); resume creates the pool object, or rebinds the existing one.
 */
final class ThinPoolTarget implements Target {

    private final DmDevice owner;
    private final DmTarget.ThinPool spec;
    private final BlockDevice metadata;
    private final BlockDevice data;
    private final long dataBlocks;
    private final ThinPoolModule module;
    private final long storedDataBlocks;

    ThinPoolTarget(DmDevice owner, DmTarget.ThinPool spec, long lengthSectors, BlockDevice metadata, BlockDevice data,
                   ThinPoolModule module) throws TableError {
        this.owner = owner;
        this.module = module;
        this.spec = spec;
        this.metadata = metadata;
        this.data = data;
        this.dataBlocks = lengthSectors / spec.blockSectors();
        ThinPool current = owner.pool();
        if (current != null && current.metadataDevice != metadata) {
            throw TableError.target("thin-pool", "different pool cannot replace a pool");
        }
        long needed = dataBlocks + 1;
        if (ThinPoolMetadata.capacity(metadata.sizeSectors()) < needed) {
            throw TableError.target("thin-pool", "metadata device too small: " + metadata.sizeSectors()
                    + " sectors cannot map " + dataBlocks + " data blocks");
        }
        ThinPoolMetadata.Header stored;
        try {
            stored = ThinPoolMetadata.peek(metadata);
        } catch (IOException e) {
            throw TableError.target("thin-pool", "Error creating metadata object (" + e.getMessage() + ")");
        }
        if (stored != null && stored.blockSectors() != spec.blockSectors()) {
            throw TableError.target("thin-pool", "Error creating metadata object (changing the data block size (from "
                    + stored.blockSectors() + " to " + spec.blockSectors() + ") is not supported)");
        }
        this.storedDataBlocks = stored == null ? 0 : stored.dataBlocks();
    }

    /**
     * pool_preresume: a pool smaller than its metadata records is refused here, not at load (so
     * the smaller table is live and the device stays suspended, as on Linux).
     */
    @Override
    public void activate() throws TableError {
        ThinPool current = owner.pool();
        long recorded = current != null ? current.dataBlocks() : storedDataBlocks;
        if (recorded > dataBlocks) {
            throw TableError.target("thin-pool", "pool target (" + dataBlocks + " blocks) too small: expected " + recorded);
        }
        try {
            ThinPool pool = owner.pool();
            if (pool == null) {
                pool = new ThinPool(metadata, ThinPoolMetadata.open(metadata, spec.blockSectors(), dataBlocks), spec.blockSectors(),
                        module);
                owner.attachPool(pool);
            }
            pool.bind(data, dataBlocks, spec.skipBlockZeroing(), spec.errorIfNoSpace());
        } catch (IOException e) {
            throw TableError.target("thin-pool", "Error creating metadata object (" + e.getMessage() + ")");
        }
    }

    /** pool_map sends I/O to the pool device straight to its data device. */
    @Override
    public void read(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        data.read(offset, buf, bufOffset, length);
    }

    @Override
    public void write(long offset, byte[] buf, int bufOffset, int length) throws IOException {
        data.write(offset, buf, bufOffset, length);
    }

    @Override
    public String status() {
        return owner.pool().status();
    }

    @Override
    public String message(String[] words) throws TableError {
        return owner.pool().message(words);
    }
}
