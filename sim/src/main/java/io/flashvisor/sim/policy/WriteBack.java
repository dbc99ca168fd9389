package io.flashvisor.sim.policy;

/**
 * The write-back side of a replay: which cached blocks are dirty, and a destager that writes
 * them to the backing store in the order they became dirty at a fixed rate measured in the
 * trace's own time. Gives the peak dirty set the node would hold for that destage bandwidth.
 *
 * <p>Design notes: the node's destager is throttled by the dirty ratio and the backing store's
 * latency; a fixed rate is the simplest model with the same shape (bursts above the rate pile
 * up, idle time drains them). A dirty block that a policy evicts is written back first (counted
 * as a forced write-back: the client would have waited for it). An idle destager banks no
 * credit. A block rewritten while dirty is queued once, at its first dirtying. Not thread-safe.
 */
public final class WriteBack {
    static final WriteBack NONE = new WriteBack(0, 1);

    private final double blocksPerUs;
    private final LongIntMap dirty;
    private long[] ring = new long[1024];
    private int[] ringSeq = new int[1024];
    private int first;
    private int count;
    private int seq;
    private double credit;
    private long lastTimeUs;
    private long peak;
    private long forced;
    private long destaged;

    /** @param bytesPerSecond destage bandwidth; 0 means never destage in the background */
    public WriteBack(long bytesPerSecond, long expectedDirty) {
        this.blocksPerUs = bytesPerSecond / 4096.0 / 1_000_000.0;
        this.dirty = new LongIntMap(Math.max(16, expectedDirty));
    }

    boolean enabled() {
        return this != NONE;
    }

    /** Time passes: the destager writes back what its bandwidth allows. */
    public void advance(long timeUs) {
        if (this == NONE) {
            return;
        }
        long dt = timeUs - lastTimeUs;
        lastTimeUs = timeUs;
        if (count == 0) {
            credit = 0;
            return;
        }
        credit += dt * blocksPerUs;
        while (credit >= 1 && count > 0) {
            long key = ring[first];
            int s = ringSeq[first];
            first = (first + 1) & (ring.length - 1);
            count--;
            if (dirty.get(key) == s) {
                dirty.remove(key);
                destaged++;
                credit -= 1;
            }
        }
        if (count == 0) {
            credit = 0;
        }
    }

    /** A write of a cached block (after the model inserted it on a miss). */
    public void written(long key) {
        if (this == NONE || dirty.get(key) != LongIntMap.ABSENT) {
            return;
        }
        int s = seq++ & Integer.MAX_VALUE;
        dirty.put(key, s);
        if (count == ring.length) {
            grow();
        }
        int at = (first + count) & (ring.length - 1);
        ring[at] = key;
        ringSeq[at] = s;
        count++;
        peak = Math.max(peak, dirty.size());
    }

    public boolean isDirty(long key) {
        return this != NONE && dirty.get(key) != LongIntMap.ABSENT;
    }

    void evicted(long key) {
        if (this != NONE && dirty.remove(key) != LongIntMap.ABSENT) {
            forced++;
        }
    }

    /** The most blocks dirty at once. */
    public long peakDirtyBlocks() {
        return peak;
    }

    /** Dirty blocks written back because they were evicted or the cache was full of dirty data. */
    public long forcedWriteBacks() {
        return forced;
    }

    public long destagedBlocks() {
        return destaged;
    }

    private void grow() {
        long[] r = new long[ring.length * 2];
        int[] s = new int[ring.length * 2];
        for (int i = 0; i < count; i++) {
            r[i] = ring[(first + i) & (ring.length - 1)];
            s[i] = ringSeq[(first + i) & (ring.length - 1)];
        }
        ring = r;
        ringSeq = s;
        first = 0;
    }
}
