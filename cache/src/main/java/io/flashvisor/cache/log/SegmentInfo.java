package io.flashvisor.cache.log;

/**
 * A sealed segment, for the cleaner.
 *
 * @param segment    its number
 * @param generation when it was opened for appending (larger is newer)
 * @param usedBlocks blocks of it that hold batches
 */
public record SegmentInfo(int segment, long generation, int usedBlocks) {
}
