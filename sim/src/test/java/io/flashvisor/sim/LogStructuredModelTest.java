package io.flashvisor.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.flashvisor.sim.policy.CachePolicies;
import io.flashvisor.sim.policy.Replay;
import io.flashvisor.sim.policy.ReplayResult;
import io.flashvisor.sim.synthetic.Workloads;
import io.flashvisor.sim.trace.BlockTrace;
import io.flashvisor.sim.trace.TraceBuilder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

/** The log-structured model drives the node's own policies; where it must equal a textbook model, it does. */
class LogStructuredModelTest {

    /** The sample trace with every access turned into a read: no write hits, so no dead copies in the log. */
    private static BlockTrace readOnlySample() {
        BlockTrace t = SampleTrace.get();
        TraceBuilder b = new TraceBuilder("read-only sample");
        for (int i = 0; i < t.size(); i++) {
            b.request(0, t.key(i) * BlockTrace.BLOCK, BlockTrace.BLOCK, false, t.timeUs(i));
        }
        return b.build();
    }

    @ParameterizedTest(name = "{0} at {2} blocks decides like {1}")
    @CsvSource({"node:fifo,fifo,2692", "node:fifo,fifo,26921", "node:clock,clock,2692", "node:clock,clock,26921",
        "node:lru,clock,13460", "node:lru,clock,67302"})
    void withOneBlockSegmentsAndNoWritesTheLogIsTheTextbookPolicy(String node, String reference, long blocks) {
        BlockTrace t = readOnlySample();
        ReplayResult log = Replay.run(t, CachePolicies.create(node, blocks, 1, 1), -1);
        ReplayResult ref = Replay.run(t, CachePolicies.create(reference, blocks, 1, 1), -1);
        assertThat(log.hits()).isEqualTo(ref.hits());
        assertThat(log.capacityBlocks()).isEqualTo(blocks);
    }

    @Test
    void writeHitsAppendNewCopiesAndSurvivorsCostFlashWrites() {
        BlockTrace t = SampleTrace.get();
        ReplayResult fifo = Replay.run(t, CachePolicies.create("node:fifo", 26_921, 0, 2), -1);
        ReplayResult s3 = Replay.run(t, CachePolicies.create("node:s3-fifo", 26_921, 0, 2), -1);
        // FIFO never re-appends: every flash write is a miss or a write hit.
        assertThat(fifo.reappends()).isZero();
        long fifoWriteHits = fifo.flashWrites() - (fifo.accesses() - fifo.hits());
        assertThat(fifoWriteHits).isPositive().isLessThanOrEqualTo(Math.min(fifo.hits(), fifo.writes()));
        // S3-FIFO moves blocks accessed in the small queue to main: re-appends cost flash writes.
        assertThat(s3.reappends()).isPositive();
        assertThat(s3.flashWrites()).isGreaterThan(s3.accesses() - s3.hits() + s3.reappends());
        assertThat(s3.hitRatio()).isGreaterThan(fifo.hitRatio());
    }

    @Test
    void aCacheFullOfDirtyDataWritesBackInsteadOfSpinning() {
        // All writes, no destage: every block is dirty; the model must still make progress.
        BlockTrace t = Workloads.trace("zipf:theta=0.8,requests=200k,blocks=50k,write=1");
        ReplayResult r = Replay.run(t, CachePolicies.create("node:s3-fifo", 2_000, 16, 2), 0);
        assertThat(r.forcedWriteBacks()).isPositive();
        assertThat(r.peakDirtyBlocks()).isLessThanOrEqualTo(2_000);
        assertThat(r.flashWritesPerWrite()).isLessThan(3.0);
    }

    @Test
    void dirtyBlocksStayUntilDestagedWhenTheDestagerKeepsUp() {
        BlockTrace t = Workloads.trace("zipf:theta=0.8,requests=200k,blocks=50k,write=0.5,iops=1000");
        ReplayResult fast = Replay.run(t, CachePolicies.create("node:s3-fifo", 5_000, 16, 2), 1L << 30);
        ReplayResult slow = Replay.run(t, CachePolicies.create("node:s3-fifo", 5_000, 16, 2), 1L << 20);
        assertThat(fast.peakDirtyBlocks()).isLessThan(slow.peakDirtyBlocks());
        assertThat(fast.forcedWriteBacks()).isZero();
    }

    @Test
    void nodePoliciesAreReportedUnderTheirPrefixedNames() {
        assertThat(CachePolicies.parse("s3-fifo,lru,node:lru,node")).containsExactly("node:s3-fifo", "lru", "node:lru", "node:clock", "node:fifo");
        assertThat(CachePolicies.create("node:lru", 4096, 0, 2).name()).isEqualTo("node:lru");
    }
}
