package io.flashvisor.cache.sizing;

import java.util.Arrays;

/**
 * Counts how many tracked keys were last touched after a given moment: a Fenwick tree over
 * logical time, one bit per key at its last access. That count plus one is the key's LRU stack
 * distance among the tracked keys (Mattson's algorithm, in O(log n) per access).
 *
 * <p>Design notes: time only moves forward, so the tree would grow with the trace; with at most
 * {@code keys} live marks, once time reaches the tree's end the live marks are renumbered
 * 1..n in order ({@link #compact}) — an O(size) pass every ~3 × keys accesses, so memory stays
 * bounded and the amortised cost stays O(log n). Not thread-safe.
 */
final class ReuseClock {
    private final int[] tree;
    /** The owner (entry number) of the mark at each time, or -1. */
    private final int[] owner;
    private final int end;
    private int now;
    private int live;

    ReuseClock(int maxLive) {
        end = Math.max(16, maxLive * 4);
        tree = new int[end + 1];
        owner = new int[end + 1];
        Arrays.fill(owner, -1);
    }

    /** Marks a new access by {@code entry}; returns its time. Call {@link #full} first. */
    int mark(int entry) {
        now++;
        owner[now] = entry;
        add(now, 1);
        live++;
        return now;
    }

    void unmark(int time) {
        owner[time] = -1;
        add(time, -1);
        live--;
    }

    /** The mark at {@code time} now belongs to entry {@code entry}. */
    void rename(int time, int entry) {
        owner[time] = entry;
    }

    /** Marks made after {@code time}. */
    int countAfter(int time) {
        return live - prefix(time);
    }

    boolean full() {
        return now == end;
    }

    /** Renumbers the live marks 1..n keeping their order; {@code times[entry]} receives each new time. */
    void compact(int[] times) {
        Arrays.fill(tree, 0);
        int next = 0;
        for (int t = 1; t <= now; t++) {
            int e = owner[t];
            if (e >= 0) {
                owner[t] = -1;
                owner[++next] = e;
                times[e] = next;
            }
        }
        now = next;
        for (int t = 1; t <= now; t++) {
            add(t, 1);
        }
    }

    long bytesOfRam() {
        return 2L * (end + 1) * Integer.BYTES;
    }

    private void add(int i, int delta) {
        for (; i <= end; i += i & -i) {
            tree[i] += delta;
        }
    }

    private int prefix(int i) {
        int sum = 0;
        for (; i > 0; i -= i & -i) {
            sum += tree[i];
        }
        return sum;
    }
}
