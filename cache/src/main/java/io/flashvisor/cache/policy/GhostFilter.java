package io.flashvisor.cache.policy;

/**
 * Remembers roughly the last {@code capacity} forgotten keys, in about six bits per key: two Bloom
 * filters used in turn. Keys are added to the current filter; when it has taken
 * {@code capacity / 2} keys, the older filter is cleared and becomes the current one. A key is
 * remembered if either filter holds it, so it is remembered for between capacity/2 and capacity
 * later additions.
 *
 * <p>Design notes: S3-FIFO's ghost only steers admission (small or main queue), so a false
 * positive costs one block a faster start, never correctness; a few percent is a fine price for
 * keeping the ghost under one byte per cached block (docs/cache.md, RAM per block).
 */
final class GhostFilter {
    private static final int BITS_PER_KEY = 6;
    private static final int HASHES = 4;

    private final long[][] filters = new long[2][];
    private final long bitsPerFilter;
    private final long perGeneration;
    private int current;
    private long added;

    GhostFilter(long capacity) {
        perGeneration = Math.max(1, capacity / 2);
        long words = Math.max(1, (perGeneration * BITS_PER_KEY + 63) / 64);
        if (words > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("ghost of " + capacity + " keys is too large");
        }
        filters[0] = new long[(int) words];
        filters[1] = new long[(int) words];
        bitsPerFilter = words * 64;
    }

    void add(long key) {
        if (added == perGeneration) {
            current ^= 1;
            java.util.Arrays.fill(filters[current], 0);
            added = 0;
        }
        long[] f = filters[current];
        long h = mix(key);
        int h1 = (int) h;
        int h2 = (int) (h >>> 32) | 1;
        for (int i = 0; i < HASHES; i++) {
            long bit = Integer.toUnsignedLong(h1 + i * h2) % bitsPerFilter;
            f[(int) (bit >>> 6)] |= 1L << bit;
        }
        added++;
    }

    boolean contains(long key) {
        return contains(filters[0], key) || contains(filters[1], key);
    }

    private boolean contains(long[] f, long key) {
        long h = mix(key);
        int h1 = (int) h;
        int h2 = (int) (h >>> 32) | 1;
        for (int i = 0; i < HASHES; i++) {
            long bit = Integer.toUnsignedLong(h1 + i * h2) % bitsPerFilter;
            if ((f[(int) (bit >>> 6)] & 1L << bit) == 0) {
                return false;
            }
        }
        return true;
    }

    long bytesOfRam() {
        return 2L * filters[0].length * Long.BYTES;
    }

    /** SplitMix64's finaliser: consecutive blocks must not land on neighbouring bits. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }
}
