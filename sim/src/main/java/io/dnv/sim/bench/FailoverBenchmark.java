package io.dnv.sim.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.dnv.node.sim.KernelLatencies;
import io.dnv.node.sim.nvme.Fabric;

import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A storage node carrying the active controller of N volumes crashes while hosts write to every
 * one of them (docs/operations.md, "The failover benchmark"). Measured per volume: the fault to
 * the first write acknowledged after it (host I/O resumed), and from the journals the fault to
 * the node declared failed (detection) and to the volume's {@code Fenced} (detection and
 * fencing). Then every block is read back: an acknowledged write missing is lost, an older write
 * over a newer one is stale. Prints where the time went and one key=value line.
 *
 * <p>The control plane is driven through the HTTP API; the hosts are simulated Linux hosts on
 * the storage nodes' fabric ({@link BenchHosts}), each of its volumes written by its own
 * {@link VolumeWriter}.
 */
public final class FailoverBenchmark {

    public record Result(int volumes, long p50Ms, long p99Ms, long detectMs, long fenceMs, long hostKatoMs, int lostWrites,
                         int staleWrites, int ioErrors, int notOptimized) {
        public String line() {
            return String.format("volumes=%d p50_ms=%d p99_ms=%d detect_ms=%d fence_ms=%d host_kato_ms=%d lost_writes=%d stale_writes=%d",
                    volumes, p50Ms, p99Ms, detectMs, fenceMs, hostKatoMs, lostWrites, staleWrites);
        }
    }

    /** What each storage node's simulated kernel spent so far, by node id: where the nodes' time went. */
    public interface KernelWork extends Supplier<Map<String, Map<KernelLatencies.Op, KernelLatencies.Spent>>> {}

    static final long VOLUME_BYTES = 64L << 20;
    /** The stages of a volume's failover, by the event that ends each, as its journal records them. */
    private static final List<String> STAGES = List.of("FailoverRequested", "Fenced", "SuccessorPlaced", "FailedOver");

    private final BenchApi api;
    private final Fabric fabric;
    private final KernelWork kernels;

    public FailoverBenchmark(String apiBase, String token, Fabric fabric, KernelWork kernels) {
        this.api = new BenchApi(apiBase, token);
        this.fabric = fabric;
        this.kernels = kernels;
    }

    /** Crashes {@code node} once {@code volumes} volumes have their active there and are written to. */
    public Result run(String node, int volumes, Duration timeout, PrintStream out) throws Exception {
        List<String> ids = new ActivesOnOneNode(api, VOLUME_BYTES).create(node, volumes, timeout, out);
        try (BenchHosts hosts = new BenchHosts(api, fabric)) {
            long t = System.nanoTime();
            List<BenchHosts.Attached> attached = hosts.attach(ids, timeout);
            out.printf("attached and connected: %d volumes on %d hosts in %.1f s%n", volumes,
                    (volumes + BenchHosts.VOLUMES_PER_HOST - 1) / BenchHosts.VOLUMES_PER_HOST, (System.nanoTime() - t) / 1e9);
            // About 2000 writes per second in all, at most one every 20 ms per volume: the hosts'
            // writes must not take the cores the failover runs on.
            long interval = Math.max(20, volumes / 2);
            List<VolumeWriter> writers = new ArrayList<>();
            for (int i = 0; i < attached.size(); i++) {
                writers.add(new VolumeWriter(ids.get(i), i, attached.get(i).device(), interval));
            }
            writers.forEach(VolumeWriter::start);
            awaitWrites(writers, timeout);
            int kato = attached.get(0).keepAliveSeconds();
            out.printf("writing: every volume a 4 KiB write every %d ms (one at a time); host keep-alive %d s (published)%n",
                    interval, kato);

            Map<String, Map<KernelLatencies.Op, KernelLatencies.Spent>> before = kernels.get();
            Instant crashSent = Instant.now();
            long crashSentNanos = System.nanoTime();
            HttpResponse<String> crash = api.send(api.request("/v1/sim/nodes/" + node + "/faults")
                    .header("Content-Type", "application/json").POST(java.net.http.HttpRequest.BodyPublishers.ofString("{\"kind\":\"crash\"}")).build());
            if (crash.statusCode() != 202) {
                throw new IllegalStateException("crash " + node + " answered " + crash.statusCode() + ": " + crash.body());
            }
            // The kernel is off once the fault answered: a write issued from then on meets the dead node.
            long crashedNanos = System.nanoTime();
            writers.forEach(w -> w.faultAt(crashedNanos));
            awaitFailover(node, ids, writers, crashSentNanos, timeout, out);
            Map<String, Map<KernelLatencies.Op, KernelLatencies.Spent>> after = kernels.get();

            for (VolumeWriter w : writers) {
                w.stop(60_000);
            }
            int lost = 0;
            int stale = 0;
            for (VolumeWriter w : writers) {
                if (!w.stopped()) {
                    throw new IllegalStateException(w.volumeId + ": a write still not answered 60 s after the writers were stopped");
                }
                VolumeWriter.Check c = w.check();
                lost += c.lost();
                stale += c.stale();
            }
            int errors = writers.stream().mapToInt(VolumeWriter::errors).sum();
            int notOptimized = (int) attached.stream().filter(a -> !BenchHosts.optimizedPath(a)).count();

            List<Long> resumed = new ArrayList<>();
            writers.forEach(w -> resumed.add(TimeUnit.NANOSECONDS.toMillis(w.resumedAt() - crashSentNanos)));
            Collections.sort(resumed);
            Instant failedAt = Instant.parse(api.get("/v1/nodes/" + node + "/health").path("since").asText());
            long detect = Duration.between(crashSent, failedAt).toMillis();
            // A crashed member's process stops in the background: its heartbeats until then delay detection.
            JsonNode lastBeat = api.get("/v1/nodes/" + node).path("lastHeartbeat");
            if (lastBeat.isTextual()) {
                out.printf("fault -> last heartbeat from %s's agent: %d ms%n", node,
                        Duration.between(crashSent, Instant.parse(lastBeat.asText())).toMillis());
            }
            Map<String, List<Long>> stages = stages(ids, crashSent);
            Result r = new Result(volumes, BenchApi.percentile(resumed, 50), BenchApi.percentile(resumed, 99), detect,
                    BenchApi.percentile(stages.get("Fenced"), 99), kato * 1000L, lost, stale, errors, notOptimized);
            print(r, resumed, stages, node, before, after, writers, out);
            printStageTimes(ids, out);
            return r;
        }
    }

