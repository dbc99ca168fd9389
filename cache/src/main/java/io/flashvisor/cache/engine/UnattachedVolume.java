package io.flashvisor.cache.engine;

/**
 * A volume the flash device holds data of that nobody has attached: if it has dirty or lost
 * blocks, a node configuration that dropped it would silently abandon writes its backing store
 * never got — the node reports it instead.
 *
 * @param volumeId         the id in its records (SHA-256 of the name, first 8 bytes)
 * @param dirtyBlocks      dirty versions not yet destaged
 * @param lostBlocks       blocks whose dirty data was lost to corruption
 * @param oldestDirtyEpoch oldest flush epoch with dirty versions, or {@link VolumeCache#NO_EPOCH}
 */
public record UnattachedVolume(long volumeId, long dirtyBlocks, long lostBlocks, long oldestDirtyEpoch) {
}
