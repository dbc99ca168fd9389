package io.flashvisor.cache.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class EvictionPolicyTest {

    @Test
    void s3fifoPromotesBlocksAccessedInProbationAndEvictsOneHitWonders() {
        S3FifoPolicy p = new S3FifoPolicy(1000);
        byte fresh = p.admitted(1);
        assertThat(BlockState.queue(fresh)).isEqualTo(Queue.SMALL);
        assertThat(p.reclaimed(1, fresh)).isEqualTo(EvictionPolicy.EVICT);

        byte hit = p.accessed(fresh);
        int moved = p.reclaimed(1, hit);
        assertThat(BlockState.queue((byte) moved)).isEqualTo(Queue.MAIN);
        assertThat(BlockState.freq((byte) moved)).isZero();
    }

    @Test
    void s3fifoSendsBlocksTheGhostRemembersStraightToMain() {
        S3FifoPolicy p = new S3FifoPolicy(1000);
        p.forgotten(42);
        assertThat(BlockState.queue(p.admitted(42))).isEqualTo(Queue.MAIN);
        assertThat(BlockState.queue(p.admitted(43))).isEqualTo(Queue.SMALL);
    }

    @Test
    void mainQueueGivesAccessedBlocksAnotherRoundWithOneCountLess() {
        S3FifoPolicy p = new S3FifoPolicy(1000);
        byte s = BlockState.withFreq(BlockState.of(Queue.MAIN), 3);
        int once = p.reclaimed(7, s);
        assertThat(BlockState.freq((byte) once)).isEqualTo(2);
        assertThat(p.reclaimed(7, BlockState.of(Queue.MAIN))).isEqualTo(EvictionPolicy.EVICT);
    }

    @Test
    void frequencySaturatesAndLeavesDirtyAndQueueAlone() {
        EvictionPolicy p = new ClockPolicy();
        byte s = BlockState.withDirty(BlockState.of(Queue.MAIN), true);
        for (int i = 0; i < 10; i++) {
            s = p.accessed(s);
        }
        assertThat(BlockState.freq(s)).isEqualTo(BlockState.MAX_FREQ);
        assertThat(BlockState.isDirty(s)).isTrue();
        assertThat(BlockState.queue(s)).isEqualTo(Queue.MAIN);
    }

    /** A hot set that fits, interrupted by long scans: S3-FIFO and CLOCK keep the hot set, FIFO loses it. */
    @Test
    void scansDoNotWashOutTheHotSet() {
        double fifo = hotSetWithScans(new FifoPolicy());
        double clock = hotSetWithScans(new ClockPolicy());
        double s3 = hotSetWithScans(new S3FifoPolicy(1000));
        assertThat(s3).isGreaterThan(fifo + 0.2);
        assertThat(s3).isGreaterThanOrEqualTo(clock);
    }

    private static double hotSetWithScans(EvictionPolicy policy) {
        PolicyModel m = new PolicyModel(policy, 1000);
        SplittableRandom r = new SplittableRandom(1);
        long scan = 1_000_000;
        for (int round = 0; round < 200; round++) {
            for (int i = 0; i < 2000; i++) {
                m.access(r.nextInt(600));
            }
            for (int i = 0; i < 1500; i++) {
                m.access(scan++);
            }
        }
        long hotHits = 0;
        for (int k = 0; k < 600; k++) {
            hotHits += m.contains(k) ? 1 : 0;
        }
        return hotHits / 600.0;
    }

    @Test
    void lruKeepsBlocksUsedSinceTheirLastAppendAndEvictsTheRest() {
        EvictionPolicy p = EvictionPolicies.create("lru", 1000);
        assertThat(p.name()).isEqualTo("lru");
        byte fresh = p.admitted(5);
        assertThat(BlockState.queue(fresh)).isEqualTo(Queue.MAIN);
        assertThat(p.reclaimed(5, fresh)).isEqualTo(EvictionPolicy.EVICT);
        byte used = p.accessed(p.accessed(fresh));
        int kept = p.reclaimed(5, BlockState.withDirty(used, true));
        assertThat(BlockState.freq((byte) kept)).isZero(); // promoted once; must be used again to stay again
        assertThat(BlockState.isDirty((byte) kept)).isTrue();
        assertThat(p.reclaimed(5, (byte) kept)).isEqualTo(EvictionPolicy.EVICT);
        assertThat(EvictionPolicies.NAMES).contains("lru");
    }

    /** Scans wash LRU out like FIFO: lru is recency, not frequency (that is what s3-fifo is for). */
    @Test
    void s3FifoResistsScansBetterThanLru() {
        double lru = hotSetWithScans(EvictionPolicies.create("lru", 1000));
        assertThat(hotSetWithScans(new S3FifoPolicy(1000))).isGreaterThanOrEqualTo(lru);
    }

    @Test
    void blockedGhostKeepsItsFalsePositivesLowAtScale() {
        GhostFilter g = new GhostFilter(200_000);
        for (long k = 0; k < 100_000; k++) {
            g.add(k * 7919);
        }
        int falsePositives = 0;
        for (long k = 0; k < 100_000; k++) {
            falsePositives += g.contains(-1 - k) ? 1 : 0;
        }
        assertThat(falsePositives).isLessThan(8_000); // an unblocked 6-bit, 4-hash filter has ~5.6 %
        for (long k = 0; k < 100_000; k++) {
            assertThat(g.contains(k * 7919)).isTrue();
        }
    }

    @Test
    void ghostRemembersRecentKeysAndForgetsOldOnes() {
        GhostFilter g = new GhostFilter(1000);
        for (long k = 0; k < 1000; k++) {
            g.add(k);
        }
        int remembered = 0;
        for (long k = 500; k < 1000; k++) {
            remembered += g.contains(k) ? 1 : 0;
        }
        assertThat(remembered).isEqualTo(500);
        for (long k = 1000; k < 2000; k++) {
            g.add(k);
        }
        int falsePositives = 0;
        for (long k = 0; k < 500; k++) {
            falsePositives += g.contains(k) ? 1 : 0;
        }
        assertThat(falsePositives).isLessThan(50);
        assertThat(g.bytesOfRam()).isLessThan(1000);
    }

    @Test
    void sequentialDetectorFindsInterleavedStreamsAndIgnoresRandomIo() {
        SequentialDetector d = new SequentialDetector(1 << 20);
        boolean any = false;
        SplittableRandom r = new SplittableRandom(3);
        for (int i = 0; i < 10_000; i++) {
            any |= d.isSequential(r.nextLong(1L << 40) & ~4095L, 4096);
        }
        assertThat(any).isFalse();
        long a = 0;
        long b = 1L << 30;
        int sequentialA = 0;
        for (int i = 0; i < 64; i++) {
            sequentialA += d.isSequential(a, 65536) ? 1 : 0;
            d.isSequential(b, 4096);
            a += 65536;
            b += 4096;
        }
        assertThat(sequentialA).isEqualTo(64 - 15); // from the 16th 64 KiB request on: 1 MiB reached
        assertThat(new SequentialDetector(0).isSequential(0, 1 << 30)).isFalse();
    }
}
