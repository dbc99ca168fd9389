package io.flashvisor.cache.policy;

/**
 * S3-FIFO (Yang et al., "FIFO queues are all you need for cache eviction", SOSP 2023) on a
 * log-structured flash layout: the default policy.
 *
 * <p>New blocks enter a small FIFO ({@value #SMALL_PERCENT} % of the cache) unless the ghost
 * remembers them as recently evicted, in which case they go straight to the main FIFO. A block
 * leaving the small FIFO moves to main if it was accessed while there, else it is evicted and
 * remembered by the ghost. A block leaving main is re-appended to main with its counter
 * decremented if it was accessed, else evicted.
 *
 * <p>Design notes: the paper's point is that FIFO queues are enough, and FIFOs are exactly what a
 * flash log gives for free: blocks are written sequentially and reclaimed oldest-segment-first,
 * so the small queue keeps one-hit wonders (scans, one-off reads) from washing out the main queue
 * without extra writes, and the RAM cost is two bits per block plus the ghost filter.
 */
public final class S3FifoPolicy implements EvictionPolicy {
    static final int SMALL_PERCENT = 10;

    private final GhostFilter ghost;

    /** @param capacityBlocks the cache's capacity, which sizes the ghost (as many entries as main holds) */
    public S3FifoPolicy(long capacityBlocks) {
        this.ghost = new GhostFilter(Math.max(64, capacityBlocks * (100 - SMALL_PERCENT) / 100));
    }

    @Override
    public String name() {
        return "s3-fifo";
    }

    @Override
    public byte admitted(long key) {
        return BlockState.of(ghost.contains(key) ? Queue.MAIN : Queue.SMALL);
    }

    @Override
    public Queue queueToReclaim(long smallBlocks, long mainBlocks) {
        long total = smallBlocks + mainBlocks;
        return smallBlocks > 0 && smallBlocks * 100 >= total * SMALL_PERCENT || mainBlocks == 0 ? Queue.SMALL : Queue.MAIN;
    }

    @Override
    public int reclaimed(long key, byte state) {
        int freq = BlockState.freq(state);
        if (BlockState.queue(state) == Queue.SMALL) {
            if (freq > 0) {
                return BlockState.withFreq(BlockState.withQueue(state, Queue.MAIN), 0) & 0xFF;
            }
            return EVICT;
        }
        return freq > 0 ? BlockState.withFreq(state, freq - 1) & 0xFF : EVICT;
    }

    @Override
    public void forgotten(long key) {
        ghost.add(key);
    }

    @Override
    public long bytesOfRam() {
        return ghost.bytesOfRam();
    }
}
