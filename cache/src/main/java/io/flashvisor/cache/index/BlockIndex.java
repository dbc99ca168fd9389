package io.flashvisor.cache.index;

import java.util.Arrays;

/**
 * Maps a cached block to where it lives on the flash device and its state bits: the cache's main
 * cost in RAM at terabyte scale, so it is three primitive arrays and no object per block.
 *
 * <p>Design notes. Open addressing with linear probing: a lookup touches one or two cache lines
 * of {@code keys}, and deletion shifts the following run back instead of leaving tombstones, so a
 * long-running cache never degrades. A slot costs 13 bytes ({@code long} key, {@code int}
 * location, {@code byte} state); the table doubles when it is {@value #MAX_LOAD_PERCENT} % full
 * (a grown index costs 15–31 bytes per block), and an index sized up front for the flash
 * device with {@link #withExpectedSize} costs 13 / 0.85 ≈ 15.3 bytes per block when full. Keys are
 * {@code volumeOrdinal << 48 | block} (see {@link #key}); key 0 is legal and the empty slot is
 * marked by {@link #EMPTY}, a key no volume can produce (ordinal 0xFFFF is reserved).
 *
 * <p>Locations are device block numbers (4 KiB units): {@code int} covers 16 TiB of flash.
 *
 * <p>Not thread-safe: the owner serialises access.
 */
public final class BlockIndex {
    /** Marks an empty slot: volume ordinal 0xFFFF, which {@link #key} never produces. */
    static final long EMPTY = -1L;
    public static final int NOT_FOUND = -1;
    public static final int MAX_VOLUMES = 0xFFFF;
    public static final long MAX_BLOCK = (1L << 48) - 1;
    static final int MAX_LOAD_PERCENT = 85;
    /** Java arrays stop a little short of 2^31 elements. */
    static final int MAX_SLOTS = Integer.MAX_VALUE - 8;

    private long[] keys;
    private int[] locations;
    private byte[] states;
    private int size;
    private int growAt;

    public BlockIndex() {
        this(1 << 10);
    }

    private BlockIndex(int capacity) {
        allocate(capacity);
    }

    /** An index that holds {@code blocks} entries without growing (e.g. the flash device's block count). */
    public static BlockIndex withExpectedSize(long blocks) {
        long slots = Math.max(16, blocks * 100 / MAX_LOAD_PERCENT + 1);
        if (slots > MAX_SLOTS) {
            throw new IllegalArgumentException("an index of " + blocks + " blocks exceeds " + MAX_SLOTS + " slots");
        }
        return new BlockIndex((int) slots);
    }

    /** The key of {@code block} of the volume with {@code ordinal} (0 ≤ ordinal < {@link #MAX_VOLUMES}). */
    public static long key(int volumeOrdinal, long block) {
        if (volumeOrdinal < 0 || volumeOrdinal >= MAX_VOLUMES || block < 0 || block > MAX_BLOCK) {
            throw new IllegalArgumentException("volume ordinal " + volumeOrdinal + " / block " + block + " out of range");
        }
        return (long) volumeOrdinal << 48 | block;
    }

    public static int volumeOf(long key) {
        return (int) (key >>> 48);
    }

    public static long blockOf(long key) {
        return key & MAX_BLOCK;
    }

    public int size() {
        return size;
    }

    /** Slots allocated; RAM is {@code capacity() * 13} bytes. */
    public int capacity() {
        return keys.length;
    }

    public long bytesOfRam() {
        return (long) keys.length * (Long.BYTES + Integer.BYTES + Byte.BYTES);
    }

    /** The slot holding {@code key}, or {@link #NOT_FOUND}. A slot stays valid until the next put or remove. */
    public int find(long key) {
        int i = home(key);
        while (true) {
            long k = keys[i];
            if (k == key) {
                return i;
            }
            if (k == EMPTY) {
                return NOT_FOUND;
            }
            i = next(i);
        }
    }

