package io.flashvisor.cache.log;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The state of every segment: primitive arrays (a 10 TiB device has 2.6 M segments of 4 MiB) and a
 * FIFO of free segments, so that freed segments are reused oldest-freed first, spreading wear.
 * Not thread-safe: {@link FlashLog}'s lock guards it.
 *
 * <pre>
 * FREE --open--> OPEN --full--> SEALED --free(): zero first block--> FREEING --forced--> FREE
 * </pre>
 */
final class SegmentTable {
    static final byte FREE = 0;
    static final byte OPEN = 1;
    static final byte SEALED = 2;
    static final byte FREEING = 3;

    private final byte[] states;
    private final long[] generations;
    private final int[] usedBlocks;
    private final int[] freeRing;
    private int freeHead;
    private int freeCount;
    private int sealedCount;

    SegmentTable(int segmentCount) {
        states = new byte[segmentCount];
        generations = new long[segmentCount];
        usedBlocks = new int[segmentCount];
        freeRing = new int[segmentCount];
    }

    /** All segments free, in order: a newly formatted device. */
    static SegmentTable allFree(int segmentCount) {
        SegmentTable t = new SegmentTable(segmentCount);
        for (int s = 0; s < segmentCount; s++) {
            t.addFree(s);
        }
        return t;
    }

    int size() {
        return states.length;
    }

    byte state(int segment) {
        return states[segment];
    }

    long generation(int segment) {
        return generations[segment];
    }

    int usedBlocks(int segment) {
        return usedBlocks[segment];
    }

    int freeCount() {
        return freeCount;
    }

    int sealedCount() {
        return sealedCount;
    }

    /** Recovery found intact batches up to {@code used} blocks in this segment. */
    void recoveredSealed(int segment, long generation, int used) {
        states[segment] = SEALED;
        generations[segment] = generation;
        usedBlocks[segment] = used;
        sealedCount++;
    }

    void addFree(int segment) {
        states[segment] = FREE;
        generations[segment] = 0;
        usedBlocks[segment] = 0;
        freeRing[(freeHead + freeCount) % freeRing.length] = segment;
        freeCount++;
    }

    /** Takes the longest-free segment and marks it OPEN with {@code generation}; -1 if none is free. */
    int open(long generation) {
        if (freeCount == 0) {
            return -1;
        }
        int segment = freeRing[freeHead];
        freeHead = (freeHead + 1) % freeRing.length;
        freeCount--;
        states[segment] = OPEN;
        generations[segment] = generation;
        usedBlocks[segment] = 0;
        return segment;
    }

    void seal(int segment, int used) {
        check(segment, OPEN);
        states[segment] = SEALED;
        usedBlocks[segment] = used;
        sealedCount++;
    }

    void freeing(int segment) {
        check(segment, SEALED);
        states[segment] = FREEING;
        sealedCount--;
    }

    void freed(int segment) {
        check(segment, FREEING);
        addFree(segment);
    }

    List<SegmentInfo> sealed() {
        List<SegmentInfo> list = new ArrayList<>(sealedCount);
        for (int s = 0; s < states.length; s++) {
            if (states[s] == SEALED) {
                list.add(new SegmentInfo(s, generations[s], usedBlocks[s]));
            }
        }
        list.sort(Comparator.comparingLong(SegmentInfo::generation));
        return list;
    }

    static String name(byte state) {
        return switch (state) {
            case FREE -> "FREE";
            case OPEN -> "OPEN";
            case SEALED -> "SEALED";
            default -> "FREEING";
        };
    }

    private void check(int segment, byte expected) {
        if (states[segment] != expected) {
            throw new IllegalStateException("segment " + segment + " is " + name(states[segment]) + ", not " + name(expected));
        }
    }
}
