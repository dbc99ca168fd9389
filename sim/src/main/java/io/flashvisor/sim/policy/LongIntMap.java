package io.flashvisor.sim.policy;

/**
 * Block key → int (a slot, a location, a sequence): open addressing with linear probing and
 * backward-shift deletion, no boxing, no tombstones. The simulator's one hash table.
 *
 * <p>Design notes: the replay loop is bound by memory latency, not arithmetic — a large cache's
 * table does not fit in the CPU caches, so each lookup is about one DRAM miss. Key and value sit
 * side by side in one {@code long[]} (key at 2i, value at 2i+1) so a lookup touches one cache line,
 * not two arrays. Not thread-safe.
 */
final class LongIntMap {
    static final int ABSENT = -1;

    private long[] table;
    private int mask;
    private int size;

    LongIntMap(long expected) {
        int cap = (int) Math.min(1 << 29, Long.highestOneBit(Math.max(8, expected * 2 - 1)) << 1);
        table = new long[2 * cap];
        clear(table);
        mask = cap - 1;
    }

    int get(long key) {
        long[] t = table;
        int i = spread(key) & mask;
        while (true) {
            int v = (int) t[2 * i + 1];
            if (v == ABSENT || t[2 * i] == key) {
                return v;
            }
            i = (i + 1) & mask;
        }
    }

    /** Values must be non-negative. */
    void put(long key, int value) {
        if ((size + 1) * 2L > mask + 1L) {
            grow();
        }
        long[] t = table;
        int i = spread(key) & mask;
        while ((int) t[2 * i + 1] != ABSENT && t[2 * i] != key) {
            i = (i + 1) & mask;
        }
        if ((int) t[2 * i + 1] == ABSENT) {
            size++;
        }
        t[2 * i] = key;
        t[2 * i + 1] = value;
    }

    /** Removes the key; returns its value or ABSENT. */
    int remove(long key) {
        long[] t = table;
        int i = spread(key) & mask;
        while ((int) t[2 * i + 1] != ABSENT && t[2 * i] != key) {
            i = (i + 1) & mask;
        }
        int old = (int) t[2 * i + 1];
        if (old == ABSENT) {
            return ABSENT;
        }
        size--;
        // Backward shift: pull later members of the probe run into the hole so lookups stay correct.
        int hole = i;
        for (int j = (hole + 1) & mask; (int) t[2 * j + 1] != ABSENT; j = (j + 1) & mask) {
            int home = spread(t[2 * j]) & mask;
            if (((j - home) & mask) >= ((j - hole) & mask)) {
                t[2 * hole] = t[2 * j];
                t[2 * hole + 1] = t[2 * j + 1];
                hole = j;
            }
        }
        t[2 * hole + 1] = ABSENT;
        return old;
    }

    int size() {
        return size;
    }

    private void grow() {
        long[] old = table;
        table = new long[old.length * 2];
        clear(table);
        mask = table.length / 2 - 1;
        size = 0;
        for (int i = 0; i < old.length; i += 2) {
            if ((int) old[i + 1] != ABSENT) {
                put(old[i], (int) old[i + 1]);
            }
        }
    }

    private static void clear(long[] t) {
        for (int i = 1; i < t.length; i += 2) {
            t[i] = ABSENT;
        }
    }

    /** Fibonacci hashing: sequential block numbers spread over the whole table. */
    private static int spread(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29));
    }
}
