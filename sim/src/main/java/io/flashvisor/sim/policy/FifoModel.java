package io.flashvisor.sim.policy;

/** Exact FIFO: hits change nothing; a miss evicts the oldest insertion. A ring of keys. */
final class FifoModel extends CacheModel {
    private final LongIntMap slots;
    private final long[] ring;
    private int used;
    private int oldest;

    FifoModel(long capacity) {
        super(capacity);
        slots = new LongIntMap(capacity);
        ring = new long[this.capacity];
    }

    @Override
    public String name() {
        return "fifo";
    }

    @Override
    public boolean access(long key, boolean write) {
        if (slots.get(key) != LongIntMap.ABSENT) {
            return true;
        }
        int s;
        if (used < capacity) {
            s = used++;
        } else {
            s = oldest;
            oldest = oldest + 1 == capacity ? 0 : oldest + 1;
            slots.remove(ring[s]);
            evicted(ring[s]);
        }
        ring[s] = key;
        slots.put(key, s);
        return false;
    }
}
