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
 * directory so that a restarted agent goes on from there. Replaced whole on every change
 * (written aside, forced to the disk, renamed over the old one): a crash leaves the old list or
 * the new one, never half of one. Losing it costs only time, as every LD is then zeroed from 0;
 * an old list would be worse (it could give a new device of an old name and table a start that
 * is not zero), so a list that cannot be replaced is removed.
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
            log.warn("{} cannot be read; every released LD is zeroed from its start: {}", path, e.toString());
            return List.of();
        }
    }

    void save(List<Zeroing.Job> jobs) {
        Path aside = path.resolveSibling(path.getFileName() + ".new");
        try {
            Files.createDirectories(path.getParent());
            try (FileChannel out = FileChannel.open(aside, CREATE, WRITE, TRUNCATE_EXISTING)) {
                out.write(ByteBuffer.wrap(JSON.writeValueAsBytes(jobs)));
                out.force(true);
            }
            Files.move(aside, path, ATOMIC_MOVE, REPLACE_EXISTING);
        } catch (IOException e) {
            log.error("cannot record zeroing progress in {}; removing it, a restarted agent zeroes from the start: {}", path,
                    e.toString());
            try {
                Files.deleteIfExists(path);
            } catch (IOException alsoNot) {
                log.error("cannot remove {}: {}", path, alsoNot.toString());
            }
        }
    }
}
