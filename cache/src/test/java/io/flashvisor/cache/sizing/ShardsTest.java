package io.flashvisor.cache.sizing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class ShardsTest {

    /** Exact LRU by brute force: an access-ordered LinkedHashMap of {@code size} entries. */
    private static double lruMissRatio(long[] trace, int size) {
        Map<Long, Boolean> lru = new LinkedHashMap<>(16, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, Boolean> eldest) {
                return size() > size;
            }
        };
        long misses = 0;
        for (long k : trace) {
            if (lru.get(k) == null) {
                misses++;
                lru.put(k, Boolean.TRUE);
            }
        }
        return (double) misses / trace.length;
    }

    private static long[] zipfish(int n, int keys, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        long[] t = new long[n];
        for (int i = 0; i < n; i++) {
            // Squaring a uniform number skews towards small keys; the multiplier scatters them.
            double u = r.nextDouble();
            t[i] = (long) (u * u * u * keys) * 0x9E3779B97F4A7C15L;
        }
        return t;
    }

    @Test
    void withFewerKeysThanSamplesTheCurveIsExactLru() {
        long[] trace = zipfish(20_000, 60, 1); // distances below 64: exact buckets
        Shards s = new Shards(1024);
        for (long k : trace) {
            s.record(k);
        }
        assertThat(s.samplingRate()).isEqualTo(1.0);
        MissRatioCurve c = s.curve();
        for (int size = 1; size <= 61; size++) {
            assertThat(c.missRatio(size)).as("size %d", size).isCloseTo(lruMissRatio(trace, size), org.assertj.core.data.Offset.offset(1e-9));
        }
        assertThat(c.missRatio(0)).isEqualTo(1.0);
    }

    @Test
    void boundedMemoryEstimateStaysCloseToExactLru() {
        long[] trace = zipfish(400_000, 200_000, 2);
        Shards s = new Shards(4096);
        long ramAfterWarmup = 0;
        for (int i = 0; i < trace.length; i++) {
            s.record(trace[i]);
            if (i == 50_000) {
                ramAfterWarmup = s.bytesOfRam();
            }
        }
        assertThat(s.samplingRate()).isLessThan(0.1);
        assertThat(s.bytesOfRam()).isEqualTo(ramAfterWarmup).isLessThan(1 << 20);
        MissRatioCurve c = s.curve();
        double error = 0;
        int[] sizes = {1_000, 5_000, 10_000, 20_000, 40_000, 80_000, 120_000};
        for (int size : sizes) {
            error += Math.abs(c.missRatio(size) - lruMissRatio(trace, size));
        }
        assertThat(error / sizes.length).isLessThan(0.01);
    }

    @Test
    void sizeForHitRatioIsTheSmallestSizeThatReachesIt() {
        Shards s = new Shards(64);
        for (int round = 0; round < 10; round++) {
            for (long k = 0; k < 10; k++) {
                s.record(k); // a loop over 10 keys: LRU hits everything from size 10 on, nothing below
            }
        }
        MissRatioCurve c = s.curve();
        assertThat(c.missRatio(9)).isEqualTo(1.0);
        assertThat(c.missRatio(10)).isCloseTo(0.1, org.assertj.core.data.Offset.offset(1e-9));
        assertThat(s.sizeForHitRatio(0.9)).isEqualTo(10);
        assertThat(s.sizeForHitRatio(0.95)).isEqualTo(-1); // the 10 cold misses forbid it
        assertThat(c.floor()).isCloseTo(0.1, org.assertj.core.data.Offset.offset(1e-9));
        assertThatThrownBy(() -> c.sizeForHitRatio(1.5)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void anEmptySamplerSaysEverythingMisses() {
        Shards s = new Shards();
        assertThat(s.curve().missRatio(1_000_000)).isEqualTo(1.0);
        assertThat(s.sizeForHitRatio(0.5)).isEqualTo(-1);
        assertThatThrownBy(() -> new Shards(3)).hasMessageContaining("maxSamples");
    }

    @Test
    void concurrentRecordersLoseNoAccess() throws InterruptedException {
        Shards s = new Shards(256);
        Thread[] threads = new Thread[4];
        for (int t = 0; t < threads.length; t++) {
            long base = t * 1_000_000L;
            threads[t] = new Thread(() -> {
                for (int i = 0; i < 50_000; i++) {
                    s.record(base + i % 5_000);
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(s.accesses()).isEqualTo(200_000);
        assertThat(s.curve().floor()).isCloseTo(20_000 / 200_000.0, org.assertj.core.data.Offset.offset(0.03));
    }

    @Property
    void everyDistanceFallsInABucketWhoseUpperBoundCoversIt(@ForAll @LongRange(min = 1, max = Long.MAX_VALUE / 2) long d) {
        int b = DistanceHistogram.bucketOf(d);
        assertThat(DistanceHistogram.upperBound(b)).isGreaterThanOrEqualTo(d);
        assertThat(DistanceHistogram.upperBound(b)).isLessThanOrEqualTo(d + d / 64 + 1);
        if (b > 0) {
            assertThat(DistanceHistogram.upperBound(b - 1)).isLessThan(d);
        }
    }
}
