package io.flashvisor.sim.policy;

import io.flashvisor.cache.policy.BlockState;
import io.flashvisor.cache.policy.EvictionPolicy;
import io.flashvisor.cache.policy.Queue;
import java.util.Arrays;

/**
 * The node's flash cache without the I/O: a log of fixed-size segments driven by one of the
 * node's own {@link EvictionPolicy} objects through the same protocol as the engine's cleaner,
 * so the hit ratios and flash writes it reports are the node's.
 *
 * <ul>
 *   <li>Each policy queue appends to its stream ({@code min(queue, streams − 1)}, as
 *       {@code CacheIndex.streamOf}); a stream fills one open segment at a time, and its sealed
 *       segments are a FIFO.</li>
 *   <li>A miss appends the block with {@code admitted(key)}; a read hit applies
 *       {@code accessed(state)} in place; a write hit appends a new copy with the accessed state
 *       in the same queue and the old copy dies (a log never overwrites).</li>
 *   <li>When an append needs a segment and none is free, the policy's {@code queueToReclaim}
 *       (given the blocks each stream's segments hold, dead copies included) picks the stream
 *       whose oldest sealed segment is reclaimed (the other stream's if it has none); each live
 *       block gets {@code reclaimed(key, state)}: re-appended with the new state, or evicted and
 *       {@code forgotten}.</li>
 *   <li>Dirty blocks always stay (re-appended to main with the counter cleared, as the engine
 *       does). A reclaim that evicts nothing because every block it would evict is dirty means
 *       flash is full of dirty data: the node's writers would wait for the destager (the cleaner
 *       backs off instead of moving the same blocks again), so the next round writes such blocks
 *       back and evicts them, counted as forced write-backs.</li>
 * </ul>
 *
 * <p>Differences from the engine, on purpose: space is reclaimed on demand, one segment at a time,
 * just before the append that needs it (the node's cleaner keeps 3–6 % of the segments free in
 * the background, so size the simulated cache as the device minus that); a request's blocks are
 * admitted one by one (the engine asks the policy once per request, for its first block). With
 * one-block segments, one stream and no writes, the model makes exactly the decisions of the
 * textbook FIFO and CLOCK for the node's {@code fifo} and {@code clock}/{@code lru} (a test pins
 * it). Not thread-safe.
 */
final class LogStructuredModel extends CacheModel {
    private static final int IN_FLIGHT = Integer.MAX_VALUE;

    private final EvictionPolicy policy;
    private final int segmentBlocks;
    private final int segments;
    private final int streams;
    private final LongIntMap locations;
    private final long[] keyAt;
    private final byte[] stateAt;
    private final int[] segmentFill;
    private final int[] freeSegments;
    private int freeCount;
    private final int[] open;
    private final int[][] sealed;
    private final int[] sealedFirst;
    private final int[] sealedCount;
    private final long[] usedBlocks;
    private long[] pendingKeys = new long[64];
    private byte[] pendingStates = new byte[64];
    private int pendingFirst;
    private int pendingCount;
    private long reappends;
    private int stalls;
    private long forcedRounds;

    LogStructuredModel(EvictionPolicy policy, long capacity, int segmentBlocks, int streams) {
        super(capacity);
        if (streams < 1 || streams > 2) {
            throw new IllegalArgumentException("streams must be 1 or 2, not " + streams);
        }
        if (segmentBlocks < 1 || capacity / segmentBlocks < 2L * streams + 2) {
            throw new IllegalArgumentException("a cache of " + capacity + " blocks cannot hold " + (2 * streams + 2)
                    + " segments of " + segmentBlocks + " blocks; use smaller segments");
        }
        this.policy = policy;
        this.segmentBlocks = segmentBlocks;
        this.segments = (int) (capacity / segmentBlocks);
        this.streams = streams;
        int blocks = segments * segmentBlocks;
        locations = new LongIntMap(blocks);
        keyAt = new long[blocks];
        stateAt = new byte[blocks];
        segmentFill = new int[segments];
        freeSegments = new int[segments];
        for (int i = 0; i < segments; i++) {
            freeSegments[i] = segments - 1 - i;
        }
        freeCount = segments;
        open = new int[streams];
        Arrays.fill(open, -1);
        sealed = new int[streams][segments];
        sealedFirst = new int[streams];
        sealedCount = new int[streams];
        usedBlocks = new long[streams];
    }

    @Override
    public String name() {
        return CachePolicies.NODE_PREFIX + policy.name();
    }

    /** Blocks the log can hold: whole segments only. */
    @Override
    public long capacity() {
        return (long) segments * segmentBlocks;
    }

    int segmentBlocks() {
        return segmentBlocks;
    }

