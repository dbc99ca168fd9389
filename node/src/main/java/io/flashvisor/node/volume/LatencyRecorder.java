package io.flashvisor.node.volume;

import java.time.Duration;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.PackedHistogram;
import org.HdrHistogram.Recorder;

/**
 * The latency of one component of one volume ({@link LatencyComponent}): recorded on the I/O path,
 * read as a recent window (quantiles) and as totals since start (count, sum).
 *
 * <p><b>Recording is wait-free</b>: an HdrHistogram {@link Recorder} — a writer-reader phaser around
 * a histogram whose counts are an atomic array — costs a few uncontended atomic increments and no
 * lock or allocation per value; the reader swaps the histogram out from under the writers. That beats
 * hand-made {@code LongAdder} buckets here: log-linear buckets with 1 % precision from 1 µs to hours,
 * a consistent interval snapshot for free, and quantiles computed by a proven library.
 *
 * <p><b>The window</b> is the last {@link #WINDOW} (50 to 60 s): {@link #harvest} moves what was
 * recorded since the previous harvest into the current {@link #SLICE} of a ring of {@link #SLICES},
 * and {@link #summary} merges the ring. The node harvests every volume once a second, so a value is
 * counted in the slice it was recorded in, or at most a second later; every read harvests first.
 *
 * <p>Values are microseconds, rounded to the nearest. Thread-safe: any number of recording threads;
 * harvest and summary are synchronised with each other (never with recording).
 */
final class LatencyRecorder {
    static final Duration SLICE = Duration.ofSeconds(10);
    static final int SLICES = 6;
    static final Duration WINDOW = SLICE.multipliedBy(SLICES);
    private static final long SLICE_NANOS = SLICE.toNanos();
    private static final int DIGITS = 2;

    /** Auto-resizing (no value is out of range); its two histograms hold at most a second of values each. */
    private final Recorder recorder = new Recorder(DIGITS);
    /** The window's slices: sparse (packed), as most of a latency histogram's buckets are empty. */
    private final PackedHistogram[] slices = new PackedHistogram[SLICES];
    /** Which slice (time / {@link #SLICE}) each ring entry holds. */
    private final long[] sliceNumbers = new long[SLICES];
    private final PackedHistogram merged = new PackedHistogram(DIGITS);
    private Histogram interval;
    private long totalCount;
    private double totalMicros;

    /** One operation that took {@code nanos} (negative counts as 0). Wait-free. */
    void record(long nanos) {
        recorder.recordValue(Math.max(0, nanos + 500) / 1000);
    }

    /** Moves the values recorded since the last harvest into the window's slice of {@code nowNanos}. */
    synchronized void harvest(long nowNanos) {
        interval = recorder.getIntervalHistogram(interval);
        long n = interval.getTotalCount();
        if (n == 0) {
            return;
        }
        totalCount += n;
        totalMicros += interval.getMean() * n;
        long slice = Math.floorDiv(nowNanos, SLICE_NANOS);
        int i = Math.floorMod(slice, SLICES);
        if (slices[i] == null) {
            slices[i] = new PackedHistogram(DIGITS);
        } else if (sliceNumbers[i] != slice) {
            slices[i].reset();
        }
        sliceNumbers[i] = slice;
        slices[i].add(interval);
    }

    /** Harvests, then summarises the window ending at {@code nowNanos} and the totals. */
    synchronized LatencySummary summary(long nowNanos) {
        harvest(nowNanos);
        long current = Math.floorDiv(nowNanos, SLICE_NANOS);
        merged.reset();
        for (int i = 0; i < SLICES; i++) {
            if (slices[i] != null && sliceNumbers[i] > current - SLICES && sliceNumbers[i] <= current) {
                merged.add(slices[i]);
            }
        }
        long count = merged.getTotalCount();
        return new LatencySummary(count, count == 0 ? 0 : merged.getValueAtPercentile(50),
                count == 0 ? 0 : merged.getValueAtPercentile(99), count == 0 ? 0 : merged.getMaxValue(), totalCount,
                Math.round(totalMicros));
    }
}
