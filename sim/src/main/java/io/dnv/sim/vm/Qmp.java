package io.dnv.sim.vm;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * QEMU's machine protocol on a guest's monitor socket, one command per connection: {@code stop}
 * freezes the whole guest (its CPU, its timers, its network card: the other guest's packets wait
 * in the link until {@code cont}), which is what a peer sees of a machine that hangs.
 */
final class Qmp {

    private Qmp() {}

    /** Runs {@code command} (no arguments) and returns once QEMU answered it; a QEMU silent past {@code within} fails the call. */
    static void execute(Path socket, String command, Duration within) throws IOException {
        SocketChannel s = SocketChannel.open(StandardProtocolFamily.UNIX);
        CompletableFuture<Void> exchange = CompletableFuture.runAsync(() -> {
            try {
                s.connect(UnixDomainSocketAddress.of(socket));
                BufferedReader in = new BufferedReader(new InputStreamReader(Channels.newInputStream(s), StandardCharsets.UTF_8));
                OutputStream out = Channels.newOutputStream(s);
                answer(in, "\"QMP\"", "greeting");
                out.write("{\"execute\":\"qmp_capabilities\"}\n".getBytes(StandardCharsets.UTF_8));
                answer(in, "\"return\"", "qmp_capabilities");
                out.write(("{\"execute\":\"" + command + "\"}\n").getBytes(StandardCharsets.UTF_8));
                answer(in, "\"return\"", command);
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        try {
            exchange.get(within.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new IOException("QEMU did not answer " + command + " on " + socket + " within " + within.toSeconds() + " s", e);
        } catch (ExecutionException e) {
            throw new IOException("QEMU refused " + command + " on " + socket + ": " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } finally {
            s.close();
        }
    }

    /** Skips events (a stop is answered by a STOP event too, in either order) up to the reply, which must contain {@code expected}. */
    private static void answer(BufferedReader in, String expected, String what) throws IOException {
        String line;
        while ((line = in.readLine()) != null) {
            if (line.contains("\"event\"")) {
                continue;
            }
            if (line.contains(expected)) {
                return;
            }
            throw new IOException(what + ": " + line);
        }
        throw new IOException(what + ": QEMU closed the monitor");
    }
}
