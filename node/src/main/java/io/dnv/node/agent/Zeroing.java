package io.dnv.node.agent;

import io.dnv.core.node.ZeroingProgress;
import io.dnv.node.kernel.Kernel;
import io.dnv.node.kernel.KernelException;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The released LDs this node zeroes before their devices go, shared by the passes and the
 * {@link ZeroingWorker}. Zeroing an LD takes as long as its disk needs (hours for terabytes),
 * while a pass must stay short: it keeps the node converged and its agent answering. So a pass
 * only hands a device over and asks how far it got, and removes it once it is all zero; the
 * worker zeroes a chunk per kernel call, each well within a command's timeout, and what is done
 * is written to a file after every chunk, so a restarted agent goes on where it stopped.
 *
 * A device is known by its name and its live table: another device under the same name (another
 * extent) starts again at 0. It stays known while the passes find it among the garbage over the
 * disk; one removed or lost otherwise (by hand, a power cycle) is forgotten. What the file held
 * when the agent started is zeroed further only once a pass found the device again.
 */
final class Zeroing {

    /** At most this much per kernel call: 256 MiB take under 3 s even at 100 MB/s, far within a command's 60 s. */
    static final long CHUNK_BYTES = 256L << 20;

    /** One device being zeroed, as the file keeps it. */
    record Job(String device, String table, long totalBytes, long doneBytes) {
        ZeroingProgress progress() {
            return new ZeroingProgress(device, doneBytes, totalBytes);
        }

        boolean sameDevice(String table, long totalBytes) {
            return this.table.equals(table) && this.totalBytes == totalBytes;
        }
    }

    private record Chunk(String device, String table, long offsetBytes, long lengthBytes) {}

    private final Optional<ZeroingFile> file;
    /** By device, in the order they are zeroed. */
    private final Map<String, Job> jobs = new LinkedHashMap<>();
    /** What the file held at the start, until the first pass that looked at the garbage. */
    private final Map<String, Job> fromBefore = new LinkedHashMap<>();
    private Runnable onWork = () -> { };
    private Runnable onZeroed = () -> { };

    /** {@code file}: where what is done survives a restart of the agent; without one, a restarted agent zeroes from 0. */
    Zeroing(Optional<ZeroingFile> file) {
        this.file = file;
        file.ifPresent(f -> f.load().forEach(j -> fromBefore.put(j.device(), j)));
    }

    /**
     * How far zeroing this device has got, handing it over if it is new (or maps something else
     * than the device of that name did): all of it is zero once {@link ZeroingProgress#done()}.
     */
    synchronized ZeroingProgress zero(String device, String table, long totalBytes) {
        Job j = jobs.get(device);
        if (j == null || !j.sameDevice(table, totalBytes)) {
            Job before = fromBefore.remove(device);
            j = before != null && before.sameDevice(table, totalBytes) ? before : new Job(device, table, totalBytes, 0);
            jobs.put(device, j);
            save();
            onWork.run();
        }
        return j.progress();
    }

    /** Forgets every device but these: the garbage over the disk a pass found and left in place. */
    synchronized void retainOnly(Set<String> devices) {
        boolean forgot = jobs.keySet().retainAll(devices) || !fromBefore.isEmpty();
        fromBefore.clear();
        if (forgot) {
            save();
        }
    }

    synchronized List<ZeroingProgress> progress() {
        return jobs.values().stream().map(Job::progress).toList();
    }

    /** Called (from the thread of whoever hands a device over) when there is new work. */
    synchronized void onWork(Runnable wake) {
        onWork = wake;
    }

    /** Called (from the worker's thread) when a device is all zero, so a pass can remove it. */
    synchronized void onZeroed(Runnable zeroed) {
        onZeroed = zeroed;
    }

    /**
     * Zeroes the next chunk of the first device not all zero yet; false when there is none. A
     * refusal is thrown, and that device waits behind the others. No lock is held while the
     * kernel zeroes, so passes go on meanwhile.
     */
    boolean zeroNext(Kernel kernel) {
        Chunk c = next();
        if (c == null) {
            return false;
        }
        try {
            kernel.zeroOut("/dev/mapper/" + c.device(), c.offsetBytes(), c.lengthBytes());
        } catch (KernelException e) {
            toBack(c.device());
            throw e;
        }
        zeroed(c);
        return true;
    }

    private synchronized Chunk next() {
        for (Job j : jobs.values()) {
            if (j.doneBytes() < j.totalBytes()) {
                return new Chunk(j.device(), j.table(), j.doneBytes(), Math.min(CHUNK_BYTES, j.totalBytes() - j.doneBytes()));
            }
        }
        return null;
    }

    /** Records a chunk done, unless its device was forgotten or replaced while it was zeroed. */
    private synchronized void zeroed(Chunk c) {
        Job j = jobs.get(c.device());
        if (j != null && j.table().equals(c.table()) && j.doneBytes() == c.offsetBytes()) {
            Job done = new Job(j.device(), j.table(), j.totalBytes(), c.offsetBytes() + c.lengthBytes());
            jobs.put(j.device(), done);
            save();
            if (done.progress().done()) {
                onZeroed.run();
            }
        }
    }

    private synchronized void toBack(String device) {
        Job j = jobs.remove(device);
        if (j != null) {
            jobs.put(device, j);
        }
    }

    private void save() {
        List<Job> all = new ArrayList<>(jobs.values());
        all.addAll(fromBefore.values());
        file.ifPresent(f -> f.save(all));
    }
}