    public long keyAt(int slot) {
        return keys[slot];
    }

    public int locationAt(int slot) {
        return locations[slot];
    }

    public byte stateAt(int slot) {
        return states[slot];
    }

    public void setLocationAt(int slot, int location) {
        locations[slot] = location;
    }

    public void setStateAt(int slot, byte state) {
        states[slot] = state;
    }

    /** The location of {@code key}, or {@link #NOT_FOUND}. */
    public int location(long key) {
        int slot = find(key);
        return slot == NOT_FOUND ? NOT_FOUND : locations[slot];
    }

    /** Inserts or replaces; returns the slot now holding {@code key}. */
    public int put(long key, int location, byte state) {
        if (key == EMPTY) {
            throw new IllegalArgumentException("key -1 is reserved");
        }
        if (location < 0) {
            throw new IllegalArgumentException("negative location " + location);
        }
        if (size >= growAt) {
            grow();
        }
        int i = home(key);
        while (true) {
            long k = keys[i];
            if (k == EMPTY) {
                keys[i] = key;
                size++;
                break;
            }
            if (k == key) {
                break;
            }
            i = next(i);
        }
        locations[i] = location;
        states[i] = state;
        return i;
    }

    /** Removes {@code key}; returns whether it was present. */
    public boolean remove(long key) {
        int slot = find(key);
        if (slot == NOT_FOUND) {
            return false;
        }
        removeAt(slot);
        return true;
    }

    /** Removes the entry in {@code slot}, shifting later entries of its probe run back (no tombstones). */
    public void removeAt(int slot) {
        int hole = slot;
        int i = slot;
        while (true) {
            i = next(i);
            long k = keys[i];
            if (k == EMPTY) {
                break;
            }
            int home = home(k);
            // Move k into the hole unless its home lies cyclically in (hole, i].
            boolean homeBetween = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
            if (!homeBetween) {
                keys[hole] = k;
                locations[hole] = locations[i];
                states[hole] = states[i];
                hole = i;
            }
        }
        keys[hole] = EMPTY;
        size--;
    }

    /** Calls {@code visitor} for every entry; the visitor must not put or remove. */
    public void forEach(EntryVisitor visitor) {
        for (int i = 0; i < keys.length; i++) {
            if (keys[i] != EMPTY) {
                visitor.visit(keys[i], locations[i], states[i]);
            }
        }
    }

    @FunctionalInterface
    public interface EntryVisitor {
        void visit(long key, int location, byte state);
    }

    private int home(long key) {
        // Fibonacci hashing spreads sequential blocks of one volume; the multiply-shift reduction
        // (Lemire) maps the hash onto any table size, so the table need not be a power of two and
        // an index sized for a device wastes no RAM on rounding up.
        long hash = (key * 0x9E3779B97F4A7C15L) >>> 32;
        return (int) ((hash * keys.length) >>> 32);
    }

    private int next(int slot) {
        return slot + 1 == keys.length ? 0 : slot + 1;
    }

    private void grow() {
        long[] oldKeys = keys;
        int[] oldLocations = locations;
        byte[] oldStates = states;
        if (oldKeys.length >= MAX_SLOTS) {
            throw new IllegalStateException("block index is full at " + MAX_SLOTS + " slots");
        }
        allocate((int) Math.min(MAX_SLOTS, oldKeys.length * 2L));
        for (int i = 0; i < oldKeys.length; i++) {
            if (oldKeys[i] != EMPTY) {
                put(oldKeys[i], oldLocations[i], oldStates[i]);
            }
        }
    }

    private void allocate(int capacity) {
        keys = new long[capacity];
        Arrays.fill(keys, EMPTY);
        locations = new int[capacity];
        states = new byte[capacity];
        size = 0;
        growAt = (int) ((long) capacity * MAX_LOAD_PERCENT / 100);
    }
}
