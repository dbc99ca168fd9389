package io.flashvisor.sim.policy;

/**
 * ARC (Megiddo and Modha, FAST '03), as in the paper's pseudo-code: T1 (seen once recently) and
 * T2 (seen at least twice) hold the cached blocks; ghosts B1 and B2 remember keys evicted from
 * each; a ghost hit moves the target size p of T1 towards the list that would have hit. Ghost
 * entries use slots too, so there are 2 × capacity slots. The map's value is the slot and its
 * list ({@code slot << 2 | list}), so a hit learns both from one probe.
 */
final class ArcModel extends CacheModel {
    private static final int T1 = 0;
    private static final int T2 = 1;
    private static final int B1 = 2;
    private static final int B2 = 3;

    private final LongIntMap slots;
    private final long[] keys;
    private final SlotList t1;
    private final SlotList t2;
    private final SlotList b1;
    private final SlotList b2;
    private final int[] free;
    private int freeCount;
    private double p;

    ArcModel(long capacity) {
        super(capacity);
        int n = 2 * this.capacity;
        slots = new LongIntMap(n);
        keys = new long[n];
        int[] links = SlotList.links(n);
        t1 = new SlotList(links);
        t2 = new SlotList(links);
        b1 = new SlotList(links);
        b2 = new SlotList(links);
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
        int v = slots.get(key);
        int c = capacity;
        if (v != LongIntMap.ABSENT) {
            int s = v >>> 2;
            switch (v & 3) {
                case T1 -> {
                    t1.remove(s);
                    toT2(key, s);
                    return true;
                }
                case T2 -> {
                    t2.moveToFirst(s);
                    return true;
                }
                case B1 -> {
                    p = Math.min(c, p + (b1.size >= b2.size ? 1 : (double) b2.size / b1.size));
                    replace(false);
                    b1.remove(s);
                    toT2(key, s);
                    return false;
                }
                default -> {
                    p = Math.max(0, p - (b2.size >= b1.size ? 1 : (double) b1.size / b2.size));
                    replace(true);
                    b2.remove(s);
                    toT2(key, s);
                    return false;
                }
            }
        }
        if (t1.size + b1.size == c) {
            if (t1.size < c) {
                drop(b1, b1.tail);
                replace(false);
            } else {
                int victim = t1.tail;
                evicted(keys[victim]);
                drop(t1, victim);
            }
        } else {
            int total = t1.size + t2.size + b1.size + b2.size;
            if (total >= c) {
                if (total == 2 * c) {
                    drop(b2, b2.tail);
                }
                replace(false);
            }
        }
        int s = free[--freeCount];
        keys[s] = key;
        slots.put(key, s << 2 | T1);
        t1.addFirst(s);
        return false;
    }

    private void toT2(long key, int s) {
        t2.addFirst(s);
        slots.put(key, s << 2 | T2);
    }

    /** Evicts the LRU block of T1 (to B1) or of T2 (to B2), steered by p. */
    private void replace(boolean inB2) {
        if (t1.size > 0 && (t1.size > p || (inB2 && t1.size == p))) {
            int v = t1.tail;
            evicted(keys[v]);
            t1.remove(v);
            b1.addFirst(v);
            slots.put(keys[v], v << 2 | B1);
        } else {
            int v = t2.tail;
            evicted(keys[v]);
            t2.remove(v);
            b2.addFirst(v);
            slots.put(keys[v], v << 2 | B2);
        }
    }

    private void drop(SlotList list, int s) {
        list.remove(s);
        slots.remove(keys[s]);
        free[freeCount++] = s;
    }
}
