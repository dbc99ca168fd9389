package io.flashvisor.sim.policy;

import io.flashvisor.sim.trace.BlockTrace;

/**
 * One cache under simulation: a policy and a capacity in 4 KiB blocks. {@link #access} is the hot
 * path: it looks the block up, updates the policy, and on a miss inserts it (reads and writes
 * alike), evicting as the policy says. Counting hits and bytes is the {@link Replay}'s job.
 * Not thread-safe: one model per thread.
 */
public abstract class CacheModel {
    protected final int capacity;
    WriteBack writeBack = WriteBack.NONE;

    protected CacheModel(long capacity) {
        if (capacity < 1 || capacity > 1 << 29) {
            throw new IllegalArgumentException("cache of " + capacity + " blocks is not in [1, 2^29]");
        }
        this.capacity = (int) capacity;
    }

    /** The policy's name as {@code --policy} spells it. */
    public abstract String name();

    /** Returns whether the block was cached; on a miss the block is inserted. */
    public abstract boolean access(long key, boolean write);

    /** Called once before a replay, for policies that look ahead (Belady). */
    public void prepare(BlockTrace trace) {
    }

    /** Blocks written to flash beyond one per miss and one per write hit: the log's re-appends. */
    public long extraFlashWrites() {
        return 0;
    }

    /** Capacity in blocks. */
    public long capacity() {
        return capacity;
    }

    /** The block left the cache: a dirty one must be written back first. */
    final void evicted(long key) {
        writeBack.evicted(key);
    }
}
