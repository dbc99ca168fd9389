package io.flashvisor.cache.log;

/**
 * A sealed or open segment, for the cleaner.
 *
 * @param segment       its number
 * @param stream        the append stream it belongs to; a stream's segments, by generation, are its FIFO
 * @param generation    when it was opened for appending (larger is newer, across all streams)
 * @param firstSequence the sequence of its first record: the lowest in it (every record in it is at
 *                      least this, but records of other streams' segments interleave with its own)
 * @param usedBlocks    blocks of it that hold batches (for an open segment: written or being written)
 */
public record SegmentInfo(int segment, int stream, long generation, long firstSequence, int usedBlocks) {
}
