package io.dnv.node.agent;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static java.nio.file.StandardCopyOption.ATOMIC_MOVE;
import static java.nio.file.StandardCopyOption.REPLACE_EXISTING;
import static java.nio.file.StandardOpenOption.CREATE;
import static java.nio.file.StandardOpenOption.TRUNCATE_EXISTING;
import static java.nio.file.StandardOpenOption.WRITE;

/**
 * How far each released LD is zeroed, kept in {@code zeroing.json} in the agent's state
 * directory so that a restarted agent goes on from there, through the LD's device or, if that
 * went meanwhile (a reboot), on the disk. Replaced whole on every change (written aside, forced
 * to the disk, renamed over the old one): a crash leaves the old list or the new one, never half
 * of one. A list that cannot be replaced is left as it was: {@link Zeroing} then goes on
 * reporting what it removed since, so what a restarted agent finds there is only behind (zeroed
 * again), never a range already handed to another volume. Without the list, an LD whose device
 * is there is zeroed from 0, and one whose device went is not zeroed at all.
 */
final class ZeroingFile {

    private static final Logger log = LoggerFactory.getLogger(ZeroingFile.class);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path path;

    ZeroingFile(Path directory) {
        this.path = directory.resolve("zeroing.json");
    }

    List<Zeroing.Job> load() {
        if (!Files.exists(path)) {
            return List.of();
        }
        try {
            return List.of(JSON.readValue(path.toFile(), Zeroing.Job[].class));
        } catch (IOException e) {
            log.error("{} cannot be read: released LDs whose devices are there are zeroed from their start, those whose devices"
                    + " went are not zeroed: {}", path, e.toString());
            return List.of();
        }
    }

    /** False when the list could not be replaced, and the old one is still there. */
    boolean save(List<Zeroing.Job> jobs) {
        Path aside = path.resolveSibling(path.getFileName() + ".new");
        try {
            Files.createDirectories(path.getParent());
            try (FileChannel out = FileChannel.open(aside, CREATE, WRITE, TRUNCATE_EXISTING)) {
                out.write(ByteBuffer.wrap(JSON.writeValueAsBytes(jobs)));
                out.force(true);
            }
            Files.move(aside, path, ATOMIC_MOVE, REPLACE_EXISTING);
            return true;
        } catch (IOException e) {
            log.error("cannot record zeroing progress in {}; it stays as it was, and what it holds is reported until it can be"
                    + " replaced: {}", path, e.toString());
            return false;
        }
    }
}
