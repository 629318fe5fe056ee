package io.dnv.sim.vm;

import io.dnv.node.linux.CommandRunner;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The guests' command channel runs commands side by side, as a node's agent passes and its
 * watchers run on a real machine: a side watcher's look must not wait behind a pass's command
 * that hangs on a dead link (it did, and the kernel's fast_io_fail beat the agent to a side).
 */
@Tag("real-kernel")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GuestChannelOnLinuxTest {

    private GuestPair guests;

    @BeforeAll
    void boot() throws Exception {
        guests = GuestPair.boot(GuestPair.Images.fromSystemProperties(), 1, 16);
    }

    @AfterAll
    void shutdown() {
        if (guests != null) {
            guests.close();
        }
    }

    @Test
    void aCommandIsAnsweredWhileAnotherStillRuns() throws Exception {
        GuestChannel a = guests.a();
        long t = System.nanoTime();
        CompletableFuture<CommandRunner.Result> slow = CompletableFuture.supplyAsync(
                () -> a.run("sleep 6; echo slow", Duration.ofSeconds(30)));
        Thread.sleep(500);
        CommandRunner.Result fast = a.run("echo fast", Duration.ofSeconds(30));
        double fastSeconds = (System.nanoTime() - t) / 1e9;
        assertEquals("fast\n", fast.stdout());
        assertFalse(slow.isDone(), "the fast command waited for the slow one (" + fastSeconds + " s)");
        assertEquals("slow\n", slow.get(30, TimeUnit.SECONDS).stdout());
        System.out.printf("TIME a command answered %.1f s after another began that takes 6 s%n", fastSeconds);
    }

    @Test
    void aCommandPastItsTimeoutIsCutOffAndTheChannelServesOn() {
        GuestChannel a = guests.a();
        CommandRunner.Result late = a.run("echo started; sleep 30", Duration.ofSeconds(2));
        assertTrue(late.timedOut(), "not cut off: " + late);
        assertEquals("started\n", late.stdout());
        assertEquals("on\n", a.run("echo on", Duration.ofSeconds(10)).stdout());
    }

    /** The guest agent is the guests' init: every command's processes end reaped, none left a zombie. */
    @Test
    void manyCommandsAtOnceAreEachAnsweredAndLeaveNoProcessBehind() throws Exception {
        GuestChannel b = guests.b();
        ExecutorService callers = Executors.newFixedThreadPool(8);
        List<CompletableFuture<String>> answers = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            String word = "w" + i;
            answers.add(CompletableFuture.supplyAsync(() -> b.run("echo " + word + "; head -c 3000 /dev/zero | base64 -w 0",
                    Duration.ofSeconds(60)).stdout(), callers));
        }
        for (int i = 0; i < answers.size(); i++) {
            assertTrue(answers.get(i).get(120, TimeUnit.SECONDS).startsWith("w" + i + "\n"), "answer " + i + " is another's");
        }
        callers.shutdown();
        // The agent reaps when it is sent a command: the runners that ended since are reaped by the next one.
        Thread.sleep(2000);
        // One line per process: its state, then its command line (this command's own runner among them).
        String processes = b.run("for p in /proc/[0-9]*; do echo \"$(cut -d' ' -f3 $p/stat 2>/dev/null) $(tr '\\0' ' ' < $p/cmdline 2>/dev/null)\"; done",
                Duration.ofSeconds(30)).stdout();
        long zombies = processes.lines().filter(l -> l.startsWith("Z")).count();
        long runners = processes.lines().filter(l -> l.contains("/run/agent/run")).count();
        assertEquals(0, zombies, "zombies left: " + processes);
        assertEquals(1, runners, "runners left (this command's is one): " + processes);
    }
}
