package io.flashvisor.cache.log;

/**
 * Counters of a {@link FlashLog} since it was opened; a snapshot.
 *
 * @param appends       completed appends
 * @param records       records in them
 * @param batches       batches written (one write each)
 * @param forces        forces issued by the appender (one per batch unless durability is NONE)
 * @param bytesWritten  bytes of batches written
 * @param freeSegments  segments ready for appending
 * @param sealedSegments segments the cleaner may reclaim
 * @param failed        the log has failed and refuses appends
 */
public record LogStats(long appends, long records, long batches, long forces, long bytesWritten, int freeSegments,
                       int sealedSegments, boolean failed) {
}
