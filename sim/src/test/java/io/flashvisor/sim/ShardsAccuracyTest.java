package io.flashvisor.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.flashvisor.cache.sizing.MissRatioCurve;
import io.flashvisor.cache.sizing.Shards;
import io.flashvisor.sim.policy.CachePolicies;
import io.flashvisor.sim.policy.Replay;
import io.flashvisor.sim.synthetic.Workloads;
import io.flashvisor.sim.trace.BlockTrace;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The node's fixed-size SHARDS curve against exact LRU simulation (the reference {@code lru}
 * model, replayed at each size): mean absolute error at most 0.01, on the sample trace and on the
 * synthetic workloads.
 */
class ShardsAccuracyTest {
    private static final double[] PERCENTS = {1, 2, 5, 10, 15, 20, 25, 35, 50, 75, 100};

    static Stream<String> synthetic() {
        return Stream.of("zipf:theta=0.9,requests=600k,blocks=400k,seed=3", "zipf:theta=1.2,requests=600k,blocks=400k,seed=4",
                "scan:requests=600k,blocks=400k,seed=5", "shift:requests=600k,blocks=400k,seed=6");
    }

    @Test
    void sampleTraceCurveIsWithinOnePercentOfExactLru() {
        assertThat(meanAbsoluteError(SampleTrace.get(), Shards.DEFAULT_MAX_SAMPLES)).isLessThanOrEqualTo(0.01);
    }

    @ParameterizedTest
    @MethodSource("synthetic")
    void syntheticCurvesAreWithinOnePercentOfExactLru(String spec) {
        assertThat(meanAbsoluteError(Workloads.trace(spec), Shards.DEFAULT_MAX_SAMPLES)).isLessThanOrEqualTo(0.01);
    }

    @Test
    void withAsManySamplesAsBlocksTheCurveIsExactUpToItsBuckets() {
        BlockTrace t = Workloads.trace("zipf:theta=1.0,requests=100k,blocks=20k,seed=9");
        MissRatioCurve exact = MissRatioCurves.exact(t).curve();
        for (long size : new long[] {10, 50, 63}) { // below 64 the histogram is exact
            double lru = Replay.run(t, CachePolicies.create("lru", size, 0, 1), -1).missRatio();
            assertThat(exact.missRatio(size)).isCloseTo(lru, org.assertj.core.data.Offset.offset(1e-9));
        }
        assertThat(meanAbsoluteError(t, 1 << 20)).isLessThan(0.002);
    }

    private static double meanAbsoluteError(BlockTrace t, int samples) {
        MissRatioCurve curve = MissRatioCurves.shards(t, samples).curve();
        long distinct = t.distinctBlocks();
        double sum = 0;
        for (double p : PERCENTS) {
            long size = Math.max(1, (long) (distinct * p / 100));
            double exact = Replay.run(t, CachePolicies.create("lru", size, 0, 1), -1).missRatio();
            sum += Math.abs(curve.missRatio(size) - exact);
        }
        return sum / PERCENTS.length;
    }
}
