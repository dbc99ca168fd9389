package io.flashvisor.cache.policy;

/** Plain FIFO: every reclaimed block is evicted. The baseline the others must beat. */
public final class FifoPolicy implements EvictionPolicy {

    @Override
    public String name() {
        return "fifo";
    }

    @Override
    public byte admitted(long key) {
        return BlockState.of(Queue.MAIN);
    }

    @Override
    public Queue queueToReclaim(long smallBlocks, long mainBlocks) {
        return Queue.MAIN;
    }

    @Override
    public int reclaimed(long key, byte state) {
        return EVICT;
    }
}
