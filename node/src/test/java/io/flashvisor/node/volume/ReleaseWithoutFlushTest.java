package io.flashvisor.node.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.flashvisor.cache.engine.FlashCache;
import io.flashvisor.replication.protocol.Replicate;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replicas are released by whole flush epochs, and a replicated volume closes an epoch by itself
 * (about once a second) so that a client that never FLUSHes does not keep one epoch open forever:
 * without that, a holder would keep every write since the owner was last fully clean. Here the
 * volume is never clean (one block's destage always fails), no client FLUSH is ever sent, and the
 * holder must still release the writes that are on the backing store.
 */
class ReleaseWithoutFlushTest {
    static final int SIZE = 8 << 20;
    static final long A = 100; // 32 blocks written first, destaged later
    static final int A_BLOCKS = 32;
    static final long PROBE = 10; // rewritten until the holder sees a later flush epoch
    static final long STUCK = 20; // written in the later epoch; its destage always fails

    @TempDir
    Path dir;

    /** The highest flush epoch of any replica the holder received. */
    final AtomicLong highestEpoch = new AtomicLong(-1);
    OwnerAndHolder pair;

    @BeforeEach
    void holder() throws Exception {
        pair = new OwnerAndHolder(dir, m -> highestEpoch.accumulateAndGet(m.flushEpoch(), Math::max));
    }

    @AfterEach
    void close() throws Exception {
        pair.close();
    }

    static ByteBuffer blocks(int count, int value) {
        ByteBuffer b = ByteBuffer.allocate(count * 4096);
        for (int i = 0; i < b.capacity(); i += 4) {
            b.putInt(i, value);
        }
        return b;
    }

    long held(long first, int count) {
        long volume = FlashCache.volumeId("vol");
        return LongStream.range(first, first + count)
                .filter(b -> pair.sink.block(ReplicatedWriteBackTest.OWNER, volume, b) != null).count();
    }

    @Test
    void destagedWritesAreReleasedThoughNoClientFlushesAndTheVolumeIsNeverClean() throws Exception {
        MemoryBacking backing = new MemoryBacking(SIZE);
        backing.failDestageWrites(true); // nothing reaches the backing store yet: the volume stays dirty from the first write
        try (CachedVolume v = pair.owner(backing, () -> true)) {
            v.write(A * 4096, blocks(A_BLOCKS, 1), false);
            long epochOfA = highestEpoch.get();
            assertThat(held(A, A_BLOCKS)).as("A is replicated").isEqualTo(A_BLOCKS);

            // Keep writing (never a FLUSH) until a write lands in a later epoch than A's; give up after a while.
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            for (int i = 2; highestEpoch.get() <= epochOfA && System.nanoTime() < deadline; i++) {
                v.write(PROBE * 4096, blocks(1, i), false);
                Thread.sleep(50);
            }
            // A block that will never be destaged: from here on the volume is never clean.
            backing.failDestageWritesAt(STUCK * 4096);
            v.write(STUCK * 4096, blocks(1, 7), false);
            backing.failDestageWrites(false);

            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(held(A, A_BLOCKS))
                    .as("A's replicas released on the holder although no client FLUSH came and the volume is never clean")
                    .isZero());
            assertThat(v.awaitClean(Duration.ofMillis(200))).as("the volume is still not clean").isFalse();
            assertThat(held(STUCK, 1)).as("the replica of the block not yet destaged is kept").isEqualTo(1);
            assertThat(held(PROBE, 1)).as("the newest version of the probe block (later epoch) is kept").isEqualTo(1);
        }
    }
}
