package io.dnv.node.agent;

import org.junit.jupiter.api.Test;

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
