package io.flashvisor.cache.engine;

import java.util.Arrays;

/**
 * The dirty versions of one volume in one flush epoch: block → (device location, sequence,
 * handed-out flag), at most one version per block — the newest write of the block in this epoch,
 * the only one the destager owes the backing store.
 *
 * <p>Design notes. Dirty versions are bounded by the volume layer's dirty ratio, but that can
 * still be millions of blocks, so this is the index's layout again rather than a map of objects:
 * open addressing with linear probing over four primitive arrays (21 bytes a slot), at most 75 %
 * full, deletion by backward shift (no tombstones). The destager walks an epoch in block order
 * through a sorted snapshot of its blocks ({@link #pass}), taken once per pass, so handing out
 * batches costs O(n log n) per pass over the epoch, not per batch.
 *
 * <p>Not thread-safe: guarded by the engine lock.
 */
final class EpochVersions {
    static final long EMPTY = -1L;
    static final int NOT_FOUND = -1;
    private static final int MAX_LOAD_PERCENT = 75;

    private long[] blocks;
    private int[] locations;
    private long[] sequences;
    private boolean[] handedOut;
    private int size;
    private int growAt;

    /** Blocks of the current destage pass, sorted; entries may have gone since. */
    long[] pass;
    int passPosition;

    EpochVersions() {
        allocate(16);
    }

    int size() {
        return size;
    }

    long bytesOfRam() {
        return (long) blocks.length * (Long.BYTES + Integer.BYTES + Long.BYTES + 1)
                + (pass == null ? 0 : (long) pass.length * Long.BYTES);
    }

    int find(long block) {
        int i = home(block);
        while (true) {
            long b = blocks[i];
            if (b == block) {
                return i;
            }
            if (b == EMPTY) {
                return NOT_FOUND;
            }
            i = next(i);
        }
    }

    long blockAt(int slot) {
        return blocks[slot];
    }

    int locationAt(int slot) {
        return locations[slot];
    }

    long sequenceAt(int slot) {
        return sequences[slot];
    }

    boolean handedOutAt(int slot) {
        return handedOut[slot];
    }

    void setHandedOutAt(int slot, boolean value) {
        handedOut[slot] = value;
    }

    /** The cleaner moved this version's record: same data, new place and sequence. */
    void movedAt(int slot, int location, long sequence) {
        locations[slot] = location;
        sequences[slot] = sequence;
    }

    /** Adds or replaces the version of {@code block}; a replacing version is not handed out. */
    void put(long block, int location, long sequence) {
        if (block < 0) {
            throw new IllegalArgumentException("negative block " + block);
        }
        if (size >= growAt) {
            grow();
        }
        int i = home(block);
        while (true) {
            long b = blocks[i];
            if (b == EMPTY) {
                blocks[i] = block;
                size++;
                break;
            }
            if (b == block) {
                break;
            }
            i = next(i);
        }
        locations[i] = location;
        sequences[i] = sequence;
        handedOut[i] = false;
    }

    boolean remove(long block) {
        int slot = find(block);
        if (slot == NOT_FOUND) {
            return false;
        }
        removeAt(slot);
        return true;
    }

    void removeAt(int slot) {
        int hole = slot;
        int i = slot;
        while (true) {
            i = next(i);
            long b = blocks[i];
            if (b == EMPTY) {
                break;
            }
            int home = home(b);
            boolean homeBetween = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i);
            if (!homeBetween) {
                blocks[hole] = b;
                locations[hole] = locations[i];
                sequences[hole] = sequences[i];
                handedOut[hole] = handedOut[i];
                hole = i;
            }
        }
        blocks[hole] = EMPTY;
        size--;
    }

    /** The blocks in {@code [first, end)} that have a version here. */
    LongList blocksIn(long first, long end) {
        LongList out = new LongList();
        if (end - first <= size) {
            for (long b = first; b < end; b++) {
                if (find(b) != NOT_FOUND) {
                    out.add(b);
                }
            }
        } else {
            for (long b : blocks) {
                if (b != EMPTY && b >= first && b < end) {
                    out.add(b);
                }
            }
        }
        return out;
    }

    /** Starts a destage pass: the blocks not handed out, sorted; returns how many. */
    int startPass() {
        LongList list = new LongList(size);
        for (int i = 0; i < blocks.length; i++) {
            if (blocks[i] != EMPTY && !handedOut[i]) {
                list.add(blocks[i]);
            }
        }
        list.sort();
        pass = list.toArray();
        passPosition = 0;
        return pass.length;
    }

    boolean passExhausted() {
        return pass == null || passPosition >= pass.length;
    }

    void forEach(Visitor visitor) {
        for (int i = 0; i < blocks.length; i++) {
            if (blocks[i] != EMPTY) {
                visitor.visit(blocks[i], locations[i], sequences[i], handedOut[i]);
            }
        }
    }

    @FunctionalInterface
    interface Visitor {
        void visit(long block, int location, long sequence, boolean handedOut);
    }

    private int home(long block) {
        long hash = (block * 0x9E3779B97F4A7C15L) >>> 32;
        return (int) ((hash * blocks.length) >>> 32);
    }

    private int next(int slot) {
        return slot + 1 == blocks.length ? 0 : slot + 1;
    }

    private void grow() {
        long[] oldBlocks = blocks;
        int[] oldLocations = locations;
        long[] oldSequences = sequences;
        boolean[] oldHandedOut = handedOut;
        if (oldBlocks.length >= Integer.MAX_VALUE / 2) {
            throw new IllegalStateException("dirty versions of one epoch exceed " + oldBlocks.length + " slots");
        }
        allocate(oldBlocks.length * 2);
        for (int i = 0; i < oldBlocks.length; i++) {
            if (oldBlocks[i] != EMPTY) {
                put(oldBlocks[i], oldLocations[i], oldSequences[i]);
                handedOut[find(oldBlocks[i])] = oldHandedOut[i];
            }
        }
    }

    private void allocate(int capacity) {
        blocks = new long[capacity];
        Arrays.fill(blocks, EMPTY);
        locations = new int[capacity];
        sequences = new long[capacity];
        handedOut = new boolean[capacity];
        size = 0;
        growAt = (int) ((long) capacity * MAX_LOAD_PERCENT / 100);
    }
}
