package io.flashvisor.cache.log;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The state of every segment: primitive arrays (a 10 TiB device has 2.6 M segments of 4 MiB) and a
 * FIFO of free segments, so that freed segments are reused oldest-freed first, spreading wear.
 * Every live segment belongs to one append stream. Not thread-safe: {@link FlashLog}'s lock guards it.
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
    private final byte[] streams;
    private final long[] generations;
    private final long[] firstSequences;
    private final int[] usedBlocks;
    private final int[] freeRing;
    private int freeHead;
    private int freeCount;
    private int sealedCount;

    SegmentTable(int segmentCount) {
        states = new byte[segmentCount];
        streams = new byte[segmentCount];
        generations = new long[segmentCount];
        firstSequences = new long[segmentCount];
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

    int stream(int segment) {
        return streams[segment];
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

    /** Recovery found intact batches of {@code stream} up to {@code used} blocks in this segment. */
    void recoveredSealed(int segment, int stream, long generation, long firstSequence, int used) {
        states[segment] = SEALED;
        streams[segment] = (byte) stream;
        generations[segment] = generation;
        firstSequences[segment] = firstSequence;
        usedBlocks[segment] = used;
        sealedCount++;
    }

    void addFree(int segment) {
        states[segment] = FREE;
        streams[segment] = 0;
        generations[segment] = 0;
        firstSequences[segment] = 0;
        usedBlocks[segment] = 0;
        freeRing[(freeHead + freeCount) % freeRing.length] = segment;
        freeCount++;
    }

    /** Takes the longest-free segment and marks it OPEN for {@code stream} with {@code generation}; -1 if none is free. */
    int open(long generation, int stream) {
        if (freeCount == 0) {
            return -1;
        }
        int segment = freeRing[freeHead];
        freeHead = (freeHead + 1) % freeRing.length;
        freeCount--;
        states[segment] = OPEN;
        streams[segment] = (byte) stream;
        generations[segment] = generation;
        firstSequences[segment] = 0;
        usedBlocks[segment] = 0;
        return segment;
    }

    /** A batch of an open segment was packed: {@code used} blocks are now written or being written. */
    void packed(int segment, long firstSequence, int used) {
        check(segment, OPEN);
        if (firstSequences[segment] == 0) {
            firstSequences[segment] = firstSequence;
        }
        usedBlocks[segment] = used;
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

    /** Sealed segments of {@code stream} (every stream if negative), oldest generation first. */
    List<SegmentInfo> sealed(int stream) {
        List<SegmentInfo> list = new ArrayList<>(stream < 0 ? sealedCount : 16);
        for (int s = 0; s < states.length; s++) {
            if (states[s] == SEALED && (stream < 0 || streams[s] == stream)) {
                list.add(info(s));
            }
        }
        list.sort(Comparator.comparingLong(SegmentInfo::generation));
        return list;
    }

    SegmentInfo info(int segment) {
        return new SegmentInfo(segment, streams[segment], generations[segment], firstSequences[segment], usedBlocks[segment]);
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
