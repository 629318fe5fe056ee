package io.dnv.node.agent;

import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A target that did not answer is probed beside the passes, with backoff, for as long as an import
 * of it is left out; the agent is told once a probe is answered, and only then.
 */
class UnreachableTest {

    private static final NvmeConnection WITNESS = new NvmeConnection("tcp", "127.0.1.4", 4420, Names.witnessNqn("n4"),
            Names.hostNqn("n2"), Names.hostId(Names.hostNqn("n2")), new ConnectTimeouts(1, 30, 1, 5));
    private static final String TARGET = Unreachable.target(WITNESS);

    private final AtomicInteger probes = new AtomicInteger();
    private final AtomicBoolean answering = new AtomicBoolean();
    private final CountDownLatch told = new CountDownLatch(1);
    private final Unreachable unreachable = new Unreachable("n2", c -> {
        probes.incrementAndGet();
        return answering.get();
    }, told::countDown);

    @AfterEach
    void close() {
        unreachable.close();
    }

    @Test
    void aTargetThatStillDoesNotAnswerIsProbedWithBackoffAndTheAgentIsNotTold() throws Exception {
        unreachable.failed(TARGET);
        unreachable.leftOut(WITNESS);
        assertTrue(unreachable.failedLately(TARGET));
        assertTrue(unreachable.isLeftOut(WITNESS.key()));
        // The first probe after 1 s, the second 2 s after it: two in 3.5 s, not more.
        Thread.sleep(3500);
        assertEquals(2, probes.get());
        assertFalse(told.await(0, TimeUnit.MILLISECONDS));
        assertTrue(unreachable.failedLately(TARGET));
    }

    @Test
    void aTargetThatAnswersCountsAsReachedAndTheAgentIsTold() throws Exception {
        answering.set(true);
        unreachable.failed(TARGET);
        unreachable.leftOut(WITNESS);
        assertTrue(told.await(5, TimeUnit.SECONDS));
        assertFalse(unreachable.failedLately(TARGET));
        assertTrue(unreachable.isLeftOut(WITNESS.key()), "left out until a pass connects it");
    }

    @Test
    void nothingLeftOutIsNothingToProbe() throws Exception {
        unreachable.failed(TARGET);
        Thread.sleep(1500);
        assertEquals(0, probes.get(), "probed a target no import waits for");
        unreachable.leftOut(WITNESS);
        unreachable.settled(WITNESS.key());
        Thread.sleep(3500);
        assertEquals(1, probes.get(), "probing went on after the last import was settled");
    }
    /**
     * An import the side watcher failed after its grace: its target counts as not answering
     * (the passes leave its imports out, it is probed), and telling it again while a longer
     * backoff runs does not shorten or lengthen that backoff.
     */
    @Test
    void aTargetWhoseImportStayedDownIsLeftOutAndProbedAsOneThatTimedOut() throws Exception {
        unreachable.silent(TARGET);
        assertTrue(unreachable.failedLately(TARGET));
        unreachable.leftOut(WITNESS);
        Thread.sleep(1500);
        assertEquals(1, probes.get(), "probed after the first backoff");
        unreachable.silent(TARGET);
        // The next probe is due 2 s after the first, as if nothing had been said.
        Thread.sleep(1000);
        assertEquals(1, probes.get());
        Thread.sleep(1500);
        assertEquals(2, probes.get());
        answering.set(true);
        assertTrue(told.await(6, TimeUnit.SECONDS));
        assertFalse(unreachable.failedLately(TARGET));
    }
}
