package io.dnv.core.kernel;

/**
 * A range of a storage node's disk, in 512-byte sectors, that may hold bytes no volume may see
 * (what the disk held before it joined, or a released extent's old tenant): no reservation is
 * taken from it until the node's agent zeroed it. {@code epoch} names the freeing that made it
 * dirty: a report of zeroing under an older epoch says nothing about bytes freed again since.
 */
public record DiskRange(long startSector, long sectors, long epoch) {

    public long endSector() {
        return startSector + sectors;
    }
}
