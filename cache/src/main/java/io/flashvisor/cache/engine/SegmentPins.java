package io.flashvisor.cache.engine;

import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * How many readers hold a device location in each segment: a lookup hit until its
 * {@code readBlock}/{@code release}, a destage batch until {@code destaged}/{@code releaseDestage}.
 * The cleaner frees a reclaimed segment only once its count is zero.
 *
 * <p>Why this is enough (the reclaim-vs-reader argument): pins are taken under the engine lock,
 * in the same critical section that read the location from the index or the dirty tracker. A
 * round makes its victim unreferenced — every live block moved (the index and tracker updated,
 * under the lock, when the moves are durable) or evicted — before it looks at the victim's count;
 * after that point no lookup can find a location in the victim, so no new pin can appear, and
 * a count of zero means no reader is between its lookup and the end of its read. The segment's
 * bytes change only after {@code FlashLog.free} returns it to the free list and a stream reopens
 * it, which happens after the count was seen at zero. A reader therefore always reads the bytes
 * of the segment life its location came from.
 *
 * <p>Thread-safe: pins are atomic counters (taken under the engine lock, dropped anywhere).
 */
final class SegmentPins {
    private final AtomicIntegerArray counts;

    SegmentPins(int segments) {
        this.counts = new AtomicIntegerArray(segments);
    }

    void pin(int segment) {
        counts.incrementAndGet(segment);
    }

    /** Drops a pin; refuses one that was never taken (a readBlock without a lookup). */
    void unpin(int segment) {
        int left = counts.decrementAndGet(segment);
        if (left < 0) {
            counts.incrementAndGet(segment);
            throw new IllegalStateException("segment " + segment + " was not pinned: readBlock/release of a location"
                    + " that no lookup (or destage batch) handed out, or released twice");
        }
    }

    int count(int segment) {
        return counts.get(segment);
    }

    int segments() {
        return counts.length();
    }
}
