package io.dnv.sim.bench;

import com.fasterxml.jackson.databind.JsonNode;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;

/**
 * N concurrent volume creates through the HTTP API, each followed to READY. A create's
 * latency is from the moment its POST was sent to the time the volume's journal recorded
 * BecameReady, so polling does not inflate it. Prints the numbers and one key=value line.
 *
 * Warm-up rounds (the same creates under other names, then deleted) go first: a controller
 * runs for months, and on 2 cores the JIT compilers take a fifth of the CPU for the first
 * minutes of a JVM.
 */
public final class CreateBenchmark {

    public record Result(int creates, double createsPerSecond, long p50Ms, long p99Ms, long heapPerVolumeBytes) {
        public String line() {
            return String.format("creates=%d creates_per_s=%.1f p50_ms=%d p99_ms=%d heap_per_volume_bytes=%d",
                    creates, createsPerSecond, p50Ms, p99Ms, heapPerVolumeBytes);
        }
    }

    private static final int CREATE_ATTEMPTS = 3;

    private final BenchApi api;

    public CreateBenchmark(String apiBase, String token) {
        this.api = new BenchApi(apiBase, token);
    }

    /**
     * Warm-up round {@code round}: creates {@code volumes} volumes named warmup&lt;round&gt;-N, waits
     * for all to be READY, deletes them and waits until they are gone.
     */
    public void warmUp(int round, int volumes, long sizeBytes, Duration timeout, PrintStream out) throws Exception {
        Instant start = Instant.now();
        String prefix = "warmup" + round + "-";
        List<Long> latencies = createAll(prefix, volumes, sizeBytes, timeout).toReady();
        out.printf("warm-up round %d: %d creates, p50 %d ms, p99 %d ms (the JVM compiling as it goes); deleting them%n", round,
                volumes, BenchApi.percentile(latencies, 50), BenchApi.percentile(latencies, 99));
        for (int i = 0; i < volumes; i++) {
            HttpResponse<String> r = api.send(api.request("/v1/volumes/" + prefix + i).DELETE().build());
            if (r.statusCode() != 202 && r.statusCode() != 200) {
                throw new IllegalStateException("delete " + prefix + i + " answered " + r.statusCode() + ": " + r.body());
            }
        }
        api.awaitAll(ids(prefix, volumes), timeout, null);
        awaitNodesSettled(timeout);
        out.printf("warm-up round %d done in %.1f s%n", round, Duration.between(start, Instant.now()).toMillis() / 1000.0);
    }

