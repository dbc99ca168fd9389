package io.flashvisor.cache.engine;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Dirty blocks of one volume and one flush epoch for the destager to write to the backing store:
 * runs of contiguous blocks, in block order, each block with the device location of its data and
 * the sequence of that version (the newest of the block within the epoch). Handed out by
 * {@link VolumeCache#nextDestageBatch}; settled exactly once by {@link VolumeCache#destaged} (after
 * the backing store write and flush succeeded) or {@link VolumeCache#releaseDestage} (they failed).
 *
 * <p>Until it is settled, the batch pins the segments its locations are in, so the cleaner does not
 * reuse them while the destager reads ({@link VolumeCache#readDestageRun}); a batch that is never
 * settled keeps those segments, and its versions, forever.
 *
 * <p>Immutable apart from the settled flag; thread-safe.
 */
public final class DestageBatch {
    private final VolumeCache volume;
    private final long flushEpoch;
    private final long[] blocks;
    private final int[] locations;
    private final long[] sequences;
    /** Index into {@code blocks} of each run's first block, then {@code blocks.length}. */
    private final int[] runStarts;
    private final AtomicBoolean settled = new AtomicBoolean();

    DestageBatch(VolumeCache volume, long flushEpoch, long[] blocks, int[] locations, long[] sequences) {
        this.volume = volume;
        this.flushEpoch = flushEpoch;
        this.blocks = blocks;
        this.locations = locations;
        this.sequences = sequences;
        int[] starts = new int[blocks.length + 1];
        int runs = 0;
        for (int i = 0; i < blocks.length; i++) {
            if (i == 0 || blocks[i] != blocks[i - 1] + 1) {
                starts[runs++] = i;
            }
        }
        starts[runs] = blocks.length;
        this.runStarts = Arrays.copyOf(starts, runs + 1);
        if (blocks.length == 0) {
            settled.set(true);
        }
    }

    static DestageBatch empty(VolumeCache volume) {
        return new DestageBatch(volume, DirtyVersions.NO_EPOCH, new long[0], new int[0], new long[0]);
    }

    /** The volume it belongs to. */
    public VolumeCache volume() {
        return volume;
    }

    /** The flush epoch all its versions belong to (unsigned); {@code -1} for an empty batch. */
    public long flushEpoch() {
        return flushEpoch;
    }

    /** Nothing to destage now (nothing dirty, or the oldest epoch is all handed out already). */
    public boolean isEmpty() {
        return blocks.length == 0;
    }

    public int blockCount() {
        return blocks.length;
    }

    public int runCount() {
        return runStarts.length - 1;
    }

    public long runFirstBlock(int run) {
        return blocks[runStarts[checkRun(run)]];
    }

    public int runLength(int run) {
        checkRun(run);
        return runStarts[run + 1] - runStarts[run];
    }

    /** Index of the run's first block among {@link #block}{@code (i)}. */
    public int runStart(int run) {
        return runStarts[checkRun(run)];
    }

    public long block(int i) {
        return blocks[i];
    }

    /** The device block holding block {@code i}'s data (read it with {@link VolumeCache#readDestageRun}). */
    public int location(int i) {
        return locations[i];
    }

    /** The sequence of block {@code i}'s version. */
    public long sequence(int i) {
        return sequences[i];
    }

    long[] blocks() {
        return blocks;
    }

    /** Marks it settled; false if it already was. */
    boolean settle() {
        return settled.compareAndSet(false, true);
    }

    private int checkRun(int run) {
        if (run < 0 || run >= runCount()) {
            throw new IndexOutOfBoundsException("run " + run + " of " + runCount());
        }
        return run;
    }

    @Override
    public String toString() {
        return "DestageBatch(" + volume.name() + ", epoch " + Long.toUnsignedString(flushEpoch) + ", " + blocks.length
                + " blocks in " + runCount() + " runs)";
    }
}
