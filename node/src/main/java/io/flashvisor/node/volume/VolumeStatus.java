package io.flashvisor.node.volume;

/**
 * What an operator wants to know about one cached volume; a snapshot, serialised as is by the
 * status command.
 *
 * @param health          {@code ok}; {@code draining} (left write-back, dirty data still going to the
 *                        backing store); {@code destage-failing} (the backing store refuses destage
 *                        writes; dirty data kept, retried); {@code flash-failed} (the flash device
 *                        failed: the volume runs pass-through)
 * @param secondsToClean  dirty bytes / recent destage rate; 0 when clean, -1 when not yet measured
 * @param bypassedBytes   bytes of sequential writes that went around flash
 * @param fallbackWrites  writes that went to the backing store because flash was full or failed
 * @param lostBlocks      blocks whose dirty data was lost to flash corruption (read as EIO)
 * @param sizing          how much flash the volume needs, from its online miss-ratio curve
 */
public record VolumeStatus(String name, String policy, String health, long sizeBytes, long hits, long misses,
                           long cachedBytes, long dirtyBytes, long destagedBytes, double destageBytesPerSecond,
                           double secondsToClean, int destageWritesInFlight, String destageError, String flashFailure,
                           long bypassedBytes, long fallbackWrites, long lostBlocks, Sizing sizing) {

}
