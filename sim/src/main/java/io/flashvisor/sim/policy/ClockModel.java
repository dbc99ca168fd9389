package io.flashvisor.sim.policy;

/**
 * CLOCK with one reference bit: a hit sets the bit; the hand sweeps from the oldest block,
 * clearing set bits (second chance) and evicting the first block whose bit is clear; the new
 * block takes its place behind the hand, so the ring behaves as a FIFO with reinsertion.
 */
final class ClockModel extends CacheModel {
    private final LongIntMap slots;
    private final long[] keys;
    private final boolean[] referenced;
    private int used;
    private int hand;

    ClockModel(long capacity) {
        super(capacity);
        slots = new LongIntMap(capacity);
        keys = new long[this.capacity];
        referenced = new boolean[this.capacity];
    }

    @Override
    public String name() {
        return "clock";
    }

    @Override
    public boolean access(long key, boolean write) {
        int s = slots.get(key);
        if (s != LongIntMap.ABSENT) {
            referenced[s] = true;
            return true;
        }
        if (used < capacity) {
            s = used++;
        } else {
            while (referenced[hand]) {
                referenced[hand] = false;
                hand = hand + 1 == capacity ? 0 : hand + 1;
            }
            s = hand;
            hand = hand + 1 == capacity ? 0 : hand + 1;
            slots.remove(keys[s]);
            evicted(keys[s]);
        }
        keys[s] = key;
        referenced[s] = false;
        slots.put(key, s);
        return false;
    }
}
