package io.dnv.app;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.Socket;
import java.net.SocketException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/** A test's HTTP client for the API over a real port. */
final class ApiClient {

    static final ObjectMapper JSON = new ObjectMapper();

    record Reply(int status, String contentType, byte[] body, HttpResponse<byte[]> raw) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON (" + status + "): " + new String(body), e);
            }
        }
    }

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final String base;
    private final String token;

    ApiClient(int port, String token) {
        this.base = "http://127.0.0.1:" + port;
        this.token = token;
    }

    Reply get(String path) {
        return send(HttpRequest.newBuilder(URI.create(base + path)).GET(), true);
    }

    Reply getWithout(String path, String authorization) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).GET();
        if (authorization != null) {
            b.header("Authorization", authorization);
        }
        return send(b, false);
    }

    Reply post(String path, String json) {
        return send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)), true);
    }

    Reply patch(String path, String json) {
        return send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/json")
                .method("PATCH", HttpRequest.BodyPublishers.ofString(json)), true);
    }

    Reply put(String path, byte[] data) {
        return send(HttpRequest.newBuilder(URI.create(base + path)).header("Content-Type", "application/octet-stream")
                .PUT(HttpRequest.BodyPublishers.ofByteArray(data)), true);
    }

    /**
     * The status a PUT of {@code length} bytes gets when the client first asks whether to send
     * them (Expect: 100-continue, as curl does for large bodies): a server refusing the size
     * answers at once without reading a byte, then closes the connection. On a socket of its
     * own: with Java's client the close raced with the body still being written (a broken pipe
     * instead of the answer), and it may wait forever for a 100 that does not come. The close
     * can still overtake the answer as a reset on a loaded machine; the question is then asked
     * again (it changes nothing), at most three times.
     */
    int statusOfPutAskingFirst(String path, long length) {
        URI uri = URI.create(base + path);
        String head = "PUT " + uri.getRawPath() + "?" + uri.getRawQuery() + " HTTP/1.1\r\nHost: " + uri.getHost() + ":" + uri.getPort()
                + "\r\nAuthorization: Bearer " + token + "\r\nContent-Type: application/octet-stream\r\nContent-Length: " + length
                + "\r\nExpect: 100-continue\r\n\r\n";
        SocketException reset = null;
        for (int attempt = 0; attempt < 3; attempt++) {
            try (Socket socket = new Socket(uri.getHost(), uri.getPort())) {
                socket.setSoTimeout(30_000);
                socket.getOutputStream().write(head.getBytes(StandardCharsets.US_ASCII));
                socket.getOutputStream().flush();
                String statusLine = new BufferedReader(new InputStreamReader(socket.getInputStream(), StandardCharsets.US_ASCII)).readLine();
                return Integer.parseInt(statusLine.split(" ")[1]);
            } catch (SocketException e) {
                reset = e;
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        }
        throw new AssertionError(reset);
    }

    Reply delete(String path) {
        return send(HttpRequest.newBuilder(URI.create(base + path)).DELETE(), true);
    }

    /** Polls a volume until it is in {@code state}, failing after {@code wait}. */
    JsonNode awaitState(String id, String state, Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        Reply r = null;
        while (System.nanoTime() < deadline) {
            r = get("/v1/volumes/" + id);
            if (r.status() == 200 && r.json().path("state").asText().equals(state)) {
                return r.json();
            }
            sleep(100);
        }
        throw new AssertionError("volume " + id + " not " + state + " after " + wait.toSeconds() + " s: "
                + (r == null ? "" : r.status() + " " + new String(r.body())));
    }

    void awaitGone(String id, Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        while (System.nanoTime() < deadline) {
            if (get("/v1/volumes/" + id).status() == 404) {
                return;
            }
            sleep(100);
        }
        throw new AssertionError("volume " + id + " still there after " + wait.toSeconds() + " s");
    }

    /**
     * Polls {@code GET /v1/volumes?limit=500} until its items satisfy {@code done}: the list
     * comes from the read side and shows a change a moment after the entity made it.
     */
    JsonNode awaitList(java.util.function.Predicate<JsonNode> done, String what, Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        JsonNode items = null;
        while (System.nanoTime() < deadline) {
            items = get("/v1/volumes?limit=500").json().path("items");
            if (done.test(items)) {
                return items;
            }
            sleep(100);
        }
        throw new AssertionError("volume list: " + what + " not within " + wait.toSeconds() + " s; last seen " + items);
    }

    /** Polls a volume until {@code node} is its active controller and no operation runs (a failover done). */
    JsonNode awaitActive(String id, String node, Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            JsonNode v = get("/v1/volumes/" + id).json();
            if (node.equals(controller(v, "ACTIVE")) && (v.path("operation").isMissingNode() || v.path("operation").isNull())) {
                return v;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("volume " + id + " not failed over to " + node + " within " + wait.toSeconds() + " s: " + v);
            }
            sleep(200);
        }
    }

    /** Polls a node's health until its status is {@code status}. */
    JsonNode awaitHealth(String node, String status, Duration wait) {
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            JsonNode h = get("/v1/nodes/" + node + "/health").json();
            if (h.path("status").asText().equals(status)) {
                return h;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("node " + node + " not " + status + " within " + wait.toSeconds() + " s: " + h);
            }
            sleep(100);
        }
    }

    /** The node of the volume's (first) controller in {@code role}, or "" when it has none. */
    static String controller(JsonNode volume, String role) {
        for (JsonNode c : volume.path("controllers")) {
            if (c.path("role").asText().equals(role)) {
                return c.path("node").asText();
            }
        }
        return "";
    }

    /** Bytes a test writes and reads back: the same for the same seed. */
    static byte[] random(int seed, int length) {
        byte[] b = new byte[length];
        new java.util.Random(seed).nextBytes(b);
        return b;
    }

    /** Whether the list items hold volume {@code id} in {@code state}. */
    static boolean lists(JsonNode items, String id, String state) {
        for (JsonNode v : items) {
            if (v.path("id").asText().equals(id) && v.path("state").asText().equals(state)) {
                return true;
            }
        }
        return false;
    }

    static boolean lists(JsonNode items, String id) {
        for (JsonNode v : items) {
            if (v.path("id").asText().equals(id)) {
                return true;
            }
        }
        return false;
    }

    private Reply send(HttpRequest.Builder b, boolean auth) {
        if (auth) {
            b.header("Authorization", "Bearer " + token);
        }
        try {
            HttpResponse<byte[]> r = http.send(b.timeout(Duration.ofSeconds(90)).build(), HttpResponse.BodyHandlers.ofByteArray());
            return new Reply(r.statusCode(), r.headers().firstValue("Content-Type").orElse(""), r.body(), r);
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
