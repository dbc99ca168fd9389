package io.flashvisor.cache.sizing;

import java.util.Arrays;

/**
 * Weighted counts of reuse distances (in blocks) in log-linear buckets: exact below 64, then 64
 * buckets per power of two, so a bucket is at most 1/64 (1.6 %) of its distance wide and the
 * whole range of a 64-bit distance fits in about 3,700 doubles. Weights are doubles because
 * fixed-size SHARDS rescales them whenever its sampling rate drops. Not thread-safe.
 */
final class DistanceHistogram {
    private static final int LINEAR = 64;
    private static final int SUB_BITS = 6;

    private double[] counts = new double[256];
    private int used;

    void add(double distance, double weight) {
        int b = bucketOf(Math.max(1, Math.round(distance)));
        if (b >= counts.length) {
            counts = Arrays.copyOf(counts, Math.max(b + 1, counts.length * 2));
        }
        counts[b] += weight;
        used = Math.max(used, b + 1);
    }

    void scale(double factor) {
        for (int i = 0; i < used; i++) {
            counts[i] *= factor;
        }
    }

    int buckets() {
        return used;
    }

    double count(int bucket) {
        return counts[bucket];
    }

    /** The largest distance that falls in {@code bucket}: a cache this large hits all of it. */
    static long upperBound(int bucket) {
        if (bucket < LINEAR) {
            return bucket;
        }
        int octave = (bucket - LINEAR) >> SUB_BITS;
        long sub = (bucket - LINEAR) & (LINEAR - 1);
        return ((LINEAR + sub + 1) << octave) - 1;
    }

    static int bucketOf(long distance) {
        if (distance < LINEAR) {
            return (int) distance;
        }
        int octave = 63 - Long.numberOfLeadingZeros(distance) - SUB_BITS;
        int sub = (int) (distance >>> octave) & (LINEAR - 1);
        return LINEAR + (octave << SUB_BITS) + sub;
    }

    long bytesOfRam() {
        return (long) counts.length * Double.BYTES;
    }
}
