package io.flashvisor.common;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Exclusive locks on byte ranges of one volume: requests on disjoint ranges run in parallel,
 * overlapping ones one after the other, in no particular order.
 *
 * <p>The cache needs this where two requests on the same blocks must not interleave — e.g. a read
 * miss that fills flash from the backing store must not install old data over a write that
 * arrived meanwhile. A {@link Held} range may be released from any thread (a miss releases it
 * when its asynchronous flash insert completes), which is why this is not a {@code ReadWriteLock}
 * per block. Active ranges are few (at most the requests in flight), so a list is enough.
 *
 * <p>Thread-safe. Uses {@link ReentrantLock}, not {@code synchronized}, so waiting virtual
 * threads do not pin their carriers.
 */
public final class RangeLock {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition released = lock.newCondition();
    private final List<Held> active = new ArrayList<>();

    /** A held range; {@link #close} releases it (idempotent). */
    public final class Held implements AutoCloseable {
        private final long start;
        private final long end;
        private boolean open = true;

        private Held(long start, long end) {
            this.start = start;
            this.end = end;
        }

        @Override
        public void close() {
            lock.lock();
            try {
                if (open) {
                    open = false;
                    active.remove(this);
                    released.signalAll();
                }
            } finally {
                lock.unlock();
            }
        }

        boolean overlaps(long s, long e) {
            return s < end && start < e;
        }
    }

    /** Blocks until {@code [offset, offset + length)} overlaps no held range, then holds it. */
    public Held acquire(long offset, long length) throws InterruptedException {
        long end = offset + Math.max(1, length);
        lock.lock();
        try {
            while (overlapsActive(offset, end)) {
                released.await();
            }
            Held h = new Held(offset, end);
            active.add(h);
            return h;
        } finally {
            lock.unlock();
        }
    }

    /** Holds {@code [offset, offset + length)} if no held range overlaps it now, else returns null. Never waits. */
    public Held tryAcquire(long offset, long length) {
        long end = offset + Math.max(1, length);
        lock.lock();
        try {
            if (overlapsActive(offset, end)) {
                return null;
            }
            Held h = new Held(offset, end);
            active.add(h);
            return h;
        } finally {
            lock.unlock();
        }
    }

    /** Ranges held right now (for tests and status). */
    public int heldCount() {
        lock.lock();
        try {
            return active.size();
        } finally {
            lock.unlock();
        }
    }

    private boolean overlapsActive(long start, long end) {
        for (Held h : active) {
            if (h.overlaps(start, end)) {
                return true;
            }
        }
        return false;
    }
}