    @Override
    public boolean access(long key, boolean write) {
        int loc = locations.get(key);
        if (loc != LongIntMap.ABSENT) {
            byte state = policy.accessed(stateAt[loc]);
            if (write) {
                locations.put(key, IN_FLIGHT); // the old copy is dead before any reclaim can look at it
                makeRoom(streamOf(state));
                append(key, state);
            } else {
                stateAt[loc] = state;
            }
            return true;
        }
        byte state = policy.admitted(key);
        makeRoom(streamOf(state));
        append(key, state);
        return false;
    }

    @Override
    public long extraFlashWrites() {
        return reappends;
    }

    /** Reclaim rounds that wrote dirty blocks back because nothing else could be evicted. */
    long forcedRounds() {
        return forcedRounds;
    }

    private int streamOf(byte state) {
        return Math.min(BlockState.queue(state).ordinal(), streams - 1);
    }

    /**
     * Reclaims until {@code stream} can take one more block, re-appending each round's survivors
     * before the client's block, as the engine's reclaim appends go first.
     */
    private void makeRoom(int stream) {
        while (freeCount == 0 && (open[stream] < 0 || segmentFill[open[stream]] == segmentBlocks)) {
            reclaimOne();
            drainPending();
        }
    }

    private void append(long key, byte state) {
        int stream = streamOf(state);
        int seg = open[stream];
        if (seg < 0 || segmentFill[seg] == segmentBlocks) {
            if (seg >= 0) {
                sealed[stream][(sealedFirst[stream] + sealedCount[stream]++) % segments] = seg;
            }
            seg = takeFreeSegment();
            open[stream] = seg;
            segmentFill[seg] = 0;
        }
        int loc = seg * segmentBlocks + segmentFill[seg]++;
        keyAt[loc] = key;
        stateAt[loc] = state;
        locations.put(key, loc);
        usedBlocks[stream]++;
    }

    private int takeFreeSegment() {
        while (freeCount == 0) {
            reclaimOne();
        }
        return freeSegments[--freeCount];
    }

    /** The engine's cleaner round: the oldest sealed segment of the stream the policy names. */
    private void reclaimOne() {
        Queue q = policy.queueToReclaim(usedBlocks[0], streams > 1 ? usedBlocks[1] : 0);
        int stream = Math.min(q.ordinal(), streams - 1);
        if (sealedCount[stream] == 0) {
            stream = (stream + 1) % streams;
        }
        if (sealedCount[stream] == 0) {
            throw new IllegalStateException("no sealed segment to reclaim: the cache is too small for its segments");
        }
        int victim = sealed[stream][sealedFirst[stream]];
        sealedFirst[stream] = (sealedFirst[stream] + 1) % segments;
        sealedCount[stream]--;
        usedBlocks[stream] -= segmentFill[victim];
        boolean force = stalls > 0;
        int evictedHere = 0;
        int dirtyKept = 0;
        int base = victim * segmentBlocks;
        for (int loc = base; loc < base + segmentFill[victim]; loc++) {
            long key = keyAt[loc];
            if (locations.get(key) != loc) {
                continue; // a dead copy: the block was rewritten or moved since
            }
            byte state = stateAt[loc];
            int verdict = policy.reclaimed(key, state);
            if (verdict == EvictionPolicy.EVICT && writeBack.isDirty(key) && !force) {
                verdict = BlockState.withFreq(BlockState.withQueue(state, Queue.MAIN), 0) & 0xFF;
                dirtyKept++;
            }
            if (verdict == EvictionPolicy.EVICT) {
                locations.remove(key);
                evicted(key);
                policy.forgotten(key);
                evictedHere++;
            } else {
                locations.put(key, IN_FLIGHT);
                pend(key, (byte) verdict);
            }
        }
        if (force) {
            forcedRounds++;
        }
        stalls = evictedHere == 0 && dirtyKept > 0 ? stalls + 1 : 0;
        freeSegments[freeCount++] = victim;
    }

    private void pend(long key, byte state) {
        if (pendingCount == pendingKeys.length) {
            long[] k = new long[pendingKeys.length * 2];
            byte[] s = new byte[k.length];
            for (int i = 0; i < pendingCount; i++) {
                k[i] = pendingKeys[(pendingFirst + i) % pendingKeys.length];
                s[i] = pendingStates[(pendingFirst + i) % pendingKeys.length];
            }
            pendingKeys = k;
            pendingStates = s;
            pendingFirst = 0;
        }
        int at = (pendingFirst + pendingCount++) % pendingKeys.length;
        pendingKeys[at] = key;
        pendingStates[at] = state;
    }

    /** Re-appends the survivors of reclaimed segments (which may reclaim more segments, and so on). */
    private void drainPending() {
        while (pendingCount > 0) {
            long key = pendingKeys[pendingFirst];
            byte state = pendingStates[pendingFirst];
            pendingFirst = (pendingFirst + 1) % pendingKeys.length;
            pendingCount--;
            append(key, state);
            reappends++;
        }
    }
}
