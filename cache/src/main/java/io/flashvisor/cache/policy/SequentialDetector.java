package io.flashvisor.cache.policy;

/**
 * Recognises large sequential streams (backups, scans, VM image copies) so the cache can let them
 * bypass flash instead of washing out the working set. Pure: it sees only (offset, length).
 *
 * <p>Keeps the last {@value #STREAMS} streams of one volume: a request that starts where a stream
 * ended continues it; a stream whose run has reached {@code cutoffBytes} is sequential, and so are
 * the requests that continue it. Anything else starts a new stream in the least recently used
 * slot. Interleaved streams (several readers, or a guest's readahead) are tracked separately.
 *
 * <p>The detector only says "sequential"; the engine decides what bypassing means, and never
 * bypasses a write whose blocks have a cached copy (that copy would become stale, or worse, an
 * older dirty copy would later be destaged over it).
 *
 * <p>Thread-safe (synchronised): one instance per volume, called from its I/O threads.
 */
public final class SequentialDetector {
    static final int STREAMS = 8;

    private final long cutoffBytes;
    private final long[] nextOffset = new long[STREAMS];
    private final long[] runBytes = new long[STREAMS];
    private final long[] lastUse = new long[STREAMS];
    private long clock;

    /** @param cutoffBytes run length from which a stream is sequential; 0 disables detection */
    public SequentialDetector(long cutoffBytes) {
        if (cutoffBytes < 0) {
            throw new IllegalArgumentException("negative cutoff " + cutoffBytes);
        }
        this.cutoffBytes = cutoffBytes;
        java.util.Arrays.fill(nextOffset, -1);
    }

    /** Records a request; returns whether it belongs to a sequential stream. */
    public synchronized boolean isSequential(long offset, long length) {
        if (cutoffBytes == 0) {
            return false;
        }
        clock++;
        int slot = -1;
        int oldest = 0;
        for (int i = 0; i < STREAMS; i++) {
            if (nextOffset[i] == offset) {
                slot = i;
                break;
            }
            if (lastUse[i] < lastUse[oldest]) {
                oldest = i;
            }
        }
        if (slot < 0) {
            slot = oldest;
            runBytes[slot] = 0;
        }
        runBytes[slot] += length;
        nextOffset[slot] = offset + length;
        lastUse[slot] = clock;
        return runBytes[slot] >= cutoffBytes;
    }
}
