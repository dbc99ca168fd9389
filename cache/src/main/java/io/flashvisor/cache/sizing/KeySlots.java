package io.flashvisor.cache.sizing;

import java.util.Arrays;

/**
 * An open-addressing map from a block key to a small non-negative int (the sampler's entry
 * number), with linear probing and backward-shift deletion, so it never boxes and never leaves
 * tombstones behind however long the node runs. Not thread-safe.
 */
final class KeySlots {
    static final int ABSENT = -1;

    private long[] keys;
    private int[] values;
    private int mask;
    private int size;

    KeySlots(int expected) {
        int cap = Integer.highestOneBit(Math.max(8, expected * 2 - 1)) << 1;
        keys = new long[cap];
        values = new int[cap];
        Arrays.fill(values, ABSENT);
        mask = cap - 1;
    }

    int get(long key) {
        for (int i = spread(key) & mask; ; i = (i + 1) & mask) {
            int v = values[i];
            if (v == ABSENT || keys[i] == key) {
                return v;
            }
        }
    }

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

    void remove(long key) {
        int i = spread(key) & mask;
        while (values[i] != ABSENT && keys[i] != key) {
            i = (i + 1) & mask;
        }
        if (values[i] == ABSENT) {
            return;
        }
        size--;
        // Backward shift: pull later members of the probe run into the hole so lookups stay correct.
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
    }

    int size() {
        return size;
    }

    long bytesOfRam() {
        return (long) keys.length * (Long.BYTES + Integer.BYTES);
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

    private static int spread(long key) {
        long h = key * 0x9E3779B97F4A7C15L;
        return (int) (h ^ (h >>> 32));
    }
}
