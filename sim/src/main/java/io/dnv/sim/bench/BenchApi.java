package io.dnv.sim.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;

/** The HTTP API as the benchmarks use it: a client of the cluster like any other. */
final class BenchApi {

    static final ObjectMapper JSON = new ObjectMapper();

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

    BenchApi(String apiBase, String token) {
        this.api = apiBase;
        this.token = token;
    }

    HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(api + path)).header("Authorization", "Bearer " + token).timeout(Duration.ofSeconds(60));
    }

    HttpResponse<String> send(HttpRequest request) throws IOException, InterruptedException {
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    CompletableFuture<HttpResponse<String>> sendAsync(HttpRequest request) {
        return http.sendAsync(request, HttpResponse.BodyHandlers.ofString());
    }

    CompletableFuture<HttpResponse<String>> postAsync(String path, String json) {
        return sendAsync(request(path).header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build());
    }

    JsonNode get(String path) throws IOException, InterruptedException {
        HttpResponse<String> r = send(request(path).GET().build());
        if (r.statusCode() != 200) {
            throw new IllegalStateException("GET " + path + " answered " + r.statusCode() + ": " + r.body());
        }
        return JSON.readTree(r.body());
    }

    /** A create, sent again on a 503 ({@link #postAgain}). */
    CompletableFuture<HttpResponse<String>> create(String name, long sizeBytes, int attempts) {
        return postAgain("/v1/volumes", "{\"name\":\"" + name + "\",\"sizeBytes\":" + sizeBytes + "}", attempts);
    }

    /**
     * A 503 says the cluster did not answer in time; creates and attaches are idempotent, so a
     * client sends them again, up to {@code attempts} times in all.
     */
    CompletableFuture<HttpResponse<String>> postAgain(String path, String json, int attempts) {
        return postAsync(path, json).thenCompose(r -> r.statusCode() == 503 && attempts > 1
                ? postAgain(path, json, attempts - 1) : CompletableFuture.completedFuture(r));
    }

    /**
     * Waits until every one of {@code ids} is in {@code state} (or, with {@code state} null,
     * gone). It watches the list, one request per 500 volumes of the cluster, because asking each
     * volume every few hundred milliseconds took a tenth of the CPU the creates are measured on.
     * The list is the read side and may lag, so the end is confirmed by asking each volume once.
     * Other volumes in the list (a reused database may hold some) are left out.
     */
    void awaitAll(List<String> ids, Duration timeout, String state) throws Exception {
        Set<String> round = new HashSet<>(ids);
        long deadline = System.nanoTime() + timeout.toNanos();
        int listed = 0;
        Optional<String> unconfirmed = Optional.empty();
        while (System.nanoTime() < deadline) {
            listed = listed(round, state);
            if (listed == (state == null ? 0 : ids.size())) {
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
        throw new IllegalStateException("after " + timeout.toSeconds() + " s the list shows " + listed + " of " + ids.size() + " volumes "
                + (state == null ? "still there" : state) + unconfirmed.map(id -> ", but " + id + " itself does not").orElse(""));
    }

    /** How many of {@code ids} the list shows in {@code state}, or at all when {@code state} is null. */
    private int listed(Set<String> ids, String state) throws Exception {
        int count = 0;
        for (JsonNode v : list()) {
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
        return count;
    }

    /** Every volume as the list shows it (the read side: it may lag the volumes by a moment). */
    List<JsonNode> list() throws Exception {
        List<JsonNode> all = new ArrayList<>();
        String page = "";
        do {
            JsonNode list = get("/v1/volumes?limit=500" + (page.isEmpty() ? "" : "&pageToken=" + URLEncoder.encode(page, StandardCharsets.UTF_8)));
            list.path("items").forEach(all::add);
            page = list.path("nextPageToken").asText("");
        } while (!page.isEmpty());
        return all;
    }

    /**
     * Waits until every one of {@code ids} answers {@code state} itself, asking only those that
     * did not yet: for a batch small against the cluster, where reading the whole list at every
     * look cost what the cluster holds (at a few thousand volumes, a tenth of the CPU while placing).
     */
    void awaitEach(List<String> ids, Duration timeout, String state) throws Exception {
        Set<String> left = new HashSet<>(ids);
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!left.isEmpty()) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("after " + timeout.toSeconds() + " s, " + left.size() + " of " + ids.size()
                        + " volumes are not " + state + ", " + left.iterator().next() + " among them");
            }
            for (String id : List.copyOf(left)) {
                JsonNode v = get("/v1/volumes/" + id);
                if (v.path("state").asText().equals("FAILED")) {
                    throw new IllegalStateException(id + " FAILED: " + v.path("error").asText());
                }
                if (v.path("state").asText().equals(state)) {
                    left.remove(id);
                }
            }
            if (!left.isEmpty()) {
                Thread.sleep(500);
            }
        }
    }

    /** The first of {@code ids} that does not itself answer {@code state} (404 when null). */
    private Optional<String> firstUnconfirmed(List<String> ids, String state) throws Exception {
        for (String id : ids) {
            HttpResponse<String> r = send(request("/v1/volumes/" + id).GET().build());
            boolean done = state == null ? r.statusCode() == 404
                    : r.statusCode() == 200 && JSON.readTree(r.body()).path("state").asText().equals(state);
            if (!done) {
                return Optional.of(id);
            }
        }
        return Optional.empty();
    }

    /** When the volume's journal recorded its first event of {@code type}; empty if it has none. */
    static Optional<Instant> eventTime(JsonNode events, String type) {
        for (JsonNode e : events) {
            if (e.path("type").asText().equals(type)) {
                return Optional.of(Instant.parse(e.path("time").asText()));
            }
        }
        return Optional.empty();
    }

    static long percentile(List<Long> sorted, int p) {
        int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
    }
}
