package io.flashvisor.sim.trace;

import java.util.Arrays;

/**
 * A trace as the simulator replays it: one entry per 4 KiB block access, in order, packed into
 * primitive arrays (16 bytes per access) so a replay never allocates or boxes.
 *
 * <pre>
 *   access word:  63            13 12          1   0
 *                 +---------------+-------------+-----+
 *                 |  block key    | bytes − 1   |write|
 *                 +---------------+-------------+-----+
 * </pre>
 *
 * The block key is the 4 KiB block number, with the volume (disk number, file) in bits 40..49
 * for traces of several volumes; {@code bytes} is how much of the block the request covered
 * (for the byte hit ratio). {@code timeUs} is the request's time in microseconds from the trace's
 * start. Immutable once built.
 */
public final class BlockTrace {
    public static final int BLOCK = 4096;
    static final int VOLUME_SHIFT = 40;
    public static final long MAX_KEY = (1L << 50) - 1;

    private final String name;
    private final long[] access;
    private final long[] timeUs;
    private final int size;
    private final long requests;
    private final boolean timed;
    private long distinct = -1;

    BlockTrace(String name, long[] access, long[] timeUs, int size, long requests, boolean timed) {
        this.name = name;
        this.access = access;
        this.timeUs = timeUs;
        this.size = size;
        this.requests = requests;
        this.timed = timed;
    }

    public static long pack(long key, int bytes, boolean write) {
        return key << 13 | (long) (bytes - 1) << 1 | (write ? 1 : 0);
    }

    public static long keyOf(long word) {
        return word >>> 13;
    }

    public static int bytesOf(long word) {
        return (int) (word >>> 1 & 4095) + 1;
    }

    public static boolean isWrite(long word) {
        return (word & 1) != 0;
    }

    public String name() {
        return name;
    }

    /** Block accesses. */
    public int size() {
        return size;
    }

    public long word(int i) {
        return access[i];
    }

    public long key(int i) {
        return access[i] >>> 13;
    }

    public long timeUs(int i) {
        return timeUs[i];
    }

    /** Requests (I/Os) the block accesses came from. */
    public long requests() {
        return requests;
    }

    /** Whether the times come from the trace (else they are made up at a fixed request rate). */
    public boolean timed() {
        return timed;
    }

    public long writes() {
        long w = 0;
        for (int i = 0; i < size; i++) {
            w += access[i] & 1;
        }
        return w;
    }

    /** Distinct block keys: the working set, which percentage cache sizes refer to. */
    public synchronized long distinctBlocks() {
        if (distinct < 0) {
            long[] keys = new long[size];
            for (int i = 0; i < size; i++) {
                keys[i] = access[i] >>> 13;
            }
            Arrays.sort(keys);
            long n = 0;
            for (int i = 0; i < size; i++) {
                if (i == 0 || keys[i] != keys[i - 1]) {
                    n++;
                }
            }
            distinct = n;
        }
        return distinct;
    }

    /** The first {@code n} block accesses as a trace of their own (for quick runs and tests). */
    public BlockTrace head(int n) {
        int m = Math.min(n, size);
        return new BlockTrace(name, Arrays.copyOf(access, m), Arrays.copyOf(timeUs, m), m, requests, timed);
    }

    @Override
    public String toString() {
        return name + ": " + requests + " requests, " + size + " block accesses";
    }
}
