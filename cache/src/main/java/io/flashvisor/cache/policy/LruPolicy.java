package io.flashvisor.cache.policy;

/**
 * LRU as a log can do it: lazy promotion. A block accessed since it was last appended is, at
 * reclaim, re-appended at the head of the log (its counter cleared) — the move to the front that
 * LRU makes on every hit, deferred to the one moment the log can move a block; a block not
 * accessed since is evicted.
 *
 * <p>Design notes: on flash a block can only move by being written again, so exact LRU would cost
 * one flash write per read hit (and a per-block list in RAM). The only moment the node moves
 * blocks anyway is reclaim, and the only question LRU asks there — "was it used since it was
 * last put at the head?" — needs one bit, which the state byte has. So this policy's decisions
 * are those of a one-bit CLOCK (and the same as {@code clock}'s); what it gives up against exact
 * LRU is the order among blocks promoted in the same turn of the log (they return in log order,
 * not in order of last access) and write hits, which the engine re-appends with their access
 * counted, so they get one more turn. More counter bits would turn it into a frequency policy
 * (S3-FIFO's main queue), which is no longer LRU. {@code flashvisor sim} compares it with exact
 * LRU (docs/sim.md).
 */
public final class LruPolicy implements EvictionPolicy {

    @Override
    public String name() {
        return "lru";
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
