package io.flashvisor.sim.policy;

/**
 * ARC (Megiddo and Modha, FAST '03), as in the paper's pseudo-code: T1 (seen once recently) and
 * T2 (seen at least twice) hold the cached blocks; ghosts B1 and B2 remember keys evicted from
 * each; a ghost hit moves the target size p of T1 towards the list that would have hit. Ghost
 * entries use slots too, so there are 2 × capacity slots.
 */
final class ArcModel extends CacheModel {
    private static final byte T1 = 0;
    private static final byte T2 = 1;
    private static final byte B1 = 2;
    private static final byte B2 = 3;

    private final LongIntMap slots;
    private final long[] keys;
    private final byte[] where;
    private final SlotList[] lists = new SlotList[4];
    private final int[] free;
    private int freeCount;
    private double p;

    ArcModel(long capacity) {
        super(capacity);
        int n = 2 * this.capacity;
        slots = new LongIntMap(n);
        keys = new long[n];
        where = new byte[n];
        int[] prev = new int[n];
        int[] next = new int[n];
        for (int i = 0; i < 4; i++) {
            lists[i] = new SlotList(prev, next);
        }
        free = new int[n];
        for (int i = 0; i < n; i++) {
            free[i] = n - 1 - i;
        }
        freeCount = n;
    }

    @Override
    public String name() {
        return "arc";
    }

    @Override
    public boolean access(long key, boolean write) {
        int s = slots.get(key);
        int c = capacity;
        if (s != LongIntMap.ABSENT && where[s] <= T2) {
            move(s, T2);
            return true;
        }
        SlotList t1 = lists[T1];
        SlotList b1 = lists[B1];
        SlotList b2 = lists[B2];
        if (s != LongIntMap.ABSENT && where[s] == B1) {
            double delta = b1.size >= b2.size ? 1 : (double) b2.size / b1.size;
            p = Math.min(c, p + delta);
            replace(false);
            move(s, T2);
            return false;
        }
        if (s != LongIntMap.ABSENT) { // B2
            double delta = b2.size >= b1.size ? 1 : (double) b1.size / b2.size;
            p = Math.max(0, p - delta);
            replace(true);
            move(s, T2);
            return false;
        }
        SlotList t2 = lists[T2];
        if (t1.size + b1.size == c) {
            if (t1.size < c) {
                drop(b1.tail);
                replace(false);
            } else {
                int victim = t1.tail;
                evicted(keys[victim]);
                drop(victim);
            }
        } else {
            int total = t1.size + t2.size + b1.size + b2.size;
            if (total >= c) {
                if (total == 2 * c) {
                    drop(b2.tail);
                }
                replace(false);
            }
        }
        s = free[--freeCount];
        keys[s] = key;
        slots.put(key, s);
        where[s] = T1;
        t1.addFirst(s);
        return false;
    }

    /** Evicts the LRU block of T1 (to B1) or of T2 (to B2), steered by p. */
    private void replace(boolean inB2) {
        SlotList t1 = lists[T1];
        if (t1.size > 0 && (t1.size > p || (inB2 && t1.size == p))) {
            int v = t1.tail;
            evicted(keys[v]);
            move(v, B1);
        } else {
            int v = lists[T2].tail;
            evicted(keys[v]);
            move(v, B2);
        }
    }

    private void move(int s, byte to) {
        lists[where[s]].remove(s);
        where[s] = to;
        lists[to].addFirst(s);
    }

    private void drop(int s) {
        lists[where[s]].remove(s);
        slots.remove(keys[s]);
        free[freeCount++] = s;
    }
}
