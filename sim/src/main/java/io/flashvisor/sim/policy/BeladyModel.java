package io.flashvisor.sim.policy;

import io.flashvisor.sim.trace.BlockTrace;

/**
 * Belady's MIN, the offline optimum: evict the block whose next access is farthest in the future
 * (never, first). It needs the whole trace ({@link #prepare}) and so exists only in the simulator,
 * as the bound no real policy can beat. A max-heap of slots by next access; a hit pushes the
 * block's next access later, which only moves it up.
 */
final class BeladyModel extends CacheModel {
    private static final int NEVER = Integer.MAX_VALUE;

    private final LongIntMap slots;
    private final long[] keys;
    private final int[] nextUse;
    private final int[] heap;
    private final int[] heapPos;
    private int used;
    private int[] next;
    private int now;

    BeladyModel(long capacity) {
        super(capacity);
        slots = new LongIntMap(capacity);
        keys = new long[this.capacity];
        nextUse = new int[this.capacity];
        heap = new int[this.capacity];
        heapPos = new int[this.capacity];
    }

    @Override
    public String name() {
        return "belady";
    }

    @Override
    public void prepare(BlockTrace trace) {
        next = new int[trace.size()];
        LongIntMap seen = new LongIntMap(Math.min(trace.size(), 1 << 24));
        for (int i = trace.size() - 1; i >= 0; i--) {
            long key = trace.key(i);
            int later = seen.get(key);
            next[i] = later == LongIntMap.ABSENT ? NEVER : later;
            seen.put(key, i);
        }
        now = 0;
    }

    @Override
    public boolean access(long key, boolean write) {
        if (next == null) {
            throw new IllegalStateException("belady needs the whole trace: call prepare first");
        }
        int when = next[now++];
        int s = slots.get(key);
        if (s != LongIntMap.ABSENT) {
            nextUse[s] = when;
            siftUp(heapPos[s]);
            return true;
        }
        if (used < capacity) {
            s = used++;
        } else {
            s = heap[0];
            slots.remove(keys[s]);
            evicted(keys[s]);
            nextUse[s] = when;
            keys[s] = key;
            slots.put(key, s);
            siftDown(0);
            return false;
        }
        keys[s] = key;
        nextUse[s] = when;
        slots.put(key, s);
        heap[s] = s;
        heapPos[s] = s;
        siftUp(s);
        return false;
    }

    private void siftUp(int i) {
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (nextUse[heap[parent]] >= nextUse[heap[i]]) {
                return;
            }
            swap(i, parent);
            i = parent;
        }
    }

    private void siftDown(int i) {
        int n = used;
        while (true) {
            int l = 2 * i + 1;
            if (l >= n) {
                return;
            }
            int big = l + 1 < n && nextUse[heap[l + 1]] > nextUse[heap[l]] ? l + 1 : l;
            if (nextUse[heap[i]] >= nextUse[heap[big]]) {
                return;
            }
            swap(i, big);
            i = big;
        }
    }

    private void swap(int a, int b) {
        int t = heap[a];
        heap[a] = heap[b];
        heap[b] = t;
        heapPos[heap[a]] = a;
        heapPos[heap[b]] = b;
    }
}