    /**
     * A deleted volume is gone from the API before its nodes are done with it: the agents zero its
     * LDs, confirm it gone, and zero its freed extents on the disk again before they are offered.
     * The measured round starts once that is over, or it would measure the warm-up's tail.
     */
    private void awaitNodesSettled(Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = api.send(api.request("/v1/nodes").GET().build());
            boolean settled = r.statusCode() == 200;
            for (JsonNode n : settled ? BenchApi.JSON.readTree(r.body()).path("items") : BenchApi.JSON.createArrayNode()) {
                settled &= n.path("removing").isEmpty() && n.path("capacity").path("dirtyBytes").asLong() == 0;
            }
            if (settled) {
                return;
            }
            Thread.sleep(500);
        }
        throw new IllegalStateException("after " + timeout.toSeconds() + " s the nodes are still removing or zeroing the warm-up's volumes");
    }

    /** {@code usedHeap} measures the heap of the JVM the cluster runs in (after a GC). */
    public Result run(int volumes, long sizeBytes, Duration timeout, LongSupplier usedHeap, PrintStream out) throws Exception {
        long heapBefore = usedHeap.getAsLong();
        long cpuBefore = processCpuNanos();
        long allocatedBefore = allocatedBytes();
        Instant start = Instant.now();
        Round round = createAll("bench-", volumes, sizeBytes, timeout);
        long cpuNanos = round.cpuNanosAtReady() - cpuBefore;
        long allocated = round.allocatedAtReady() - allocatedBefore;
        List<Long> latencies = round.toReady();
        double seconds = Duration.between(start, round.lastReady()).toMillis() / 1000.0;
        long heapPerVolume = Math.max(0, usedHeap.getAsLong() - heapBefore) / volumes;
        Result result = new Result(volumes, volumes / seconds, BenchApi.percentile(latencies, 50), BenchApi.percentile(latencies, 99), heapPerVolume);
        out.printf("%d creates in %.2f s: %.1f creates/s%n", volumes, seconds, result.createsPerSecond());
        out.printf("API -> READY latency: p50 %d ms, p99 %d ms, max %d ms%n", result.p50Ms(), result.p99Ms(),
                latencies.get(latencies.size() - 1));
        out.printf("  of which API -> CreateRequested (the volume took the request): p50 %d ms, p99 %d ms%n",
                BenchApi.percentile(round.toAccepted(), 50), BenchApi.percentile(round.toAccepted(), 99));
        out.printf("CPU: %.1f ms per create (the whole JVM, this client's polling for READY included, %d cores)%n",
                cpuNanos / 1e6 / volumes, Runtime.getRuntime().availableProcessors());
        out.printf("allocated: %.2f MB per create (the same JVM; steadier from run to run than CPU time)%n",
                allocated / 1e6 / volumes);
        out.printf("heap per volume: %d bytes (whole JVM: controller, 6 agents, simulated kernels)%n", heapPerVolume);
        // The key=value line is the caller's to print, once the cluster stopped: the members log
        // about the measuring collections' pause for a moment after it, and the line must come last.
        return result;
    }

    /**
     * Sorted latencies from the first POST to CreateRequested and to BecameReady, the last
     * BecameReady, and the JVM's CPU time and allocated bytes once every volume was seen READY
     * (before the events are read for the latencies).
     */
    private record Round(List<Long> toAccepted, List<Long> toReady, Instant lastReady, long cpuNanosAtReady, long allocatedAtReady) {}

    /** Sends every create at once and waits until all are READY. */
    private Round createAll(String prefix, int volumes, long sizeBytes, Duration timeout) throws Exception {
        List<Instant> sent = new ArrayList<>(Collections.nCopies(volumes, Instant.EPOCH));
        List<CompletableFuture<HttpResponse<String>>> posts = new ArrayList<>();
        for (int i = 0; i < volumes; i++) {
            sent.set(i, Instant.now());
            posts.add(api.create(prefix + i, sizeBytes, CREATE_ATTEMPTS));
        }
        for (int i = 0; i < volumes; i++) {
            HttpResponse<String> r = posts.get(i).get();
            if (r.statusCode() != 202) {
                throw new IllegalStateException("create " + prefix + i + " answered " + r.statusCode() + ": " + r.body());
            }
        }
        api.awaitAll(ids(prefix, volumes), timeout, "READY");
        long cpuNanosAtReady = processCpuNanos();
        long allocatedAtReady = allocatedBytes();
        List<Long> toAccepted = new ArrayList<>();
        List<Long> toReady = new ArrayList<>();
        Instant lastReady = Instant.EPOCH;
        for (int i = 0; i < volumes; i++) {
            JsonNode events = api.get("/v1/volumes/" + prefix + i + "/events");
            Instant ready = eventTime(events, prefix + i, "BecameReady");
            toAccepted.add(Duration.between(sent.get(i), eventTime(events, prefix + i, "CreateRequested")).toMillis());
            toReady.add(Duration.between(sent.get(i), ready).toMillis());
            lastReady = ready.isAfter(lastReady) ? ready : lastReady;
        }
        Collections.sort(toAccepted);
        Collections.sort(toReady);
        return new Round(toAccepted, toReady, lastReady, cpuNanosAtReady, allocatedAtReady);
    }

    private static List<String> ids(String prefix, int volumes) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < volumes; i++) {
            ids.add(prefix + i);
        }
        return ids;
    }

    private static Instant eventTime(JsonNode events, String id, String type) {
        return BenchApi.eventTime(events, type).orElseThrow(() -> new IllegalStateException(id + " has no " + type + " event"));
    }

    /** CPU time of this JVM, all threads (the cluster, and this client). */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** Bytes allocated by the JVM's live threads: the same work allocates the same, however fast the CPU is that day. */
    private static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getTotalThreadAllocatedBytes();
    }
}
