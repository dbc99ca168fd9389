package io.flashvisor.cache.engine;

import io.flashvisor.cache.index.BlockIndex;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * The blocks the cleaner's current round is re-appending (and the ranges of the INVALIDATE records
 * it writes), so that a client append of the same blocks can tell whether a reclaim copy may end
 * up with a higher sequence than its own — which would win at recovery.
 *
 * <p>Design notes. The log sequences reclaim appends and client appends in the order its appender
 * serves them, not in submission order (docs/cache.md, Appending), and recovery takes the highest
 * sequence. So a client write of block b that completes with sequence s while the cleaner moves
 * b's older version is <em>shadowed</em> if the move's sequence is above s: acknowledging it would
 * let a crash bring the older version back. Futures of the log complete in sequence order, on one
 * thread: when the client's append completes, every append with a lower sequence has completed
 * already; so a round that has not completed yet, or completed with a higher sequence, may shadow
 * it. The client then waits for the round and appends its record again (the caller's buffer is
 * still held) before it acknowledges; the second append is sequenced after the round. This never
 * makes the cleaner wait for a client, so a client that waits for space cannot hold the cleaner
 * up (the cleaner is what frees space). False positives (a round that ended up with lower
 * sequences) only cost an extra append.
 *
 * <p>One round at a time (one cleaner). Not thread-safe: guarded by the engine lock.
 */
final class InFlightMoves {

    /** One round's moving blocks (index keys), INVALIDATE ranges, and its completion. */
    static final class Round {
        final Set<Long> keys = new HashSet<>();
        /** {ordinal, first block, end block} of each INVALIDATE the round re-appends or writes. */
        final List<long[]> ranges = new ArrayList<>();
        /** Completes with the highest sequence of the round's appends that succeeded (Long.MIN_VALUE for none). */
        final CompletableFuture<Long> done = new CompletableFuture<>();

        void addRange(int ordinal, long first, long end) {
            ranges.add(new long[] {ordinal, first, end});
        }
    }

    private Round round;

    Round begin() {
        if (round != null) {
            throw new IllegalStateException("a reclaim round is already in flight");
        }
        round = new Round();
        return round;
    }

    void end(Round r) {
        if (round == r) {
            round = null;
        }
    }

    boolean active() {
        return round != null;
    }

    /**
     * The future to wait for before appending again, if a client append of
     * {@code [first, first + count)} of volume {@code ordinal} that completed with sequence
     * {@code sequence} may be shadowed by the round in flight; null if it is not.
     */
    CompletableFuture<Long> shadowing(int ordinal, long first, long count, long sequence) {
        Round r = round;
        if (r == null) {
            return null;
        }
        if (r.done.isDone() && !r.done.isCompletedExceptionally() && r.done.join() < sequence) {
            return null;
        }
        return overlaps(r, ordinal, first, first + count) ? r.done : null;
    }

    private static boolean overlaps(Round r, int ordinal, long first, long end) {
        for (long[] range : r.ranges) {
            if (range[0] == ordinal && range[1] < end && first < range[2]) {
                return true;
            }
        }
        if (r.keys.isEmpty()) {
            return false;
        }
        if (end - first <= r.keys.size()) {
            for (long b = first; b < end; b++) {
                if (r.keys.contains(BlockIndex.key(ordinal, b))) {
                    return true;
                }
            }
            return false;
        }
        for (long key : r.keys) {
            long b = BlockIndex.blockOf(key);
            if (BlockIndex.volumeOf(key) == ordinal && b >= first && b < end) {
                return true;
            }
        }
        return false;
    }
}
