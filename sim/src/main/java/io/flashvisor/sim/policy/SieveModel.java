package io.flashvisor.sim.policy;

/**
 * SIEVE (Zhang et al., NSDI '24): a FIFO list with a visited bit and a hand that walks from the
 * oldest block towards the newest, clearing visited bits and evicting the first unvisited block;
 * the hand stays where it stopped. Unlike CLOCK, survivors keep their place instead of moving to
 * the head, which sifts new blocks quickly.
 */
final class SieveModel extends CacheModel {
    private final LongIntMap slots;
    private final long[] keys;
    private final boolean[] visited;
    private final SlotList list;
    private int used;
    private int hand = SlotList.NIL;

    SieveModel(long capacity) {
        super(capacity);
        slots = new LongIntMap(capacity);
        keys = new long[this.capacity];
        visited = new boolean[this.capacity];
        list = new SlotList(SlotList.links(this.capacity));
    }

    @Override
    public String name() {
        return "sieve";
    }

    @Override
    public boolean access(long key, boolean write) {
        int s = slots.get(key);
        if (s != LongIntMap.ABSENT) {
            visited[s] = true;
            return true;
        }
        if (used < capacity) {
            s = used++;
        } else {
            s = evict();
        }
        keys[s] = key;
        visited[s] = false;
        slots.put(key, s);
        list.addFirst(s);
        return false;
    }

    private int evict() {
        int o = hand != SlotList.NIL ? hand : list.tail;
        while (visited[o]) {
            visited[o] = false;
            o = list.newer(o);
            if (o == SlotList.NIL) {
                o = list.tail;
            }
        }
        hand = list.newer(o);
        list.remove(o);
        slots.remove(keys[o]);
        evicted(keys[o]);
        return o;
    }
}
