package io.flashvisor.replication.store;

import static org.assertj.core.api.Assertions.assertThat;

import io.flashvisor.cache.engine.CacheConfig;
import io.flashvisor.cache.engine.FlashCache;
import io.flashvisor.cache.engine.ReplicaStore;
import io.flashvisor.cache.log.FileFlashChannel;
import io.flashvisor.common.Failpoints;
import io.flashvisor.replication.protocol.Replicate;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The planted bug {@link Failpoints#REPLICA_ACK_BEFORE_DURABLE}: switched on, a REPLICATE is
 * acknowledged and not stored (what the multi-host integration test's negative control relies
 * on); switched off — every normal run — the same REPLICATE is stored before its ACK, and this
 * JVM runs with no failpoint, so the production constructor stores.
 */
class FlashReplicaSinkFailpointTest {
    static final long ORIGIN = 1;
    static final long VOLUME = 0x78;

    @TempDir
    Path dir;

    @Test
    void offInNormalRuns() throws Exception {
        assertThat(Failpoints.active(Failpoints.REPLICA_ACK_BEFORE_DURABLE)).as("no failpoint in the unit tests' JVM").isFalse();
        try (FlashCache cache = open()) {
            new FlashReplicaSink(cache.replicas()).replicate(2, write(3, 7)).get();
            assertThat(blocks(cache.replicas())).as("the production constructor stores the replica").containsExactly(3L);
        }
    }

    @Test
    void onItAcknowledgesWithoutStoring() throws Exception {
        try (FlashCache cache = open()) {
            FlashReplicaSink planted = new FlashReplicaSink(cache.replicas(), true);
            planted.replicate(2, write(3, 7)).get(); // acknowledged...
            assertThat(blocks(cache.replicas())).as("...and nothing stored").isEmpty();
            assertThat(cache.replicas().liveBlocks()).isZero();

            new FlashReplicaSink(cache.replicas(), false).replicate(2, write(4, 8)).get();
            assertThat(blocks(cache.replicas())).as("the same sink with the failpoint off stores").containsExactly(4L);
        }
    }

    private FlashCache open() throws Exception {
        Path flash = dir.resolve("flash");
        try (RandomAccessFile f = new RandomAccessFile(flash.toFile(), "rw")) {
            f.setLength(64L << 20);
        }
        return FlashCache.open(FileFlashChannel.open(flash, false), CacheConfig.defaults().withFormatIfBlank(true));
    }

    private static java.util.List<Long> blocks(ReplicaStore store) {
        return store.versions(ORIGIN, VOLUME).stream().map(ReplicaStore.Version::block).toList();
    }

    private static Replicate write(long block, long sequence) {
        ByteBuffer data = ByteBuffer.allocate(4096);
        while (data.hasRemaining()) {
            data.putLong(sequence);
        }
        return new Replicate(ORIGIN, VOLUME, 5, 1, block, 1, sequence, data.flip());
    }
}
