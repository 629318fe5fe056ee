package io.dnv.sim.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
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
 */
public final class CreateBenchmark {

    public record Result(int creates, double createsPerSecond, long p50Ms, long p99Ms, long heapPerVolumeBytes) {
        public String line() {
            return String.format("creates=%d creates_per_s=%.1f p50_ms=%d p99_ms=%d heap_per_volume_bytes=%d",
                    creates, createsPerSecond, p50Ms, p99Ms, heapPerVolumeBytes);
        }
    }

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String api;
    private final String token;

    public CreateBenchmark(String apiBase, String token) {
        this.api = apiBase;
        this.token = token;
    }

    /** {@code usedHeap} measures the heap of the JVM the cluster runs in (after a GC). */
    public Result run(int volumes, long sizeBytes, Duration timeout, LongSupplier usedHeap, PrintStream out) throws Exception {
        long heapBefore = usedHeap.getAsLong();
        List<Instant> sent = new ArrayList<>(Collections.nCopies(volumes, Instant.EPOCH));
        List<CompletableFuture<HttpResponse<String>>> posts = new ArrayList<>();
        Instant start = Instant.now();
        for (int i = 0; i < volumes; i++) {
            sent.set(i, Instant.now());
            posts.add(http.sendAsync(request("/v1/volumes").header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"bench-" + i + "\",\"sizeBytes\":" + sizeBytes + "}")).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        for (int i = 0; i < volumes; i++) {
            HttpResponse<String> r = posts.get(i).get();
            if (r.statusCode() != 202) {
                throw new IllegalStateException("create bench-" + i + " answered " + r.statusCode() + ": " + r.body());
            }
        }
        awaitAllReady(volumes, timeout);
        List<Long> latencies = new ArrayList<>();
        Instant lastReady = start;
        for (int i = 0; i < volumes; i++) {
            Instant ready = readyTime("bench-" + i);
            latencies.add(Duration.between(sent.get(i), ready).toMillis());
            lastReady = ready.isAfter(lastReady) ? ready : lastReady;
        }
        Collections.sort(latencies);
        double seconds = Duration.between(start, lastReady).toMillis() / 1000.0;
        long heapPerVolume = Math.max(0, usedHeap.getAsLong() - heapBefore) / volumes;
        Result result = new Result(volumes, volumes / seconds, percentile(latencies, 50), percentile(latencies, 99), heapPerVolume);
        out.printf("%d creates in %.2f s: %.1f creates/s%n", volumes, seconds, result.createsPerSecond());
        out.printf("API -> READY latency: p50 %d ms, p99 %d ms, max %d ms%n", result.p50Ms(), result.p99Ms(),
                latencies.get(latencies.size() - 1));
        out.printf("heap per volume: %d bytes (whole JVM: controller, 6 agents, simulated kernels)%n", heapPerVolume);
        out.println(result.line());
        return result;
    }

    private void awaitAllReady(int volumes, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        int ready = 0;
        while (System.nanoTime() < deadline) {
            ready = 0;
            for (int i = 0; i < volumes; i++) {
                JsonNode v = get("/v1/volumes/bench-" + i);
                String state = v.path("state").asText();
                if (state.equals("FAILED")) {
                    throw new IllegalStateException("bench-" + i + " FAILED: " + v.path("error").asText());
                }
                if (!state.equals("READY")) {
                    break;
                }
                ready++;
            }
            if (ready == volumes) {
                return;
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("only " + ready + " of " + volumes + " volumes READY after " + timeout.toSeconds() + " s");
    }

    private Instant readyTime(String id) throws IOException, InterruptedException {
        for (JsonNode e : get("/v1/volumes/" + id + "/events")) {
            if (e.path("type").asText().equals("BecameReady")) {
                return Instant.parse(e.path("time").asText());
            }
        }
        throw new IllegalStateException(id + " has no BecameReady event");
    }

    private JsonNode get(String path) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofString());
        return JSON.readTree(r.body());
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(api + path)).header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(60));
    }

    static long percentile(List<Long> sorted, int p) {
        int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
    }
}
