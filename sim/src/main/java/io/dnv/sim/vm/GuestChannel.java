package io.dnv.sim.vm;

import io.dnv.node.linux.CommandRunner;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The host's end of a guest's command channel (a virtio-serial port behind a unix socket):
 * runs scripts inside the guest, several at once, as a real node's agent passes, side watcher
 * and witness watcher run side by side; each answer is matched to its command by id. One
 * connection per guest, as QEMU serves one client per chardev socket.
 */
public final class GuestChannel implements CommandRunner, AutoCloseable {

    /** How long the host waits past a command's own timeout before it calls the guest lost. */
    private static final Duration GRACE = Duration.ofSeconds(20);
    private static final ScheduledExecutorService WATCHDOG = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "guest-channel-watchdog");
        t.setDaemon(true);
        return t;
    });

    private final String guest;
    private final SocketChannel socket;
    private final BufferedReader in;
    private final AtomicLong ids = new AtomicLong();
    /** The commands sent and not answered yet, by id. */
    private final Map<String, CompletableFuture<Result>> pending = new ConcurrentHashMap<>();
    private volatile boolean closed;
    private final String hello;

    private GuestChannel(String guest, SocketChannel socket, long deadline) throws IOException {
        this.guest = guest;
        this.socket = socket;
        // Straight on the channel: Channels' streams share one lock, and a write would wait for the read under way.
        InputStream raw = new InputStream() {
            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return socket.read(ByteBuffer.wrap(b, off, len));
            }
        };
        this.in = new BufferedReader(new InputStreamReader(raw, StandardCharsets.US_ASCII));
        // QEMU accepts the connection whether or not the guest ever opens its port: a guest
        // stuck in boot would leave this read waiting for ever, so it ends at the deadline.
        ScheduledFuture<?> guard = WATCHDOG.schedule(this::closeQuietly, Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        try {
            String line = in.readLine();
            if (line == null || !line.startsWith("HELLO ")) {
                throw new IOException(guest + ": expected HELLO from the guest agent, got " + line);
            }
            this.hello = line;
        } finally {
            guard.cancel(false);
        }
        Thread reader = new Thread(this::readAnswers, "guest-channel-" + guest);
        reader.setDaemon(true);
        reader.start();
    }

    /**
     * Connects to the guest's socket, waiting for QEMU to create it and the agent to say hello,
     * and gives up as soon as {@code qemu} exits: a QEMU that aborted will never answer.
     */
    public static GuestChannel connect(String guest, Path socketPath, Duration wait, Process qemu) throws IOException {
        long deadline = System.nanoTime() + wait.toNanos();
        IOException last = null;
        while (System.nanoTime() < deadline) {
            if (!qemu.isAlive()) {
                throw new IOException(guest + ": QEMU exited (status " + qemu.exitValue() + ") before the guest agent said hello", last);
            }
            SocketChannel s = SocketChannel.open(StandardProtocolFamily.UNIX);
            try {
                s.connect(UnixDomainSocketAddress.of(socketPath));
                return new GuestChannel(guest, s, deadline);
            } catch (IOException e) {
                s.close();
                last = e;
                sleep(100);
            }
        }
        throw new IOException(guest + ": no command channel at " + socketPath + " after " + wait.toSeconds() + " s", last);
    }

    /** "HELLO &lt;name&gt; &lt;kernel release&gt;" as the guest sent it. */
    public String hello() {
        return hello;
    }

    @Override
    public Result run(String script, Duration timeout) {
        String id = guest + "-" + ids.incrementAndGet();
        String b64 = Base64.getEncoder().encodeToString(script.getBytes(StandardCharsets.UTF_8));
        long seconds = Math.max(1, timeout.toSeconds());
        CompletableFuture<Result> answer = new CompletableFuture<>();
        pending.put(id, answer);
        try {
            send("RUN " + id + " " + seconds + " " + b64);
            // The guest ends the command at its timeout: no answer well after that, the guest is lost.
            return answer.get(seconds + GRACE.toSeconds(), TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            closeQuietly();
            throw new UncheckedIOException(new IOException(guest + ": no answer to a command within " + (seconds + GRACE.toSeconds())
                    + " s: the guest is lost", e));
        } catch (IOException e) {
            throw new UncheckedIOException(guest + ": lost while running a command", e);
        } catch (ExecutionException e) {
            throw new UncheckedIOException(guest + ": lost while running a command", (IOException) e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        } finally {
            pending.remove(id);
        }
    }

    /** Hands each answer to the command waiting for it; when the channel closes, every command waiting is lost. */
    private void readAnswers() {
        IOException lost = null;
        try {
            String line;
            while ((line = in.readLine()) != null) {
                String[] f = line.split(" ");
                CompletableFuture<Result> waiting = f.length == 6 && f[0].equals("DONE") ? pending.get(f[1]) : null;
                if (waiting != null) {
                    waiting.complete(new Result(Integer.parseInt(f[2]), decode(f[4]), decode(f[5]), f[3].equals("1")));
                }
                // a HELLO after a guest reboot, or the answer to a command given up on: skipped
            }
        } catch (IOException e) {
            lost = e;
        }
        closed = true;
        IOException cause = new IOException(guest + ": command channel closed", lost);
        pending.values().forEach(p -> p.completeExceptionally(cause));
    }

    private synchronized void send(String frame) throws IOException {
        if (closed) {
            throw new IOException(guest + ": command channel closed");
        }
        ByteBuffer bytes = ByteBuffer.wrap((frame + "\n").getBytes(StandardCharsets.US_ASCII));
        while (bytes.hasRemaining()) {
            socket.write(bytes);
        }
    }

    private void closeQuietly() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // closing is the point; a second failure changes nothing
        }
    }

    /** Asks the guest to power itself off (its QEMU then exits). */
    public void powerOff() {
        try {
            send("OFF " + guest + "-off");
        } catch (IOException alreadyGone) {
            // the guest is down already: that is what we wanted
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    private static String decode(String b64) {
        return b64.equals("-") ? "" : new String(Base64.getDecoder().decode(b64), StandardCharsets.UTF_8);
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
