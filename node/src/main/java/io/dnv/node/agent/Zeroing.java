package io.dnv.node.agent;

import io.dnv.core.node.ZeroingProgress;
import io.dnv.node.kernel.Kernel;
import io.dnv.node.kernel.KernelException;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * The released LDs this node zeroes before their devices go, shared by the passes and the
 * {@link ZeroingWorker}. Zeroing an LD takes as long as its disk needs (hours for terabytes),
 * while a pass must stay short: it keeps the node converged and its agent answering. So a pass
 * only hands a device over and asks how far it got, and removes it once it is all zero; the
 * worker zeroes a chunk per kernel call, each well within a command's timeout, and what is done
 * is written to a file after every chunk, so a restarted agent goes on where it stopped.
 *
 * A device is known by its name and its live table: another device under the same name (another
 * extent) starts again at 0. What the file held when the agent started is zeroed further through
 * the device once a pass found it again among the garbage over the disk.
 *
 * A record whose device went before it was all zero (a power cycle or reboot, which starts the
 * kernel empty over the same disk; a removal by hand; another device under its name) is kept,
 * and the rest of its extent is zeroed on the disk itself ({@link LdOnDisk}), from where it had
 * got to. Every record is reported ({@link #progress}) until it is removed, and its volume with
 * it (as a leftover), so the control plane keeps the extent until its old bytes are gone. A
 * record is removed once all of it is zero and no device of it is left, or when its device is
 * wanted again; and it is forgotten only once the file no longer holds it, since a restarted
 * agent zeroes on the disk what the file holds, and by then the extent may be another volume's.
 */
final class Zeroing {

    /** At most this much per kernel call: 256 MiB take under 3 s even at 100 MB/s, far within a command's 60 s. */
    static final long CHUNK_BYTES = 256L << 20;
    private static final long MIB = 1L << 20;

    /**
     * One LD being zeroed, as the file keeps it: its device, the device's live table, and the
     * disk that table maps, by the path the node's configuration named when the device was handed
     * over (null when the table maps anything but that disk: only the device can be zeroed then).
     */
    record Job(String device, String table, String disk, long totalBytes, long doneBytes) {
        ZeroingProgress progress() {
            return new ZeroingProgress(device, doneBytes, totalBytes);
        }

        boolean done() {
            return progress().done();
        }

        boolean sameDevice(String table, long totalBytes) {
            return this.table.equals(table) && this.totalBytes == totalBytes;
        }

        Job zeroedTo(long doneBytes) {
            return new Job(device, table, disk, totalBytes, doneBytes);
        }
    }

    /** What to zero next of a record: through its device, or on the disk once the device is gone. */
    private record Chunk(Job job, String path, long offsetBytes, long lengthBytes) {}

    private final Optional<ZeroingFile> file;
    private final Optional<String> disk;
    /** Records of devices the passes find among the garbage over the disk, by device, in the order they are zeroed. */
    private final Map<String, Job> jobs = new LinkedHashMap<>();
    /** Records whose device went before they were all zero: zeroed on the disk, in this order. */
    private final List<Job> gone = new ArrayList<>();
    /** What the file held at the start, until a pass that looked at the garbage found (or missed) the device. */
    private final Map<String, Job> fromBefore = new LinkedHashMap<>();
    /** Removed records the file still holds (it could not be replaced): reported until it no longer does. */
    private final List<Job> leaving = new ArrayList<>();
    private Runnable onWork = () -> { };
    private Runnable onZeroed = () -> { };

    /**
     * {@code file}: where the records survive a restart of the agent (without one, a restarted
     * agent zeroes from 0, and a device lost meanwhile is not zeroed); {@code disk}: the physical
     * disk the node's configuration names, where a record whose device went is zeroed.
     */
    Zeroing(Optional<ZeroingFile> file, Optional<String> disk) {
        this.file = file;
        this.disk = disk;
        file.ifPresent(f -> f.load().forEach(j -> fromBefore.put(j.device(), j)));
    }

    /**
     * How far zeroing this device has got, handing it over if it is new (or maps something else
     * than the device of that name did): all of it is zero once {@link ZeroingProgress#done()}.
     * {@code onDisk}: the node's disk, if the table maps it alone (see {@link DeviceResolver#diskUnder}).
     */
    synchronized ZeroingProgress zero(String device, String table, long totalBytes, Optional<String> onDisk) {
        Job j = jobs.get(device);
        if (j == null || !j.sameDevice(table, totalBytes)) {
            Job before = j != null ? jobs.remove(device) : fromBefore.remove(device);
            long done = 0;
            if (before != null && before.sameDevice(table, totalBytes)) {
                done = before.doneBytes();
            } else if (before != null) {
                // Its device is not there any more: another one took its name.
                leave(before);
            }
            j = new Job(device, table, onDisk.orElse(null), totalBytes, done);
            jobs.put(device, j);
            save();
            onWork.run();
        }
        return j.progress();
    }

    /**
     * After a pass removed the garbage: {@code overDisk} are the devices over the disk it left in
     * place, {@code inKernel} every device it found. The records of those go on; any other is
     * removed if all zero or if its device is there (wanted again, not garbage), and otherwise its
     * device went before it was all zero, and the rest is zeroed on the disk.
     */
    synchronized void settle(Set<String> overDisk, Set<String> inKernel) {
        List<Job> left = new ArrayList<>();
        for (Map<String, Job> records : List.of(jobs, fromBefore)) {
            for (Iterator<Job> it = records.values().iterator(); it.hasNext(); ) {
                Job j = it.next();
                if (!overDisk.contains(j.device())) {
                    it.remove();
                    left.add(j);
                }
            }
        }
        int goneBefore = gone.size();
        for (Job j : left) {
            if (inKernel.contains(j.device())) {
                leaving.add(j);
            } else {
                leave(j);
            }
        }
        if (!left.isEmpty() || !leaving.isEmpty()) {
            save();
        }
        if (gone.size() > goneBefore) {
            onWork.run();
        }
    }

    /** A record whose device is gone: removed if all zero, else zeroed on the disk. */
    private void leave(Job j) {
        if (j.done()) {
            leaving.add(j);
        } else {
            gone.add(j);
        }
    }

    /** Tells, for each record whose device went, what it waits for: the rest zeroed on the disk, or someone who knows which disk. */
    synchronized void reportGone(BiConsumer<String, String> waitFor) {
        for (Job j : gone) {
            waitFor.accept(j.device(), LdOnDisk.of(j, disk).isPresent()
                    ? "its device went before it was all zero; zeroing the rest on " + j.disk() + ", " + j.doneBytes() / MIB + " of "
                            + j.totalBytes() / MIB + " MiB done"
                    : "its device went before it was all zero, and its record in zeroing.json does not name the disk this node is"
                            + " configured with (" + disk.orElse("none") + "): not zeroed, and its volume stays a leftover until"
                            + " someone zeroes its range and removes the record");
        }
    }

    /** Every record, as far as it got: a volume with one is not gone from this node yet. */
    synchronized List<ZeroingProgress> progress() {
        List<Job> all = records();
        all.addAll(leaving);
        return all.stream().map(Job::progress).toList();
    }

    /** Called (from the thread of whoever hands a device over) when there is new work. */
    synchronized void onWork(Runnable wake) {
        onWork = wake;
    }

    /** Called (from the worker's thread) when a record is all zero, so a pass can remove its device and report it. */
    synchronized void onZeroed(Runnable zeroed) {
        onZeroed = zeroed;
    }

    /**
     * Zeroes the next chunk of the first record not all zero yet; false when there is none (or
     * none whose disk range is known). A refusal is thrown, and that record waits behind the
     * others. No lock is held while the kernel zeroes, so passes go on meanwhile.
     */
    boolean zeroNext(Kernel kernel) {
        Chunk c = next();
        if (c == null) {
            return false;
        }
        try {
            kernel.zeroOut(c.path(), c.offsetBytes(), c.lengthBytes());
        } catch (KernelException e) {
            toBack(c.job());
            throw e;
        }
        zeroed(c);
        return true;
    }

    private synchronized Chunk next() {
        for (Job j : jobs.values()) {
            if (!j.done()) {
                return new Chunk(j, "/dev/mapper/" + j.device(), j.doneBytes(), Math.min(CHUNK_BYTES, j.totalBytes() - j.doneBytes()));
            }
        }
        for (Job j : gone) {
            Optional<LdOnDisk> onDisk = LdOnDisk.of(j, disk);
            if (onDisk.isPresent()) {
                LdOnDisk.Range r = onDisk.get().range(j.doneBytes(), CHUNK_BYTES);
                return new Chunk(j, j.disk(), r.offsetBytes(), r.lengthBytes());
            }
        }
        return null;
    }

    /** Records a chunk done, unless its record was removed or replaced while it was zeroed. */
    private synchronized void zeroed(Chunk c) {
        Job now = c.job().zeroedTo(c.job().doneBytes() + c.lengthBytes());
        if (c.job().equals(jobs.get(now.device()))) {
            jobs.put(now.device(), now);
        } else if (gone.contains(c.job())) {
            int at = gone.indexOf(c.job());
            if (now.done()) {
                // No device is left to remove: the record goes at once.
                gone.remove(at);
                leaving.add(now);
            } else {
                gone.set(at, now);
            }
        } else {
            return;
        }
        save();
        if (now.done()) {
            onZeroed.run();
        }
    }

    private synchronized void toBack(Job j) {
        if (j.equals(jobs.get(j.device()))) {
            jobs.remove(j.device());
            jobs.put(j.device(), j);
        } else if (gone.remove(j)) {
            gone.add(j);
        }
    }

    private List<Job> records() {
        List<Job> all = new ArrayList<>(jobs.values());
        all.addAll(gone);
        all.addAll(fromBefore.values());
        return all;
    }

    /** Writes the records down; the removed ones are forgotten once the file no longer holds them. */
    private void save() {
        if (file.map(f -> f.save(records())).orElse(true)) {
            leaving.clear();
        }
    }
}
