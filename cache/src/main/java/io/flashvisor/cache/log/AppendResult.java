package io.flashvisor.cache.log;

import java.util.Arrays;

/**
 * Where the records of one completed append went: they are durable (with
 * {@link Durability#NONE}, merely written). Record {@code i} of the append got sequence
 * {@code firstSequence() + i}; a DATA record's data starts at device block {@link #deviceBlock}
 * and runs for its block count. Immutable.
 */
public final class AppendResult {
    private final int stream;
    private final int segment;
    private final long firstSequence;
    private final long[] deviceBlocks;

    AppendResult(int stream, int segment, long firstSequence, long[] deviceBlocks) {
        this.stream = stream;
        this.segment = segment;
        this.firstSequence = firstSequence;
        this.deviceBlocks = deviceBlocks;
    }

    /** The append stream the records went to. */
    public int stream() {
        return stream;
    }

    /** The segment the batch was written to (one of the stream's). */
    public int segment() {
        return segment;
    }

    public int size() {
        return deviceBlocks.length;
    }

    public long firstSequence() {
        return firstSequence;
    }

    public long lastSequence() {
        return firstSequence + deviceBlocks.length - 1;
    }

    /** The sequence of record {@code i} of the append. */
    public long sequence(int i) {
        checkIndex(i);
        return firstSequence + i;
    }

    /** The device block of the first data block of record {@code i}, or -1 for a marker. */
    public long deviceBlock(int i) {
        checkIndex(i);
        return deviceBlocks[i];
    }

    private void checkIndex(int i) {
        if (i < 0 || i >= deviceBlocks.length) {
            throw new IndexOutOfBoundsException("record " + i + " of an append of " + deviceBlocks.length);
        }
    }

    @Override
    public String toString() {
        return "AppendResult(stream " + stream + ", segment " + segment + ", sequences " + firstSequence + ".." + lastSequence()
                + ", blocks " + Arrays.toString(deviceBlocks) + ")";
    }
}
