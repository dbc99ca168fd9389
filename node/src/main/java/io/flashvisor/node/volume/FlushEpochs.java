package io.flashvisor.node.volume;

import java.util.concurrent.atomic.AtomicLong;

/**
 * A volume's flush epochs: every dirty write carries the current epoch, and a client FLUSH that
 * follows dirty writes starts a new one. The destager writes epochs to the backing store in order
 * with a backing-store flush between them, which is how "acknowledged before a FLUSH" stays before
 * "acknowledged after it" on the backing store.
 *
 * <p>Why the counter: a FLUSH with no dirty write since the previous one needs no new epoch, and
 * each epoch costs the destager a backing-store flush. A write counts itself before it reads the
 * epoch, so a write that completed before a FLUSH began is always counted by that FLUSH (which
 * then moves later writes to the next epoch); a write racing the FLUSH may land in either epoch,
 * which NBD allows (a FLUSH covers completed writes only).
 *
 * <p>Thread-safe.
 */
final class FlushEpochs {
    private final AtomicLong epoch;
    private final AtomicLong writesSinceFlush = new AtomicLong();

    /** @param first the first epoch: above every epoch the flash log already holds for the volume */
    FlushEpochs(long first) {
        this.epoch = new AtomicLong(first);
    }

    /** The epoch for a dirty write about to be issued. */
    long forWrite() {
        writesSinceFlush.incrementAndGet();
        return epoch.get();
    }

    /** A FLUSH: closes the current epoch if a dirty write joined it. */
    void flush() {
        if (writesSinceFlush.getAndSet(0) > 0) {
            epoch.incrementAndGet();
        }
    }

    long current() {
        return epoch.get();
    }
}
