package io.flashvisor.cache.policy;

/**
 * A FIFO of blocks. On flash each queue is its own append stream: blocks enter at the head of the
 * log and leave when the oldest segment of that stream is reclaimed, so FIFO order costs no RAM.
 */
public enum Queue {
    /** Where S3-FIFO puts new blocks: a short probation that filters one-hit wonders. */
    SMALL,
    /** Where blocks that proved themselves live (the only queue of single-queue policies). */
    MAIN
}
