package io.dnv.app;

import io.dnv.node.linux.CommandRunner;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * A server's commands into its guest, each with when it started and how long it took, so a
 * test can say where the time of a stage went. A command's time includes its wait for the
 * guest's one command channel, which the servers of a guest share.
 */
final class TimedCommands {

    record Entry(String server, Instant start, Duration took, String what) {}

    private final List<Entry> entries = new ArrayList<>();

    /** {@code guest} as {@code server}'s runner, its commands timed here. */
    CommandRunner runner(String server, CommandRunner guest) {
        return (script, timeout) -> {
            Instant start = Instant.now();
            long t = System.nanoTime();
            try {
                return guest.run(script, timeout);
            } finally {
                synchronized (entries) {
                    entries.add(new Entry(server, start, Duration.ofNanos(System.nanoTime() - t), what(script)));
                }
            }
        };
    }

    /** Per server, the commands started in [from, to): how many, how long in all, and the slowest. */
    String summary(Instant from, Instant to, int slowest) {
        List<Entry> window;
        synchronized (entries) {
            window = entries.stream().filter(e -> !e.start().isBefore(from) && e.start().isBefore(to)).toList();
        }
        Map<String, List<Entry>> byServer = new TreeMap<>(window.stream().collect(Collectors.groupingBy(Entry::server)));
        StringBuilder sb = new StringBuilder();
        byServer.forEach((server, list) -> {
            double busy = list.stream().mapToLong(e -> e.took().toMillis()).sum() / 1000.0;
            sb.append(String.format("  %s: %d commands, %.1f s; slowest:", server, list.size(), busy));
            list.stream().sorted(Comparator.comparing(Entry::took).reversed()).limit(slowest)
                    .forEach(e -> sb.append(String.format(" [%.1f s %s]", e.took().toMillis() / 1000.0, e.what())));
            sb.append('\n');
        });
        return sb.toString();
    }

    /** The first line of a script that does something (LinuxKernel's prelude left out), shortened. */
    private static String what(String script) {
        for (String line : script.split("\n")) {
            String l = line.strip();
            if (!l.isEmpty() && !l.startsWith("export ") && !l.startsWith("set ")) {
                return l.length() > 70 ? l.substring(0, 70) + "…" : l;
            }
        }
        return "";
    }
}
