package io.flashvisor.cache.engine;

import static io.flashvisor.cache.engine.TestBlocks.data;
import static io.flashvisor.cache.engine.TestBlocks.deviceSize;
import static io.flashvisor.cache.engine.TestBlocks.smallConfig;
import static io.flashvisor.cache.engine.TestBlocks.versionOf;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Peers' replicas in the flash log: newest version by the origin's sequence, releases as
 * thresholds, the same state after recovery (also from crash images), and segments with live
 * replicas held by the cleaner while local data churns around them (a planted bug — the cleaner
 * not holding them — fails {@link #theCleanerHoldsSegmentsWithLiveReplicas}).
 */
class ReplicaStoreTest {
    static final long ORIGIN = 7;
    static final long VOLUME = 0x1234;

    @Test
    void newestVersionByOriginSequenceAndReleaseIsAThreshold() throws Exception {
        try (FlashCache cache = FlashCache.format(new MemoryFlashChannel(deviceSize(16)), smallConfig(false), false)) {
            ReplicaStore r = cache.replicas();
            r.append(ORIGIN, VOLUME, 3, 10, 5, data(VOLUME, 5, 20, 2), 20).get(); // blocks 5,6 at origin sequence 20
            r.append(ORIGIN, VOLUME, 3, 10, 6, data(VOLUME, 6, 15, 1), 15).get(); // older, arrived later: ignored
            r.append(ORIGIN, VOLUME, 3, 11, 6, data(VOLUME, 6, 30, 1), 30).get(); // newer
            assertThat(versions(r)).containsExactly("5@20", "6@30");
            assertThat(read(r, 6)).isEqualTo(30);
            r.release(ORIGIN, VOLUME, 20).get();
            assertThat(versions(r)).containsExactly("6@30");
            r.append(ORIGIN, VOLUME, 3, 10, 9, data(VOLUME, 9, 19, 1), 19).get(); // at or below the release: ignored
            assertThat(versions(r)).containsExactly("6@30");
            assertThat(r.versions(ORIGIN + 1, VOLUME)).isEmpty();
        }
    }

    @Test
    void recoveryRebuildsTheSameReplicasEvenFromCrashImages() throws Exception {
        MemoryFlashChannel channel = new MemoryFlashChannel(deviceSize(16));
        try (FlashCache cache = FlashCache.format(channel, smallConfig(false), false)) {
            ReplicaStore r = cache.replicas();
            for (long s = 1; s <= 40; s++) {
                r.append(ORIGIN, VOLUME, 1, s / 10, s % 8, data(VOLUME, s % 8, s, 1), s).get();
                if (s == 25) {
                    r.release(ORIGIN, VOLUME, 20).get();
                }
            }
            assertThat(versions(r)).hasSize(8);
        }
        byte[] durable = channel.image();
        try (FlashCache reopened = FlashCache.open(new MemoryFlashChannel(durable), smallConfig(false))) {
            List<String> v = versions(reopened.replicas());
            assertThat(v).containsExactly("0@40", "1@33", "2@34", "3@35", "4@36", "5@37", "6@38", "7@39");
            assertThat(read(reopened.replicas(), 0)).isEqualTo(40);
        }
        // A crash image keeps every acknowledged replica; whatever else survives is at most newer.
        SplittableRandom random = new SplittableRandom(1);
        for (int i = 0; i < 20; i++) {
            try (FlashCache crashed = FlashCache.open(new MemoryFlashChannel(channel.crashImage(random)), smallConfig(false))) {
                assertThat(versions(crashed.replicas())).containsExactly("0@40", "1@33", "2@34", "3@35", "4@36", "5@37", "6@38", "7@39");
            }
        }
    }

    @Test
    void theCleanerHoldsSegmentsWithLiveReplicas() throws Exception {
        // clock: local data shares the main stream with the replicas, so their segments come up as victims.
        try (FlashCache cache = FlashCache.format(new MemoryFlashChannel(deviceSize(16)), smallConfig(false).withEvictionPolicy("clock"), false)) {
            ReplicaStore r = cache.replicas();
            for (long b = 0; b < 32; b++) {
                r.append(ORIGIN, VOLUME, 1, 1, b, data(VOLUME, b, 100 + b, 1), 100 + b).get();
            }
            VolumeCache v = cache.attach("local");
            // Churn local clean data through the device many times over: the cleaner must reclaim around the replicas.
            for (int round = 0; round < 12; round++) {
                for (long b = 0; b < 256; b++) {
                    TestBlocks.clean(cache);
                    v.insert(b, data(v.volumeId(), b, round, 1), false, 0).get();
                }
            }
            assertThat(cache.stats().cleanerRounds()).isGreaterThan(20);
            assertThat(versions(r)).hasSize(32);
            for (long b = 0; b < 32; b++) {
                assertThat(read(r, b)).as("replica of block %d still readable", b).isEqualTo(100 + b);
            }
            r.release(ORIGIN, VOLUME, Long.MAX_VALUE).get();
            assertThat(r.liveBlocks()).isZero();
            assertThat(r.versions(ORIGIN, VOLUME)).isEmpty();
        }
    }

    private static List<String> versions(ReplicaStore r) {
        return r.versions(ORIGIN, VOLUME).stream().map(v -> v.block() + "@" + v.originSequence()).toList();
    }

    private static long read(ReplicaStore r, long block) throws Exception {
        ReplicaStore.Version v = r.versions(ORIGIN, VOLUME).stream().filter(x -> x.block() == block).findFirst().orElseThrow();
        ByteBuffer dst = ByteBuffer.allocate(4096);
        r.read(v.location(), dst);
        return versionOf(dst.flip(), VOLUME, block);
    }
}
