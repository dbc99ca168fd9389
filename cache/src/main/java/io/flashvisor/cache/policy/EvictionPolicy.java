package io.flashvisor.cache.policy;

/**
 * Decides which cached blocks stay when flash space is reclaimed. Pure: no I/O, no clocks, no
 * node plumbing, so the trace simulator replays exactly the code the node runs.
 *
 * <p>The model is log-structured: each {@link Queue} is a FIFO of segments on flash. When space
 * is needed, the engine asks {@link #queueToReclaim} which queue gives up its oldest segment, and
 * for every block still live in that segment asks {@link #reclaimed} whether it is re-appended
 * (and to which queue) or evicted. Per-block state lives in the index's state byte
 * ({@link BlockState}), so a policy adds no RAM per block beyond its ghost filter.
 *
 * <p>Not thread-safe: the engine serialises calls.
 */
public interface EvictionPolicy {

    /** Returned by {@link #reclaimed} for a block that leaves the cache. */
    int EVICT = -1;

    /** The configuration name, e.g. {@code s3-fifo}. */
    String name();

    /** The state of a block that was just admitted (policy bits only; the engine sets dirty). */
    byte admitted(long key);

    /** The state after a cached block was read or written. */
    default byte accessed(byte state) {
        return BlockState.withFreq(state, BlockState.freq(state) + 1);
    }

    /** Which queue gives up its oldest segment next, given how many blocks each one holds. */
    Queue queueToReclaim(long smallBlocks, long mainBlocks);

    /**
     * A live block of a reclaimed segment: returns its new state (with the queue to re-append it
     * to) as a non-negative int, or {@link #EVICT}.
     */
    int reclaimed(long key, byte state);

    /** The block left the cache (evicted or invalidated); a policy with a ghost remembers it. */
    default void forgotten(long key) {
    }

    /** Bytes of RAM the policy itself holds (ghost filters), for the RAM-per-block report. */
    default long bytesOfRam() {
        return 0;
    }
}
