package io.flashvisor.cache.policy;

/**
 * CLOCK (second chance) on one FIFO, which is also LRU as a log can do it (configuration names
 * {@code clock} and {@code lru}): a reclaimed block that was accessed since it was last appended
 * is re-appended at the head of the log with its counter cleared, else evicted.
 *
 * <p>Design notes: on flash a block can only move by being written again, so exact LRU would cost
 * one flash write per read hit (and a per-block list in RAM, ≈ 8 more bytes per block). The only
 * moment the log moves blocks anyway is reclaim, and the only question LRU asks there — "was it
 * used since it was last put at the head?" — needs one bit, which the state byte has: lazy
 * promotion. What it gives up against exact LRU is the order among blocks promoted in the same
 * turn of the log (they return in log order, not in order of last access). More counter bits
 * would make it a frequency policy (S3-FIFO's main queue), which is no longer LRU.
 * {@code flashvisor sim} compares it with exact LRU (docs/sim.md).
 */
public final class ClockPolicy implements EvictionPolicy {
    private final String name;

    /** @param name {@code clock} or {@code lru}: the same policy under the name the operator chose */
    public ClockPolicy(String name) {
        this.name = name;
    }

    public ClockPolicy() {
        this("clock");
    }

    @Override
    public String name() {
        return name;
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
