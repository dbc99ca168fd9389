package io.flashvisor.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.flashvisor.sim.policy.CachePolicies;
import io.flashvisor.sim.policy.Replay;
import io.flashvisor.sim.policy.ReplayResult;
import io.flashvisor.sim.trace.BlockTrace;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Pins the reference models to the cross-checked miss ratios of {@code shared/traces/README.md}
 * (libCacheSim and an independent implementation agree on them) at 1, 5, 10 and 25 % of the
 * sample trace's 269,210 distinct blocks, to 4 decimals.
 */
class ReferenceTableTest {

    static Stream<Arguments> table() {
        long[] sizes = {2_692, 13_460, 26_921, 67_302};
        Object[][] rows = {
            {"lru", new double[] {0.8969, 0.8871, 0.8741, 0.7417}},
            {"fifo", new double[] {0.8977, 0.8873, 0.8729, 0.7155}},
            {"clock", new double[] {0.8970, 0.8868, 0.8729, 0.7581}},
            {"sieve", new double[] {0.9032, 0.8653, 0.8329, 0.7116}},
            {"arc", new double[] {0.8979, 0.8555, 0.8245, 0.7827}},
            {"belady", new double[] {0.8646, 0.7703, 0.6761, 0.4913}},
        };
        return Stream.of(rows).flatMap(r -> {
            double[] expected = (double[]) r[1];
            return java.util.stream.IntStream.range(0, 4).mapToObj(i -> Arguments.of(r[0], sizes[i], expected[i]));
        });
    }

    @ParameterizedTest(name = "{0} at {1} blocks misses {2}")
    @MethodSource("table")
    void reproducesTheReferenceMissRatio(String policy, long blocks, double expected) {
        BlockTrace trace = SampleTrace.get();
        ReplayResult r = Replay.run(trace, CachePolicies.create(policy, blocks, 0, 2), -1);
        assertThat(r.missRatio()).as("%s at %d blocks", policy, blocks).isCloseTo(expected, org.assertj.core.data.Offset.offset(0.00005));
    }
}
