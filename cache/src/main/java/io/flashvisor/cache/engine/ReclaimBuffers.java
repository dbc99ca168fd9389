package io.flashvisor.cache.engine;

import java.nio.ByteBuffer;

/**
 * The cleaner's two scratch buffers, one segment each, reused by every {@link ReclaimRound}: the
 * span of the victim read at once, and the re-packed runs. Allocated afresh per round they were
 * most of a busy node's allocations, and at segment size they are "humongous" objects to G1,
 * placed straight into the old generation — each round then brought old collections closer, whose
 * pauses (up to tens of ms) showed in the VMs' p99 latency. A round hands out slices and must be
 * over — every append it made complete — before the next one {@link #reset}s them.
 *
 * <p>Not thread-safe: the cleaner runs one round at a time ({@code Cleaner.reclaimOnce} is synchronized).
 */
final class ReclaimBuffers {
    private final int capacity;
    private ByteBuffer span;
    private ByteBuffer runs;

    ReclaimBuffers(int segmentBytes) {
        this.capacity = segmentBytes;
    }

    /** Forgets the previous round's slices. */
    void reset() {
        if (runs != null) {
            runs.clear();
        }
    }

    /** {@code bytes} (at most a segment) to read the victim's span into; the same memory every round. */
    ByteBuffer span(int bytes) {
        if (bytes > capacity) {
            return ByteBuffer.allocate(bytes); // never: a span lies within one segment
        }
        if (span == null) {
            span = ByteBuffer.allocate(capacity);
        }
        return span.clear().limit(bytes).slice();
    }

    /** The next {@code bytes} of the run buffer (a fresh buffer once a round has used it up). */
    ByteBuffer run(int bytes) {
        if (runs == null) {
            runs = ByteBuffer.allocate(capacity);
        }
        if (bytes > runs.remaining()) {
            return ByteBuffer.allocate(bytes);
        }
        ByteBuffer slice = runs.slice(runs.position(), bytes);
        runs.position(runs.position() + bytes);
        return slice;
    }
}
