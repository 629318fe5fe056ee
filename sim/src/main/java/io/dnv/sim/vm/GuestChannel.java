package io.dnv.sim.vm;

import io.dnv.node.linux.CommandRunner;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The host's end of a guest's command channel (a virtio-serial port behind a unix socket):
 * runs one script at a time inside the guest. One connection per guest, as QEMU serves one
 * client per chardev socket.
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
    private final OutputStream out;
    private final AtomicLong ids = new AtomicLong();
    /**
     * One command at a time, in the order asked: several servers' agents share a guest, and a
     * member's witness watcher asks every 100 ms; an unfair lock let the watchers of a guest
     * starve its agents' passes (a command takes a TCG guest a good part of a second).
     */
    private final ReentrantLock turn = new ReentrantLock(true);
    private final String hello;

    private GuestChannel(String guest, SocketChannel socket, long deadline) throws IOException {
        this.guest = guest;
        this.socket = socket;
        this.in = new BufferedReader(new InputStreamReader(Channels.newInputStream(socket), StandardCharsets.US_ASCII));
        this.out = Channels.newOutputStream(socket);
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
        turn.lock();
        try {
            return runNow(script, timeout);
        } finally {
            turn.unlock();
        }
    }

    private Result runNow(String script, Duration timeout) {
        String id = guest + "-" + ids.incrementAndGet();
        String b64 = Base64.getEncoder().encodeToString(script.getBytes(StandardCharsets.UTF_8));
        long seconds = Math.max(1, timeout.toSeconds());
        // A guest that stops answering (crashed, hung) must not hang the caller: close the channel.
        ScheduledFuture<?> guard = WATCHDOG.schedule(this::closeQuietly, seconds + GRACE.toSeconds(), TimeUnit.SECONDS);
        try {
            out.write(("RUN " + id + " " + seconds + " " + b64 + "\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String line;
            while ((line = in.readLine()) != null) {
                String[] f = line.split(" ");
                if (f.length == 6 && f[0].equals("DONE") && f[1].equals(id)) {
                    return new Result(Integer.parseInt(f[2]), decode(f[4]), decode(f[5]), f[3].equals("1"));
                }
                // a HELLO after a guest reboot, or the answer to a request we gave up on: skip it
            }
            throw new IOException(guest + ": command channel closed");
        } catch (IOException e) {
            throw new UncheckedIOException(guest + ": lost while running a command", e);
        } finally {
            guard.cancel(false);
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
        turn.lock();
        try {
            out.write(("OFF " + guest + "-off\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
        } catch (IOException alreadyGone) {
            // the guest is down already: that is what we wanted
        } finally {
            turn.unlock();
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
