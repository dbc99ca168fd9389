package io.flashvisor.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class RangeLockTest {

    @Test
    void disjointRangesAreHeldAtOnceAndOverlappingOnesWait() throws Exception {
        RangeLock locks = new RangeLock();
        RangeLock.Held a = locks.acquire(0, 4096);
        RangeLock.Held b = locks.acquire(4096, 4096);
        assertThat(locks.heldCount()).isEqualTo(2);

        CountDownLatch got = new CountDownLatch(1);
        Thread waiter = Thread.ofVirtual().start(() -> {
            try (RangeLock.Held c = locks.acquire(4000, 200)) {
                got.countDown();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertThat(got.await(200, TimeUnit.MILLISECONDS)).as("overlaps a and b").isFalse();
        a.close();
        assertThat(got.await(200, TimeUnit.MILLISECONDS)).as("still overlaps b").isFalse();
        b.close();
        b.close(); // idempotent
        assertThat(got.await(5, TimeUnit.SECONDS)).isTrue();
        waiter.join();
        assertThat(locks.heldCount()).isZero();
    }

    /** Many threads increment a shared, unsynchronised counter per block under the lock: no lost updates. */
    @Test
    void overlappingHoldersAreMutuallyExclusive() throws Exception {
        RangeLock locks = new RangeLock();
        int[] counters = new int[8];
        AtomicInteger inside = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 16; t++) {
            int first = t % 8;
            threads.add(Thread.ofVirtual().start(() -> {
                for (int i = 0; i < 2000; i++) {
                    try (RangeLock.Held h = locks.acquire(first * 4096L, 2 * 4096L)) {
                        inside.incrementAndGet();
                        counters[first]++;
                        if (first + 1 < 8) {
                            counters[first + 1]++;
                        }
                    } catch (InterruptedException e) {
                        throw new AssertionError(e);
                    }
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        int total = 0;
        for (int c : counters) {
            total += c;
        }
        assertThat(total).isEqualTo(16 * 2000 * 2 - 2 * 2000); // the two threads at block 7 have no block 8
    }
}
