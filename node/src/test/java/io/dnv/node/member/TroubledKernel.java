package io.dnv.node.member;

import io.dnv.node.kernel.Kernel;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Passes every call on to a kernel, except the calls of a method named here: those can be held
 * (each waits until released, as a zeroing of a large LD or a hung command does), slowed (each
 * takes a while first, as a disk does) or made to throw (as a parser that meets output it does
 * not know does).
 */
final class TroubledKernel {

    private final Kernel kernel;
    private final Map<String, CountDownLatch> held = new ConcurrentHashMap<>();
    private final Map<String, CountDownLatch> entered = new ConcurrentHashMap<>();
    private final Map<String, RuntimeException> throwing = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
    private final Map<String, Duration> slowed = new ConcurrentHashMap<>();

    TroubledKernel(Kernel kernel) {
        this.kernel = kernel;
    }

    /** Calls of {@code method} wait until the returned latch is released; {@link #entered} says one began. */
    CountDownLatch hold(String method) {
        CountDownLatch release = new CountDownLatch(1);
        entered.put(method, new CountDownLatch(1));
        held.put(method, release);
        return release;
    }

    CountDownLatch entered(String method) {
        return entered.get(method);
    }

    /** Every call of {@code method} waits this long before it is passed on. */
    void slow(String method, Duration each) {
        slowed.put(method, each);
    }

    void fail(String method, RuntimeException failure) {
        throwing.put(method, failure);
    }

    void heal(String method) {
        throwing.remove(method);
    }

    /** How often {@code method} was called, thrown or not. */
    int calls(String method) {
        return calls.getOrDefault(method, new AtomicInteger()).get();
    }

    Kernel kernel() {
        return (Kernel) Proxy.newProxyInstance(Kernel.class.getClassLoader(), new Class<?>[] {Kernel.class}, (proxy, method, args) -> {
            String name = method.getName();
            calls.computeIfAbsent(name, n -> new AtomicInteger()).incrementAndGet();
            RuntimeException failure = throwing.get(name);
            if (failure != null) {
                throw failure;
            }
            Duration slow = slowed.get(name);
            if (slow != null) {
                Thread.sleep(slow.toMillis());
            }
            CountDownLatch release = held.get(name);
            if (release != null) {
                entered.get(name).countDown();
                if (!release.await(60, TimeUnit.SECONDS)) {
                    throw new IllegalStateException(name + " held for a minute: the test never released it");
                }
            }
            try {
                return method.invoke(kernel, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }
}