    /** Every writer has had writes acknowledged: the hosts' paths are in use. */
    private static void awaitWrites(List<VolumeWriter> writers, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (writers.stream().anyMatch(w -> w.acks() < 3)) {
            if (System.nanoTime() > deadline) {
                VolumeWriter w = writers.stream().filter(x -> x.acks() < 3).findFirst().orElseThrow();
                throw new IllegalStateException(w.volumeId + " has " + w.acks() + " writes acknowledged after " + timeout.toSeconds()
                        + " s; errors " + w.errors() + ": " + w.lastError());
            }
            Thread.sleep(100);
        }
        Thread.sleep(1000);
    }

    /**
     * Until every volume has a new active (and no operation under way) and every writer resumed,
     * with a line of progress every few seconds.
     */
    private void awaitFailover(String node, List<String> ids, List<VolumeWriter> writers, long crashNanos, Duration timeout,
                               PrintStream out) throws Exception {
        long deadline = crashNanos + timeout.toNanos();
        java.util.Set<String> ours = new java.util.HashSet<>(ids);
        long nextReport = crashNanos + TimeUnit.SECONDS.toNanos(5);
        while (true) {
            long resumed = writers.stream().filter(w -> w.resumedAt() != 0).count();
            Map<String, Integer> steps = new TreeMap<>();
            int done = 0;
            for (JsonNode v : api.list()) {
                if (!ours.contains(v.path("id").asText())) {
                    continue;
                }
                if (failedOver(v, node)) {
                    done++;
                } else {
                    steps.merge(v.path("operation").path("stage").asText("no operation yet"), 1, Integer::sum);
                }
            }
            if (done == ids.size() && resumed == ids.size() && confirmed(node, ids)) {
                return;
            }
            long now = System.nanoTime();
            if (now > deadline) {
                throw new IllegalStateException(String.format("after %d s: %d of %d volumes failed over (the others at %s), I/O resumed on %d",
                        timeout.toSeconds(), done, ids.size(), steps, resumed));
            }
            if (now > nextReport) {
                out.printf("  %.1f s after the crash: %d of %d failed over (the others at %s), I/O resumed on %d%n",
                        (now - crashNanos) / 1e9, done, ids.size(), steps, resumed);
                nextReport = now + TimeUnit.SECONDS.toNanos(5);
            }
            // The list is read and parsed on the cluster's own cores: when the failover ended does
            // not depend on it (the writers and the journals time it), so look once a second.
            Thread.sleep(1000);
        }
    }

    /** The list is the read side: each volume itself confirms. */
    private boolean confirmed(String node, List<String> ids) throws Exception {
        for (String id : ids) {
            if (!failedOver(api.get("/v1/volumes/" + id), node)) {
                return false;
            }
        }
        return true;
    }

    /**
     * How long each stage of the failovers took (the volumes' own timings, {@code lastFailover.stages}),
     * p50/p99 over the volumes, in the order the stages run: which stage the time went to.
     */
    private void printStageTimes(List<String> ids, PrintStream out) throws Exception {
        Map<String, List<Long>> byStage = new java.util.LinkedHashMap<>();
        for (String id : ids) {
            for (JsonNode s : api.get("/v1/volumes/" + id).path("lastFailover").path("stages")) {
                byStage.computeIfAbsent(s.path("stage").asText(), k -> new ArrayList<>()).add(s.path("millis").asLong());
            }
        }
        StringBuilder sb = new StringBuilder("stage durations p50/p99 ms:");
        byStage.forEach((stage, ms) -> {
            Collections.sort(ms);
            sb.append(String.format(" %s %d/%d", stage, BenchApi.percentile(ms, 50), BenchApi.percentile(ms, 99)));
        });
        out.println(sb);
    }

