package io.flashvisor.cache.engine;

import static org.assertj.core.api.Assertions.assertThat;

import io.flashvisor.cache.log.Durability;
import io.flashvisor.cache.log.LogConfig;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.SplittableRandom;

/**
 * Block data that names itself: every 4 KiB block starts with (volume id, block, version) and is
 * filled from a seed of the three, so a read shows exactly which write it returned. Also the small
 * configurations the engine tests use.
 */
final class TestBlocks {
    static final int BLOCK = 4096;
    static final int SEGMENT = 256 << 10;
    static final int BLOCKS_PER_SEGMENT = SEGMENT / BLOCK;

    private TestBlocks() {
    }

    /** {@code count} blocks from {@code first}, all of {@code version}. */
    static ByteBuffer data(long volumeId, long first, long version, int count) {
        ByteBuffer b = ByteBuffer.allocate(count * BLOCK);
        for (int i = 0; i < count; i++) {
            fill(b, i * BLOCK, volumeId, first + i, version);
        }
        return b;
    }

    private static void fill(ByteBuffer b, int at, long volumeId, long block, long version) {
        b.putLong(at, volumeId).putLong(at + 8, block).putLong(at + 16, version);
        SplittableRandom r = new SplittableRandom(volumeId * 31 + block * 0x9E3779B97F4A7C15L + version);
        for (int i = 24; i < BLOCK; i += 8) {
            b.putLong(at + i, r.nextLong());
        }
    }

    /** The version a block read back holds, after checking that it is whole and of {@code volumeId}/{@code block}. */
    static long versionOf(ByteBuffer block, long volumeId, long blockNumber) {
        assertThat(block.getLong(0)).as("volume id in block %d", blockNumber).isEqualTo(volumeId);
        assertThat(block.getLong(8)).as("block number in block %d", blockNumber).isEqualTo(blockNumber);
        long version = block.getLong(16);
        ByteBuffer expected = data(volumeId, blockNumber, version, 1);
        assertThat(block.duplicate().clear()).as("bytes of block %d version %d", blockNumber, version).isEqualTo(expected);
        return version;
    }

    /** Reads {@code block} through the volume: its version, or -1 on a miss. */
    static long read(VolumeCache v, long block) throws Exception {
        ByteBuffer dst = ByteBuffer.allocate(BLOCK);
        if (!v.read(block, dst)) {
            return -1;
        }
        return versionOf(dst.flip(), v.volumeId(), block);
    }

    /**
     * 256 KiB segments and 32 KiB batches (8 blocks per append), two streams and a reserve of two,
     * so that small devices cross segments constantly.
     */
    static LogConfig smallLog() {
        return LogConfig.defaults().withSegmentSize(SEGMENT).withMaxBatchBytes(32 << 10).withReservedSegments(2)
                .withStreams(2).withFreeSegmentWait(Duration.ofSeconds(5)).withDurability(Durability.DATA);
    }

    static CacheConfig smallConfig(boolean backgroundCleaner) {
        return CacheConfig.defaults().withLog(smallLog()).withBackgroundCleaner(backgroundCleaner);
    }

    static int deviceSize(int segments) {
        return (1 << 20) + segments * SEGMENT;
    }

    /** Runs the cleaner (when it is not a thread) until the free segments are at the high watermark or it is stuck. */
    static void clean(FlashCache cache) throws Exception {
        Cleaner c = cache.cleaner();
        for (int i = 0; i < 10_000 && c.step(); i++) {
            // one victim per step
        }
    }
}
