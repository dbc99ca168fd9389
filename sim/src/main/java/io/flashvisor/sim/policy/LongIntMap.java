package io.flashvisor.sim.policy;

import java.util.Arrays;

/**
 * Block key → int (a slot, a location, a sequence): open addressing with linear probing and
 * backward-shift deletion, no boxing, no tombstones. The simulator's one hash table; sized up
 * front so the hot path never rehashes. Not thread-safe.
 */
final class LongIntMap {
    static final int ABSENT = -1;

    private long[] keys;
    private int[] values;
    private int mask;
    private int size;

    LongIntMap(long expected) {
        int cap = (int) Math.min(1 << 30, Long.highestOneBit(Math.max(8, expected * 2 - 1)) << 1);
        keys = new long[cap];
        values = new int[cap];
        Arrays.fill(values, ABSENT);
        mask = cap - 1;
    }

    int get(long key) {
        int i = spread(key) & mask;
        while (true) {
            int v = values[i];
            if (v == ABSENT || keys[i] == key) {
                return v;
            }
            i = (i + 1) & mask;
        }
    }

    /** Values must be non-negative. */
    void put(long key, int value) {
        if ((size + 1) * 2 > keys.length) {
            grow();
        }
        int i = spread(key) & mask;
        while (values[i] != ABSENT && keys[i] != key) {
            i = (i + 1) & mask;
        }
        if (values[i] == ABSENT) {
            size++;
        }
        keys[i] = key;
        values[i] = value;
    }

    /** Removes the key; returns its value or ABSENT. */
    int remove(long key) {
        int i = spread(key) & mask;
        while (values[i] != ABSENT && keys[i] != key) {
            i = (i + 1) & mask;
        }
        int old = values[i];
        if (old == ABSENT) {
            return ABSENT;
        }
        size--;
        int hole = i;
        for (int j = (hole + 1) & mask; values[j] != ABSENT; j = (j + 1) & mask) {
            int home = spread(keys[j]) & mask;
            if (((j - home) & mask) >= ((j - hole) & mask)) {
                keys[hole] = keys[j];
                values[hole] = values[j];
                hole = j;
            }
        }
        values[hole] = ABSENT;
        return old;
    }

    int size() {
        return size;
    }

    private void grow() {
        long[] oldKeys = keys;
        int[] oldValues = values;
        keys = new long[oldKeys.length * 2];
        values = new int[oldValues.length * 2];
        Arrays.fill(values, ABSENT);
        mask = keys.length - 1;
        size = 0;
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldValues[i] != ABSENT) {
                put(oldKeys[i], oldValues[i]);
            }
        }
    }

    /** Fibonacci hashing: sequential block numbers spread over the whole table. */
    private static int spread(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 29));
    }
}
