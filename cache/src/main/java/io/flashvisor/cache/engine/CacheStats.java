package io.flashvisor.cache.engine;

/**
 * Counters of a {@link FlashCache}; a snapshot.
 *
 * @param cachedBlocks     readable cached blocks of all volumes
 * @param dirtyBlocks      dirty versions of all volumes
 * @param lostBlocks       blocks whose dirty data was lost
 * @param volumes          volume ids known (recovered or attached)
 * @param segments         segments of the device
 * @param freeSegments     segments ready for appending
 * @param cleanerRounds    segments reclaimed by the cleaner
 * @param movedBlocks      live blocks the cleaner re-appended
 * @param evictedBlocks    clean blocks the cleaner evicted
 * @param freedSegments    segments freed after reclaim
 * @param heldSegments     segments the cleaner cannot reclaim now (lost data, or too much to move)
 * @param shadowedAppends  client appends written again because a reclaim copy may have outranked them
 * @param indexBytes       RAM of the block index
 * @param policyBytes      RAM of the eviction policy (ghost)
 * @param dirtyBytesOfRam  RAM of the dirty-version tracker
 * @param damaged          recovery found corrupt headers (unnamed records lost): see the log
 */
public record CacheStats(long cachedBlocks, long dirtyBlocks, long lostBlocks, int volumes, int segments, int freeSegments,
                         long cleanerRounds, long movedBlocks, long evictedBlocks, long freedSegments, int heldSegments,
                         long shadowedAppends, long indexBytes, long policyBytes, long dirtyBytesOfRam, boolean damaged) {
}
