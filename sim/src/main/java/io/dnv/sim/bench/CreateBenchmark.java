package io.dnv.sim.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
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

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int CREATE_ATTEMPTS = 3;

    /**
     * HTTP/1.1, as the API's clients speak it: the JDK's default (HTTP/2) offers an h2c upgrade
     * on every request. One thread runs the client's callbacks; by default it starts a thread per
     * concurrent exchange, and every one of them competes with the cluster for the same 2 cores.
     */
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .executor(Executors.newSingleThreadExecutor(r -> {
                Thread t = new Thread(r, "bench-http-client");
                t.setDaemon(true);
                return t;
            }))
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final String api;
    private final String token;

    public CreateBenchmark(String apiBase, String token) {
        this.api = apiBase;
        this.token = token;
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
                volumes, percentile(latencies, 50), percentile(latencies, 99));
        for (int i = 0; i < volumes; i++) {
            HttpResponse<String> r = http.send(request("/v1/volumes/" + prefix + i).DELETE().build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 202 && r.statusCode() != 200) {
                throw new IllegalStateException("delete " + prefix + i + " answered " + r.statusCode() + ": " + r.body());
            }
        }
        awaitAll(prefix, volumes, timeout, null);
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
            HttpResponse<String> r = http.send(request("/v1/nodes").GET().build(), HttpResponse.BodyHandlers.ofString());
            boolean settled = r.statusCode() == 200;
            for (JsonNode n : settled ? JSON.readTree(r.body()).path("items") : JSON.createArrayNode()) {
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
        Result result = new Result(volumes, volumes / seconds, percentile(latencies, 50), percentile(latencies, 99), heapPerVolume);
        out.printf("%d creates in %.2f s: %.1f creates/s%n", volumes, seconds, result.createsPerSecond());
        out.printf("API -> READY latency: p50 %d ms, p99 %d ms, max %d ms%n", result.p50Ms(), result.p99Ms(),
                latencies.get(latencies.size() - 1));
        out.printf("  of which API -> CreateRequested (the volume took the request): p50 %d ms, p99 %d ms%n",
                percentile(round.toAccepted(), 50), percentile(round.toAccepted(), 99));
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
            posts.add(create(prefix + i, sizeBytes, CREATE_ATTEMPTS));
        }
        for (int i = 0; i < volumes; i++) {
            HttpResponse<String> r = posts.get(i).get();
            if (r.statusCode() != 202) {
                throw new IllegalStateException("create " + prefix + i + " answered " + r.statusCode() + ": " + r.body());
            }
        }
        awaitAll(prefix, volumes, timeout, "READY");
        long cpuNanosAtReady = processCpuNanos();
        long allocatedAtReady = allocatedBytes();
        List<Long> toAccepted = new ArrayList<>();
        List<Long> toReady = new ArrayList<>();
        Instant lastReady = Instant.EPOCH;
        for (int i = 0; i < volumes; i++) {
            JsonNode events = get("/v1/volumes/" + prefix + i + "/events");
            Instant ready = eventTime(events, prefix + i, "BecameReady");
            toAccepted.add(Duration.between(sent.get(i), eventTime(events, prefix + i, "CreateRequested")).toMillis());
            toReady.add(Duration.between(sent.get(i), ready).toMillis());
            lastReady = ready.isAfter(lastReady) ? ready : lastReady;
        }
        Collections.sort(toAccepted);
        Collections.sort(toReady);
        return new Round(toAccepted, toReady, lastReady, cpuNanosAtReady, allocatedAtReady);
    }

    /** A 503 says the cluster did not answer in time; a create is idempotent, so a client sends it again. */
    private CompletableFuture<HttpResponse<String>> create(String name, long sizeBytes, int attempts) {
        HttpRequest post = request("/v1/volumes").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"" + name + "\",\"sizeBytes\":" + sizeBytes + "}")).build();
        return http.sendAsync(post, HttpResponse.BodyHandlers.ofString()).thenCompose(r -> r.statusCode() == 503 && attempts > 1
                ? create(name, sizeBytes, attempts - 1) : CompletableFuture.completedFuture(r));
    }

    /**
     * Waits until every volume of the round is in {@code state} (or, with {@code state} null,
     * gone). It watches the list, one request per 500 volumes of the cluster, because asking each
     * volume every few hundred milliseconds took a tenth of the CPU the creates are measured on.
     * The list is the read side and may lag, so the end is confirmed by asking each volume once.
     * Other volumes in the list (a reused database may hold some) are not the round's.
     */
    private void awaitAll(String prefix, int volumes, Duration timeout, String state) throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < volumes; i++) {
            ids.add(prefix + i);
        }
        Set<String> round = new HashSet<>(ids);
        long deadline = System.nanoTime() + timeout.toNanos();
        int listed = 0;
        Optional<String> unconfirmed = Optional.empty();
        while (System.nanoTime() < deadline) {
            listed = listed(round, state);
            if (listed == (state == null ? 0 : volumes)) {
                unconfirmed = firstUnconfirmed(ids, state);
                if (unconfirmed.isEmpty()) {
                    return;
                }
            }
            // Each look reads and parses the whole list on the cluster's own cores (at 250 ms, a
            // thirtieth of a round's CPU); when the round ended does not depend on it (latencies
            // and the rate are the journal's times).
            Thread.sleep(500);
        }
        throw new IllegalStateException("after " + timeout.toSeconds() + " s the list shows " + listed + " of " + volumes + " volumes "
                + (state == null ? "still there" : state) + unconfirmed.map(id -> ", but " + id + " itself does not").orElse(""));
    }

    /** How many of {@code ids} the list shows in {@code state}, or at all when {@code state} is null. */
    private int listed(Set<String> ids, String state) throws Exception {
        int count = 0;
        String page = "";
        do {
            JsonNode list = get("/v1/volumes?limit=500" + (page.isEmpty() ? "" : "&pageToken=" + URLEncoder.encode(page, StandardCharsets.UTF_8)));
            for (JsonNode v : list.path("items")) {
                if (!ids.contains(v.path("id").asText())) {
                    continue;
                }
                if (v.path("state").asText().equals("FAILED")) {
                    throw new IllegalStateException(v.path("id").asText() + " FAILED: " + v.path("error").asText());
                }
                if (state == null || v.path("state").asText().equals(state)) {
                    count++;
                }
            }
            page = list.path("nextPageToken").asText("");
        } while (!page.isEmpty());
        return count;
    }

    /** The first of {@code ids} that does not itself answer {@code state} (404 when null). */
    private Optional<String> firstUnconfirmed(List<String> ids, String state) throws Exception {
        for (String id : ids) {
            HttpResponse<String> r = http.send(request("/v1/volumes/" + id).GET().build(), HttpResponse.BodyHandlers.ofString());
            boolean done = state == null ? r.statusCode() == 404
                    : r.statusCode() == 200 && JSON.readTree(r.body()).path("state").asText().equals(state);
            if (!done) {
                return Optional.of(id);
            }
        }
        return Optional.empty();
    }

    private static Instant eventTime(JsonNode events, String id, String type) {
        for (JsonNode e : events) {
            if (e.path("type").asText().equals(type)) {
                return Instant.parse(e.path("time").asText());
            }
        }
        throw new IllegalStateException(id + " has no " + type + " event");
    }

    private JsonNode get(String path) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("GET " + path + " answered " + r.statusCode() + ": " + r.body());
        }
        return JSON.readTree(r.body());
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(api + path)).header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(60));
    }

    /** CPU time of this JVM, all threads (the cluster, and this client). */
    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** Bytes allocated by the JVM's live threads: the same work allocates the same, however fast the CPU is that day. */
    private static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getTotalThreadAllocatedBytes();
    }

    static long percentile(List<Long> sorted, int p) {
        int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
    }
}
