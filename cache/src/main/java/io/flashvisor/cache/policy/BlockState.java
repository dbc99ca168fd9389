package io.flashvisor.cache.policy;

/**
 * The state byte the index keeps for each cached block, shared by the engine and the policies.
 *
 * <pre>
 *   bit  7 6   5     4      3       2 1      0
 *       +-----+-----+------+-------+--------+-------+
 *       |spare|split| lost | queue | freq   | dirty |
 *       +-----+-----+------+-------+--------+-------+
 * </pre>
 *
 * {@code dirty} belongs to the engine (the block is not yet on the backing store); {@code queue}
 * (0 small/probation, 1 main) and {@code freq} (a saturating 2-bit access counter) belong to the
 * eviction policy. Bits 4 and 5 belong to the engine too ({@code io.flashvisor.cache.engine.EntryState}):
 * policies change only {@code freq} and {@code queue} and leave the other bits as they are.
 */
public final class BlockState {
    public static final byte DIRTY = 1;
    static final int FREQ_SHIFT = 1;
    static final int FREQ_MASK = 0b110;
    static final int QUEUE_BIT = 0b1000;
    public static final int MAX_FREQ = 3;

    private BlockState() {
    }

    public static boolean isDirty(byte state) {
        return (state & DIRTY) != 0;
    }

    public static byte withDirty(byte state, boolean dirty) {
        return (byte) (dirty ? state | DIRTY : state & ~DIRTY);
    }

    public static int freq(byte state) {
        return (state & FREQ_MASK) >> FREQ_SHIFT;
    }

    public static byte withFreq(byte state, int freq) {
        return (byte) ((state & ~FREQ_MASK) | (Math.min(freq, MAX_FREQ) << FREQ_SHIFT));
    }

    public static Queue queue(byte state) {
        return (state & QUEUE_BIT) == 0 ? Queue.SMALL : Queue.MAIN;
    }

    public static byte withQueue(byte state, Queue queue) {
        return (byte) (queue == Queue.MAIN ? state | QUEUE_BIT : state & ~QUEUE_BIT);
    }

    /** A fresh state: in {@code queue}, never accessed again, clean. */
    public static byte of(Queue queue) {
        return withQueue((byte) 0, queue);
    }
}
