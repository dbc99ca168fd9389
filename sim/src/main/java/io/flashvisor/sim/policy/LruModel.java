package io.flashvisor.sim.policy;

/** Exact LRU: a hit moves the block to the head, a miss evicts the tail. The textbook reference. */
final class LruModel extends CacheModel {
    private final LongIntMap slots;
    private final long[] keys;
    private final SlotList list;
    private int used;

    LruModel(long capacity) {
        super(capacity);
        slots = new LongIntMap(capacity);
        keys = new long[this.capacity];
        list = new SlotList(SlotList.links(this.capacity));
    }

    @Override
    public String name() {
        return "lru";
    }

    @Override
    public boolean access(long key, boolean write) {
        int s = slots.get(key);
        if (s != LongIntMap.ABSENT) {
            list.moveToFirst(s);
            return true;
        }
        if (used < capacity) {
            s = used++;
        } else {
            s = list.tail;
            list.remove(s);
            slots.remove(keys[s]);
            evicted(keys[s]);
        }
        keys[s] = key;
        slots.put(key, s);
        list.addFirst(s);
        return false;
    }
}
