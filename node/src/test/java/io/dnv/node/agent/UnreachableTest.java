package io.dnv.node.agent;

import io.dnv.core.kernel.ConnectTimeouts;
import io.dnv.core.kernel.Names;
import io.dnv.core.kernel.NvmeConnection;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A target that did not answer is tried beside the passes: probed, and connected only once it answers. */
class UnreachableTest {

    private static final String TARGET = "127.0.1.4:4420";

    @Test
    void aTargetThatStillDoesNotAnswerIsProbedAndNeverConnected() throws Exception {
        CountDownLatch answered = new CountDownLatch(1);
        Unreachable unreachable = new Unreachable("n2", answered::countDown);
        unreachable.failed(TARGET);
        AtomicInteger connects = new AtomicInteger();
        CountDownLatch probed = new CountDownLatch(1);
        unreachable.tryBeside(TARGET, () -> {
            probed.countDown();
            return false;
        }, connects::incrementAndGet);
        assertTrue(probed.await(5, TimeUnit.SECONDS));
        assertFalse(answered.await(300, TimeUnit.MILLISECONDS));
        assertEquals(0, connects.get(), "connected to a target whose probe got no answer");
        assertTrue(unreachable.failedLately(TARGET));
        assertTrue(unreachable.wait(TARGET).isPresent(), "tried again without backoff");
    }

    @Test
    void anImportLeftOutIsDueWhenItsTargetIsUntilItIsSettled() {
        Unreachable unreachable = new Unreachable("n2", () -> {});
        assertTrue(unreachable.nextTry().isEmpty());
        unreachable.failed(TARGET);
        assertTrue(unreachable.nextTry().isEmpty(), "no import left out: nothing to come back for");
        NvmeConnection witness = new NvmeConnection("tcp", "127.0.1.4", 4420, Names.witnessNqn("n4"), Names.hostNqn("n2"),
                Names.hostId(Names.hostNqn("n2")), new ConnectTimeouts(1, 30, 1, 5));
        unreachable.leftOut(witness);
        Duration due = unreachable.nextTry().orElseThrow();
        assertTrue(due.compareTo(Duration.ofSeconds(1)) <= 0 && !due.isNegative(), due.toString());
        assertTrue(unreachable.isLeftOut(witness.key()));
        unreachable.settled(witness.key());
        assertTrue(unreachable.nextTry().isEmpty());
    }

    @Test
    void aTargetThatAnswersIsConnectedAndCountsAsReached() throws Exception {
        CountDownLatch answered = new CountDownLatch(1);
        Unreachable unreachable = new Unreachable("n2", answered::countDown);
        unreachable.failed(TARGET);
        AtomicInteger connects = new AtomicInteger();
        unreachable.tryBeside(TARGET, () -> true, connects::incrementAndGet);
        assertTrue(answered.await(5, TimeUnit.SECONDS));
        assertEquals(1, connects.get());
        assertFalse(unreachable.failedLately(TARGET));
    }
}
