package io.dnv.app;

import com.fasterxml.jackson.databind.JsonNode;
import io.dnv.core.kernel.Names;
import io.dnv.node.linux.CommandRunner;
import io.dnv.sim.vm.GuestChannel;

import java.time.Duration;
import java.time.Instant;
import java.util.function.Predicate;
import java.util.function.Supplier;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * A Linux host in a test guest, as the product's real-kernel tests drive it: connected with the
 * `nvme connect` lines and host settings an attach answers, its namespace head found by the
 * volume's namespace UUID, its paths read from sysfs. Every wait says what it waited for.
 */
final class LinuxHost {

    private LinuxHost() {}

    /** Sets the host's I/O timeout, connects every path the attach named and sets the subsystem's I/O policy. */
    static void connect(GuestChannel host, JsonNode attachment) {
        JsonNode settings = attachment.path("hostSettings");
        String nqn = attachment.path("subsystemNqn").asText();
        run(host, "echo " + settings.path("ioTimeout").asInt() + " > /sys/module/nvme_core/parameters/io_timeout");
        for (JsonNode path : attachment.path("paths")) {
            run(host, path.path("nvmeConnect").asText());
        }
        await(() -> run(host, "ls -d /sys/class/nvme-subsystem/nvme-subsys* 2>/dev/null | while read -r s; do "
                + "[ \"$(cat $s/subsysnqn)\" = " + nqn + " ] && echo " + settings.path("iopolicy").asText() + " > $s/iopolicy && echo set; "
                + "done; true"), s -> s.contains("set"), "the host's subsystem " + nqn, Duration.ofMinutes(1));
    }

    /** Deletes the host's controllers to the subsystem: the host lets go of it before the product does. */
    static void disconnect(GuestChannel host, String nqn) {
        run(host, "for c in /sys/class/nvme/nvme*; do [ \"$(cat $c/subsysnqn 2>/dev/null)\" = " + nqn + " ] && echo 1 > $c/delete_controller; "
                + "done; true");
    }

    /** When the first event of {@code type} among a volume's events (GET /v1/volumes/{id}/events) happened. */
    static Instant eventTime(JsonNode events, String type) {
        for (JsonNode e : events) {
            if (e.path("type").asText().equals(type)) {
                return Instant.parse(e.path("time").asText());
            }
        }
        throw new AssertionError("no " + type + " among the volume's events: " + events);
    }

    /** The host's namespace head of the volume, found by the namespace UUID the planner gives it. */
    static String head(GuestChannel host, String vol) {
        String uuid = Names.namespaceUuid(Names.volumeNqn(vol)).toString();
        return await(() -> run(host, "for b in /sys/block/nvme*n*; do case ${b##*/} in *c*) continue;; esac; "
                + "[ \"$(cat $b/uuid 2>/dev/null)\" = " + uuid + " ] && echo /dev/${b##*/}; done; true"), s -> !s.isEmpty(),
                "the host's namespace head with uuid " + uuid, Duration.ofMinutes(1));
    }

    /** One line per path of the host to the subsystem: "traddr=… state ana_state". */
    static String paths(GuestChannel host, String nqn) {
        return run(host, "for c in /sys/class/nvme/nvme*; do [ \"$(cat $c/subsysnqn)\" = " + nqn + " ] || continue; "
                + "a=$(cat $c/address); for p in $c/nvme*c*n*; do echo \"${a%%,*} $(cat $c/state) $(cat $p/ana_state 2>/dev/null)\"; done; "
                + "done; true");
    }

    static <T> T await(Supplier<T> probe, Predicate<T> done, String what, Duration within) {
        long deadline = System.nanoTime() + within.toNanos();
        T last = null;
        while (System.nanoTime() < deadline) {
            last = probe.get();
            if (done.test(last)) {
                return last;
            }
            sleep(500);
        }
        return fail("waited " + within.toSeconds() + " s for " + what + "; last seen: " + last);
    }

    static String run(GuestChannel guest, String script) {
        CommandRunner.Result r = guest.run(script, Duration.ofSeconds(120));
        if (!r.ok()) {
            throw new AssertionError("guest command failed (" + r.exitCode() + "): " + r.stderr() + "\n" + script);
        }
        return r.stdout().strip();
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
