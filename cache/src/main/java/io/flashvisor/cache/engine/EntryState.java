package io.flashvisor.cache.engine;

import io.flashvisor.cache.policy.BlockState;

/**
 * The engine's bits in the index's state byte, beside {@link BlockState}'s dirty, frequency and
 * queue bits (which the policies own):
 *
 * <pre>
 *   bit  7 6   5       4      3       2 1      0
 *       +---+-------+------+-------+--------+-------+
 *       | 0 | split | lost | queue | freq   | dirty |
 *       +---+-------+------+-------+--------+-------+
 * </pre>
 *
 * <ul>
 * <li>{@code lost}: the block's newest record failed its checksum at recovery and it was dirty;
 *     reads fail with EIO until it is rewritten or invalidated. The entry's location is the lost
 *     record's, so the cleaner keeps that segment (freeing it would let an older copy win at the
 *     next recovery).</li>
 * <li>{@code split}: older copies of the block may sit in a live segment of another append stream,
 *     so per-stream FIFO order does not guarantee they are reclaimed first; evicting the block then
 *     writes an INVALIDATE, else a crash could bring an older copy back.</li>
 * </ul>
 *
 * The policies' {@code accessed}/{@code reclaimed} only change the frequency and queue bits, so
 * these two survive them. Thread-safe (stateless).
 */
final class EntryState {
    static final byte LOST = 0x10;
    static final byte SPLIT = 0x20;

    private EntryState() {
    }

    static boolean lost(byte state) {
        return (state & LOST) != 0;
    }

    static boolean split(byte state) {
        return (state & SPLIT) != 0;
    }

    /** Dirty or lost: only such entries can have versions in the dirty tracker. */
    static boolean mayHaveVersions(byte state) {
        return BlockState.isDirty(state) || lost(state);
    }

    static byte withLost(byte state, boolean lost) {
        return (byte) (lost ? state | LOST : state & ~LOST);
    }

    static byte withSplit(byte state, boolean split) {
        return (byte) (split ? state | SPLIT : state & ~SPLIT);
    }
}
