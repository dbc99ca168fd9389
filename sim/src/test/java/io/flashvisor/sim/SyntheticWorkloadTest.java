package io.flashvisor.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flashvisor.sim.synthetic.Workloads;
import io.flashvisor.sim.trace.BlockTrace;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SyntheticWorkloadTest {

    @Test
    void theSameSeedGivesTheSameTraceAndAnotherSeedAnother() {
        BlockTrace a = Workloads.trace("zipf:theta=1.1,requests=20k,blocks=5k,seed=7");
        BlockTrace b = Workloads.trace("zipf:theta=1.1,requests=20k,blocks=5k,seed=7");
        BlockTrace c = Workloads.trace("zipf:theta=1.1,requests=20k,blocks=5k,seed=8");
        assertThat(a.size()).isEqualTo(20_000);
        boolean same = true;
        boolean differs = false;
        for (int i = 0; i < a.size(); i++) {
            same &= a.word(i) == b.word(i) && a.timeUs(i) == b.timeUs(i);
            differs |= a.word(i) != c.word(i);
        }
        assertThat(same).isTrue();
        assertThat(differs).isTrue();
    }

    @Test
    void zipfIsSkewedByTheta() {
        assertThat(topShare("zipf:theta=1.2,requests=50k,blocks=10k")).isGreaterThan(topShare("zipf:theta=0.6,requests=50k,blocks=10k") * 3);
    }

    /** Share of accesses that go to the 1 % most popular blocks. */
    private static double topShare(String spec) {
        BlockTrace t = Workloads.trace(spec);
        Map<Long, Integer> counts = new HashMap<>();
        for (int i = 0; i < t.size(); i++) {
            counts.merge(t.key(i), 1, Integer::sum);
        }
        long top = counts.values().stream().sorted((x, y) -> y - x).limit(100).mapToLong(Integer::longValue).sum();
        return (double) top / t.size();
    }

    @Test
    void scanSweepsSequentiallyOutsideTheHotSet() {
        BlockTrace t = Workloads.trace("scan:requests=10k,blocks=100k,hot=1000,scan=1,write=0");
        for (int i = 0; i < t.size(); i++) {
            assertThat(t.key(i)).isEqualTo(1000 + i);
        }
        BlockTrace hot = Workloads.trace("scan:requests=10k,blocks=100k,hot=1000,scan=0");
        assertThat(hot.distinctBlocks()).isLessThanOrEqualTo(1000);
    }

    @Test
    void theHotSpotMoves() {
        BlockTrace t = Workloads.trace("shift:requests=20k,blocks=1m,hot=100,p=1,period=10k");
        long firstMin = Long.MAX_VALUE;
        long secondMin = Long.MAX_VALUE;
        for (int i = 0; i < t.size(); i++) {
            if (i < 10_000) {
                firstMin = Math.min(firstMin, t.key(i));
            } else {
                secondMin = Math.min(secondMin, t.key(i));
            }
        }
        assertThat(Math.abs(firstMin - secondMin)).isGreaterThan(100);
        assertThat(t.distinctBlocks()).isLessThanOrEqualTo(200);
    }

    @Test
    void writeFractionRequestSizeAndClockFollowTheSpec() {
        BlockTrace t = Workloads.trace("zipf:requests=10k,blocks=1m,write=0.25,bs=16k,iops=1000");
        assertThat(t.requests()).isEqualTo(10_000);
        assertThat(t.size()).isEqualTo(40_000);
        assertThat(t.writes() / 4.0 / 10_000).isBetween(0.23, 0.27);
        assertThat(t.timeUs(t.size() - 1)).isEqualTo(9_999 * 1000L);
    }

    @Test
    void badSpecsSayWhatIsAccepted() {
        assertThatThrownBy(() -> Workloads.parse("pareto")).hasMessageContaining("zipf, scan, shift");
        assertThatThrownBy(() -> Workloads.parse("zipf:alpha=1")).hasMessageContaining("unknown parameter 'alpha'").hasMessageContaining("theta");
        assertThatThrownBy(() -> Workloads.parse("zipf:write=2")).hasMessageContaining("write=2");
        assertThatThrownBy(() -> Workloads.parse("scan:hot=2m,blocks=1m")).hasMessageContaining("smaller than blocks");
    }
}
