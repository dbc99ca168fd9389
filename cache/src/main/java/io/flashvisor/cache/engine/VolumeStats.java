package io.flashvisor.cache.engine;

/**
 * Counters of one {@link VolumeCache}; a snapshot.
 *
 * @param hits              lookups that found the block
 * @param misses            lookups that did not
 * @param cachedBlocks      blocks with a readable cached version
 * @param dirtyBlocks       dirty versions the destager owes the backing store (a block rewritten in a
 *                          later epoch while its older version is dirty counts twice)
 * @param dirtyBytes        {@code dirtyBlocks} × 4096
 * @param lostBlocks        blocks whose dirty data was lost (reads fail with EIO until rewritten)
 * @param oldestDirtyEpoch  oldest flush epoch with dirty versions, or {@link VolumeCache#NO_EPOCH}
 * @param highestFlushEpoch highest flush epoch of a dirty write seen, or {@link VolumeCache#NO_EPOCH}
 */
public record VolumeStats(long hits, long misses, long cachedBlocks, long dirtyBlocks, long dirtyBytes, long lostBlocks,
                          long oldestDirtyEpoch, long highestFlushEpoch) {
}
