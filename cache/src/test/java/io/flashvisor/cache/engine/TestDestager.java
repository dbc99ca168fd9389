package io.flashvisor.cache.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;

/**
 * The simplest destager: takes batches, "writes" them to an in-memory backing store (block →
 * version), checks that epochs never go backwards and that a batch only comes from the oldest
 * epoch, and reports them destaged. Not thread-safe.
 */
final class TestDestager {
    final Map<Long, Long> backing = new HashMap<>();
    private final boolean monotonic;
    private long lastEpoch = -1;
    long batches;

    TestDestager() {
        this(true);
    }

    /**
     * @param monotonic check that epochs never go back: true when writes are issued one after the
     *                  other; with concurrent writers a write racing a flush may land in an epoch
     *                  the destager has finished, which then is the oldest again
     */
    TestDestager(boolean monotonic) {
        this.monotonic = monotonic;
    }

    /** One batch; returns it (already settled) or null if there was nothing to hand out. */
    DestageBatch step(VolumeCache v, int maxBlocks) throws Exception {
        long oldest = v.oldestDirtyEpoch();
        DestageBatch batch = v.nextDestageBatch(maxBlocks);
        if (batch.isEmpty()) {
            return null;
        }
        // With concurrent writers a write can arrive between the two calls above. If nothing was
        // dirty then, the batch holds only such late writes and there was no oldest epoch to compare.
        if (oldest != VolumeCache.NO_EPOCH) {
            assertThat(batch.flushEpoch()).as("a batch comes from the oldest dirty epoch").isEqualTo(oldest);
        }
        if (monotonic && lastEpoch != -1) {
            assertThat(Long.compareUnsigned(batch.flushEpoch(), lastEpoch)).as("epochs never go back").isGreaterThanOrEqualTo(0);
        }
        lastEpoch = batch.flushEpoch();
        for (int run = 0; run < batch.runCount(); run++) {
            ByteBuffer data = ByteBuffer.allocate(batch.runLength(run) * TestBlocks.BLOCK);
            v.readDestageRun(batch, run, data);
            assertThat(data.remaining()).isZero();
            for (int i = 0; i < batch.runLength(run); i++) {
                long block = batch.runFirstBlock(run) + i;
                assertThat(batch.block(batch.runStart(run) + i)).isEqualTo(block);
                ByteBuffer one = data.slice(i * TestBlocks.BLOCK, TestBlocks.BLOCK);
                backing.put(block, TestBlocks.versionOf(one, v.volumeId(), block));
            }
        }
        v.destaged(batch);
        batches++;
        return batch;
    }

    /** Destages until nothing is dirty. */
    void drain(VolumeCache v) throws Exception {
        for (int i = 0; i < 1_000_000 && v.dirtyBlocks() > 0; i++) {
            assertThat(step(v, 16)).as("a batch while %d blocks are dirty", v.dirtyBlocks()).isNotNull();
        }
        assertThat(v.dirtyBlocks()).isZero();
    }

    /** A restart: epochs start over from what the cache says (an old epoch may be destaged again). */
    void restarted() {
        lastEpoch = -1;
    }
}
