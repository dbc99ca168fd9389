package io.flashvisor.cache.engine;

import java.util.Arrays;

/** A growable list of primitive longs, for transient collections of keys and blocks. Not thread-safe. */
final class LongList {
    private long[] values;
    private int size;

    LongList() {
        this(16);
    }

    LongList(int capacity) {
        values = new long[Math.max(4, capacity)];
    }

    void add(long v) {
        if (size == values.length) {
            values = Arrays.copyOf(values, values.length * 2);
        }
        values[size++] = v;
    }

    long get(int i) {
        if (i >= size) {
            throw new IndexOutOfBoundsException(i + " of " + size);
        }
        return values[i];
    }

    int size() {
        return size;
    }

    boolean isEmpty() {
        return size == 0;
    }

    void sort() {
        Arrays.sort(values, 0, size);
    }

    long[] toArray() {
        return Arrays.copyOf(values, size);
    }
}
