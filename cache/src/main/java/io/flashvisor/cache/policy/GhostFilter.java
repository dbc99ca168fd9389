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
 * keeping the ghost under one byte per cached block (docs/cache.md, RAM per block). The filter is
 * blocked (Putze, Sanders and Singler, 2007): a key's four bits lie in one 64-byte block chosen
 * by the hash, so a lookup or an insert touches one cache line instead of four — the ghost is
 * consulted on every miss and fed on every eviction, and the table is far larger than the CPU
 * caches. The false-positive rate stays within a point of an unblocked filter's.
 */
final class GhostFilter {
    private static final int BITS_PER_KEY = 6;
    private static final int HASHES = 4;
    /** Words per block: 8 longs = one 64-byte cache line, so a lookup costs one memory access. */
    private static final int BLOCK_WORDS = 8;

    private final long[][] filters = new long[2][];
    private final long blocks;
    private final long perGeneration;
    private int current;
    private long added;

    GhostFilter(long capacity) {
        perGeneration = Math.max(1, capacity / 2);
        long words = Math.max(BLOCK_WORDS, (perGeneration * BITS_PER_KEY + 63) / 64);
        words = (words + BLOCK_WORDS - 1) / BLOCK_WORDS * BLOCK_WORDS;
        if (words > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("ghost of " + capacity + " keys is too large");
        }
        filters[0] = new long[(int) words];
        filters[1] = new long[(int) words];
        blocks = words / BLOCK_WORDS;
    }

    void add(long key) {
        if (added == perGeneration) {
            current ^= 1;
            java.util.Arrays.fill(filters[current], 0);
            added = 0;
        }
        long[] f = filters[current];
        long h = mix(key);
        int base = block(h);
        long bits = h * 0x9E3779B97F4A7C15L;
        for (int i = 0; i < HASHES; i++) {
            int bit = (int) (bits >>> (28 + 9 * i)) & 511;
            f[base + (bit >>> 6)] |= 1L << bit;
        }
        added++;
    }

    boolean contains(long key) {
        long h = mix(key);
        int base = block(h);
        return contains(filters[0], h, base) || contains(filters[1], h, base);
    }

    private static boolean contains(long[] f, long h, int base) {
        long bits = h * 0x9E3779B97F4A7C15L; // the bit positions: the hash's other bits, remixed
        for (int i = 0; i < HASHES; i++) {
            int bit = (int) (bits >>> (28 + 9 * i)) & 511;
            if ((f[base + (bit >>> 6)] & 1L << bit) == 0) {
                return false;
            }
        }
        return true;
    }

    /** The first word of the key's block: the hash's top 32 bits scaled to [0, blocks) (no division). */
    private int block(long h) {
        return (int) (((h >>> 32) * blocks) >>> 32) * BLOCK_WORDS;
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
