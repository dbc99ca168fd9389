package io.flashvisor.cache.policy;

/**
 * CLOCK (second chance) on one FIFO: a reclaimed block that was accessed since it was last
 * written is re-appended with its counter cleared, else evicted. This is the log-structured
 * approximation of LRU that flash caches use: exact LRU would need a per-block linked list in
 * RAM (≈ 8 more bytes per block) and would reorder blocks that the log cannot reorder anyway.
 */
public final class ClockPolicy implements EvictionPolicy {

    @Override
    public String name() {
        return "clock";
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
        return BlockState.freq(state) > 0 ? BlockState.withFreq(state, 0) & 0xFF : EVICT;
    }
}