    /** Per stage, the sorted times from the crash to each volume's event that ended it. */
    private Map<String, List<Long>> stages(List<String> ids, Instant crash) throws Exception {
        Map<String, List<Long>> out = new HashMap<>();
        STAGES.forEach(s -> out.put(s, new ArrayList<>()));
        for (String id : ids) {
            JsonNode events = api.get("/v1/volumes/" + id + "/events");
            for (String stage : STAGES) {
                Optional<Instant> at = Optional.empty();
                for (JsonNode e : events) {
                    if (e.path("type").asText().equals(stage)) {
                        at = Optional.of(Instant.parse(e.path("time").asText()));   // the last one: this failover's
                    }
                }
                at.ifPresent(a -> out.get(stage).add(Duration.between(crash, a).toMillis()));
            }
        }
        out.values().forEach(Collections::sort);
        return out;
    }

    private void print(Result r, List<Long> resumed, Map<String, List<Long>> stages, String node,
                       Map<String, Map<KernelLatencies.Op, KernelLatencies.Spent>> before,
                       Map<String, Map<KernelLatencies.Op, KernelLatencies.Spent>> after, List<VolumeWriter> writers, PrintStream out) {
        out.printf("fault -> host I/O resumed: p50 %d ms, p99 %d ms, max %d ms (host keep-alive %d ms)%n", r.p50Ms(), r.p99Ms(),
                resumed.get(resumed.size() - 1), r.hostKatoMs());
        out.printf("fault -> %s declared FAILED: %d ms%n", node, r.detectMs());
        for (String stage : STAGES) {
            List<Long> ms = stages.get(stage);
            if (!ms.isEmpty()) {
                out.printf("fault -> %-17s p50 %6d ms, p99 %6d ms, max %6d ms (%d volumes); from FAILED: p50 %6d ms, p99 %6d ms%n",
                        stage, BenchApi.percentile(ms, 50), BenchApi.percentile(ms, 99), ms.get(ms.size() - 1), ms.size(),
                        BenchApi.percentile(ms, 50) - r.detectMs(), BenchApi.percentile(ms, 99) - r.detectMs());
            }
        }
        out.printf("FAILED -> host I/O resumed: p50 %d ms, p99 %d ms%n", r.p50Ms() - r.detectMs(), r.p99Ms() - r.detectMs());
        out.printf("kernel work from the crash until every volume failed over and resumed (charged per the table), per node:%n");
        after.forEach((n, ops) -> {
            if (n.equals(node)) {
                return;
            }
            Map<KernelLatencies.Op, KernelLatencies.Spent> delta = new EnumMap<>(KernelLatencies.Op.class);
            ops.forEach((op, s) -> delta.put(op, s.minus(before.get(n).get(op))));
            // A look is charged once, then per object it read (not an op of its own).
            long count = delta.entrySet().stream().filter(e -> !e.getKey().perObject())
                    .mapToLong(e -> e.getValue().count()).sum();
            long nanos = delta.values().stream().mapToLong(KernelLatencies.Spent::nanos).sum();
            StringBuilder top = new StringBuilder();
            delta.entrySet().stream().filter(e -> e.getValue().count() > 0)
                    .sorted(Comparator.comparingLong((Map.Entry<KernelLatencies.Op, KernelLatencies.Spent> e) -> -e.getValue().nanos()))
                    .limit(5).forEach(e -> top.append(String.format(" %s %d×%.0fms", e.getKey().name().toLowerCase(), e.getValue().count(),
                            e.getValue().nanos() / 1e6)));
            out.printf("  %-4s %6d ops %8.1f s:%s%n", n, count, nanos / 1e9, top);
        });
        out.printf("writes: %d acknowledged in all, %d I/O errors; read back: %d lost, %d stale; %d volumes without an optimized path on their host%n",
                writers.stream().mapToLong(VolumeWriter::acks).sum(), r.ioErrors(), r.lostWrites(), r.staleWrites(), r.notOptimized());
    }

    /** Its active is on another node than {@code failed}, and no operation is under way. */
    private static boolean failedOver(JsonNode volume, String failed) {
        String active = controller(volume, "ACTIVE");
        return !active.isEmpty() && !active.equals(failed) && (volume.path("operation").isMissingNode() || volume.path("operation").isNull());
    }

    /** The node of the volume's controller in {@code role}, or "" if it has none. */
    static String controller(JsonNode volume, String role) {
        for (JsonNode c : volume.path("controllers")) {
            if (c.path("role").asText().equals(role)) {
                return c.path("node").asText();
            }
        }
        return "";
    }
}
