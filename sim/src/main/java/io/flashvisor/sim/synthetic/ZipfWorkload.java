package io.flashvisor.sim.synthetic;

import io.flashvisor.sim.trace.TraceBuilder;
import java.util.Arrays;
import java.util.Set;

/**
 * {@code zipf:theta=0.99}: block popularity follows Zipf's law, P(rank k) ∝ 1/k^theta, over the
 * volume's {@code blocks}; ranks are scattered over the volume by a fixed permutation so popular
 * blocks are not neighbours. Sampling is by binary search in the cumulative table (8 bytes per
 * block of the volume), which is exact for any theta.
 */
final class ZipfWorkload implements Workload {
    private final WorkloadParams p;

    ZipfWorkload(WorkloadParams p) {
        this.p = p;
        if (p.blocks() > 64_000_000) {
            throw new IllegalArgumentException("zipf: blocks=" + p.blocks() + " is too many for the table (at most 64m)");
        }
        theta();
    }

    private double theta() {
        return p.fraction("theta", 0.99, 0, 10);
    }

    static Set<String> params() {
        return Set.of("theta");
    }

    @Override
    public void generate(TraceBuilder out) {
        Emitter e = new Emitter(p, out);
        ZipfTable zipf = new ZipfTable(e.blocks, theta());
        long requests = p.requests();
        for (long i = 0; i < requests && !e.full(); i++) {
            e.request(zipf.scatter(zipf.sample(e.random)));
        }
    }

    @Override
    public String spec() {
        return p.spec();
    }

    /** The cumulative distribution of ranks 0..n-1 and a permutation of ranks onto blocks. */
    static final class ZipfTable {
        private final double[] cdf;
        private final long n;
        private final long multiplier;

        ZipfTable(long n, double theta) {
            this.n = n;
            cdf = new double[(int) n];
            double sum = 0;
            for (int k = 0; k < n; k++) {
                sum += 1.0 / Math.pow(k + 1, theta);
                cdf[k] = sum;
            }
            for (int k = 0; k < n; k++) {
                cdf[k] /= sum;
            }
            // About n/φ and coprime with n; n ≤ 64m keeps rank × multiplier below 2^52.
            long m = Math.max(1, (long) (n * 0.6180339887498949));
            while (gcd(m, n) != 1) {
                m++;
            }
            multiplier = m;
        }

        long sample(java.util.SplittableRandom random) {
            int i = Arrays.binarySearch(cdf, random.nextDouble());
            return i >= 0 ? i : Math.min(n - 1, -i - 1);
        }

        /** Rank → block: multiplication by a number coprime with n is a bijection of 0..n-1. */
        long scatter(long rank) {
            return rank * multiplier % n;
        }

        private static long gcd(long a, long b) {
            while (b != 0) {
                long t = a % b;
                a = b;
                b = t;
            }
            return a;
        }
    }
}
