package io.flashvisor.cache.sizing;

import java.util.Arrays;

/**
 * An LRU miss-ratio curve: for cache sizes (in 4 KiB blocks) the fraction of accesses that miss.
 * Immutable. A step function: between two points the miss ratio is that of the smaller size
 * (the estimate errs towards needing more flash, never less).
 *
 * @param sizes       cache sizes in blocks, ascending, starting at 0
 * @param missRatios  the miss ratio at each size, non-increasing, in [0, 1]
 * @param accesses    how many accesses the curve describes
 */
public record MissRatioCurve(long[] sizes, double[] missRatios, long accesses) {

    public MissRatioCurve {
        if (sizes.length != missRatios.length || sizes.length == 0) {
            throw new IllegalArgumentException("a curve needs as many sizes as miss ratios, and at least one");
        }
        sizes = sizes.clone();
        missRatios = missRatios.clone();
    }

    /** The miss ratio of an LRU cache of {@code cacheBlocks} blocks. */
    public double missRatio(long cacheBlocks) {
        int i = Arrays.binarySearch(sizes, cacheBlocks);
        if (i < 0) {
            i = -i - 2;
        }
        return i < 0 ? 1.0 : missRatios[i];
    }

    /**
     * The smallest cache, in blocks, that reaches {@code hitRatio} (e.g. 0.9 for 90 % hits), or
     * -1 if no size does (cold misses alone may forbid it).
     */
    public long sizeForHitRatio(double hitRatio) {
        if (!(hitRatio >= 0 && hitRatio <= 1)) {
            throw new IllegalArgumentException("hit ratio " + hitRatio + " is not in [0, 1]");
        }
        for (int i = 0; i < sizes.length; i++) {
            if (1 - missRatios[i] >= hitRatio - 1e-12) {
                return sizes[i];
            }
        }
        return -1;
    }

    /** The lowest miss ratio any size reaches: the cold misses. */
    public double floor() {
        return missRatios[missRatios.length - 1];
    }

    public int points() {
        return sizes.length;
    }

    @Override
    public long[] sizes() {
        return sizes.clone();
    }

    @Override
    public double[] missRatios() {
        return missRatios.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof MissRatioCurve c && accesses == c.accesses && Arrays.equals(sizes, c.sizes)
                && Arrays.equals(missRatios, c.missRatios);
    }

    @Override
    public int hashCode() {
        return 31 * Arrays.hashCode(sizes) + Arrays.hashCode(missRatios);
    }

    @Override
    public String toString() {
        return "MissRatioCurve[" + sizes.length + " points, " + accesses + " accesses, floor " + floor() + "]";
    }
}
