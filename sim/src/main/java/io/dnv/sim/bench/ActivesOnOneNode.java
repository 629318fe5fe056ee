package io.dnv.sim.bench;

import com.fasterxml.jackson.databind.JsonNode;
import io.dnv.core.volume.Placer;

import java.io.PrintStream;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * Creates volumes through the API until {@code wanted} of them have their active controller on
 * one node. The placer spreads controllers evenly (a node 16 controller volumes ahead of the
 * least loaded is chosen after all others, {@code Placer.SPREAD_VOLUMES}), so a node gets its
 * share only: the others get as many controllers, and the cluster holds about wanted × nodes / 2
 * volumes in all, as a cluster loaded that much would. Names are picked so the node ranks first among equally loaded
 * ones ({@link Placer#spread}): while it is within the balance, a volume's active lands there;
 * while it is ahead, the volumes land elsewhere and even the load out.
 */
final class ActivesOnOneNode {

    /** Creates at once: the placer's counts move once a create reserved, so a batch chooses on the same counts. */
    private static final int BATCH = 100;
    private static final int CREATE_ATTEMPTS = 3;

    private final BenchApi api;
    private final long sizeBytes;
    private int named;

    ActivesOnOneNode(BenchApi api, long sizeBytes) {
        this.api = api;
        this.sizeBytes = sizeBytes;
    }

    /** The volumes, READY, whose active controller is on {@code node}; every other volume made meanwhile stays. */
    List<String> create(String node, int wanted, Duration timeout, PrintStream out) throws Exception {
        List<String> nodes = new ArrayList<>();
        api.get("/v1/nodes?limit=500").path("items").forEach(n -> nodes.add(n.path("id").asText()));
        List<String> onNode = new ArrayList<>();
        int created = 0;
        long start = System.nanoTime();
        long deadline = start + timeout.toNanos();
        while (onNode.size() < wanted) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("after " + timeout.toSeconds() + " s, " + onNode.size() + " of " + wanted
                        + " volumes have their active on " + node + " (" + created + " created)");
            }
            List<String> batch = new ArrayList<>();
            while (batch.size() < Math.min(BATCH, wanted - onNode.size())) {
                String name = "fo-" + named++;
                if (ranksFirst(name, node, nodes)) {
                    batch.add(name);
                }
            }
            List<CompletableFuture<HttpResponse<String>>> posts = batch.stream().map(n -> api.create(n, sizeBytes, CREATE_ATTEMPTS)).toList();
            for (int i = 0; i < batch.size(); i++) {
                HttpResponse<String> r = posts.get(i).get();
                if (r.statusCode() != 202) {
                    throw new IllegalStateException("create " + batch.get(i) + " answered " + r.statusCode() + ": " + r.body());
                }
            }
            api.awaitEach(batch, timeout, "READY");
            created += batch.size();
            for (String id : batch) {
                if (node.equals(FailoverBenchmark.controller(api.get("/v1/volumes/" + id), "ACTIVE"))) {
                    onNode.add(id);
                }
            }
            out.printf("  placing: %d volumes created in %.0f s, %d with their active on %s%n", created,
                    (System.nanoTime() - start) / 1e9, onNode.size(), node);
        }
        out.printf("placed: %d volumes created in %.1f s, %d of them with their active on %s; controllers per node %s%n", created,
                (System.nanoTime() - start) / 1e9, onNode.size(), node, controllersPerNode());
        return onNode;
    }

    /** Whether {@code node} comes first of all nodes in the placer's order for this name. */
    private static boolean ranksFirst(String name, String node, List<String> nodes) {
        return nodes.stream().min(Comparator.comparingInt((String n) -> Placer.spread(name, n))).orElseThrow().equals(node);
    }

    /** Active/standby controllers per node, as the volume list shows them. */
    private String controllersPerNode() throws Exception {
        Map<String, int[]> counts = new TreeMap<>();
        for (JsonNode v : api.list()) {
            for (JsonNode c : v.path("controllers")) {
                counts.computeIfAbsent(c.path("node").asText(), n -> new int[2])[c.path("role").asText().equals("ACTIVE") ? 0 : 1]++;
            }
        }
        StringBuilder sb = new StringBuilder();
        counts.forEach((n, c) -> sb.append(sb.length() == 0 ? "" : ", ").append(n).append(' ').append(c[0]).append('/').append(c[1]));
        return sb.toString();
    }
}
