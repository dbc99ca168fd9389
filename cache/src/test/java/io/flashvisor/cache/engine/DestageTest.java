package io.flashvisor.cache.engine;

import static io.flashvisor.cache.engine.TestBlocks.BLOCK;
import static io.flashvisor.cache.engine.TestBlocks.data;
import static io.flashvisor.cache.engine.TestBlocks.deviceSize;
import static io.flashvisor.cache.engine.TestBlocks.read;
import static io.flashvisor.cache.engine.TestBlocks.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The destager's hand-off: batches by flush epoch, block order, newest version per epoch, settling. */
class DestageTest {
    private MemoryFlashChannel device;
    private FlashCache cache;
    private VolumeCache v;

    @BeforeEach
    void open() throws Exception {
        device = new MemoryFlashChannel(deviceSize(16));
        cache = FlashCache.format(device, smallConfig(false), false);
        v = cache.attach("vm-1");
    }

    @AfterEach
    void close() throws Exception {
        cache.close();
    }

    private void write(long block, long version, int count, boolean dirty, long epoch) throws Exception {
        v.insert(block, data(v.volumeId(), block, version, count), dirty, epoch).get();
    }

    @Test
    void batchesComeFromTheOldestEpochInBlockOrderAsRunsAndTheNextEpochWaits() throws Exception {
        write(10, 1, 2, true, 1);
        write(3, 1, 1, true, 1);
        write(4, 1, 1, true, 1);
        write(5, 1, 1, true, 2);
        assertThat(v.oldestDirtyEpoch()).isEqualTo(1);
        DestageBatch b = v.nextDestageBatch(100);
        assertThat(b.flushEpoch()).isEqualTo(1);
        assertThat(b.blockCount()).isEqualTo(4);
        assertThat(b.runCount()).isEqualTo(2);
        assertThat(b.runFirstBlock(0)).isEqualTo(3);
        assertThat(b.runLength(0)).isEqualTo(2);
        assertThat(b.runFirstBlock(1)).isEqualTo(10);
        assertThat(b.runLength(1)).isEqualTo(2);
        assertThat(v.nextDestageBatch(100).isEmpty()).as("epoch 2 waits until epoch 1 is destaged").isTrue();
        ByteBuffer run = ByteBuffer.allocate(2 * BLOCK);
        v.readDestageRun(b, 1, run);
        assertThat(TestBlocks.versionOf(run.slice(BLOCK, BLOCK), v.volumeId(), 11)).isEqualTo(1);
        v.destaged(b);
        assertThat(v.oldestDirtyEpoch()).isEqualTo(2);
        assertThat(v.dirtyBlocks()).isEqualTo(1);
        DestageBatch next = v.nextDestageBatch(100);
        assertThat(next.flushEpoch()).isEqualTo(2);
        assertThat(next.block(0)).isEqualTo(5);
        v.destaged(next);
        assertThat(v.dirtyBlocks()).isZero();
        assertThat(v.oldestDirtyEpoch()).isEqualTo(VolumeCache.NO_EPOCH);
        assertThat(read(v, 10)).as("destaged blocks stay cached, clean").isEqualTo(1);
        cache.checkInvariants();
    }

    @Test
    void onlyTheNewestVersionWithinAnEpochIsDestaged() throws Exception {
        write(0, 1, 1, true, 7);
        write(0, 2, 1, true, 7);
        DestageBatch b = v.nextDestageBatch(10);
        assertThat(b.blockCount()).isEqualTo(1);
        ByteBuffer run = ByteBuffer.allocate(BLOCK);
        v.readDestageRun(b, 0, run);
        assertThat(TestBlocks.versionOf(run.flip(), v.volumeId(), 0)).isEqualTo(2);
        v.destaged(b);
        assertThat(v.dirtyBlocks()).isZero();
    }

    @Test
    void aBlockRewrittenInALaterEpochKeepsItsOlderVersionForItsOwnEpoch() throws Exception {
        write(0, 1, 1, true, 1);
        write(0, 2, 1, true, 2);
        assertThat(v.dirtyBlocks()).isEqualTo(2);
        assertThat(read(v, 0)).isEqualTo(2);
        TestDestager d = new TestDestager();
        d.step(v, 10);
        assertThat(d.backing).containsEntry(0L, 1L);
        assertThat(v.dirtyBlocks()).isEqualTo(1);
        cache.checkInvariants();
        d.step(v, 10);
        assertThat(d.backing).containsEntry(0L, 2L);
        assertThat(v.dirtyBlocks()).isZero();
        cache.checkInvariants();
    }

    @Test
    void aBlockRewrittenWhileItIsDestagedStaysDirty() throws Exception {
        write(0, 1, 1, true, 1);
        DestageBatch b = v.nextDestageBatch(10);
        write(0, 2, 1, true, 1);
        v.destaged(b);
        assertThat(v.dirtyBlocks()).isEqualTo(1);
        TestDestager d = new TestDestager();
        d.drain(v);
        assertThat(d.backing).containsEntry(0L, 2L);
        cache.checkInvariants();
    }

    @Test
    void aReleasedBatchIsHandedOutAgainAndABatchSettlesOnce() throws Exception {
        write(0, 1, 4, true, 1);
        DestageBatch b = v.nextDestageBatch(10);
        assertThat(v.nextDestageBatch(10).isEmpty()).isTrue();
        v.releaseDestage(b);
        assertThatThrownBy(() -> v.destaged(b)).isInstanceOf(IllegalStateException.class);
        DestageBatch again = v.nextDestageBatch(10);
        assertThat(again.blockCount()).isEqualTo(4);
        v.destaged(again);
        assertThat(v.dirtyBlocks()).isZero();
    }

    @Test
    void maxBlocksSplitsAnEpochIntoSeveralBatches() throws Exception {
        write(0, 1, 10, true, 1);
        DestageBatch a = v.nextDestageBatch(4);
        DestageBatch b = v.nextDestageBatch(4);
        DestageBatch c = v.nextDestageBatch(4);
        assertThat(a.blockCount() + b.blockCount() + c.blockCount()).isEqualTo(10);
        assertThat(a.block(0)).isEqualTo(0);
        assertThat(b.block(0)).isEqualTo(4);
        assertThat(c.block(0)).isEqualTo(8);
        assertThat(v.nextDestageBatch(4).isEmpty()).isTrue();
        v.destaged(b);
        v.destaged(a);
        v.destaged(c);
        assertThat(v.dirtyBlocks()).isZero();
    }

    @Test
    void aCleanInsertOrAnInvalidateDropsDirtyVersions() throws Exception {
        write(0, 1, 2, true, 1);
        write(0, 2, 1, false, 1); // the caller wrote it through: it is on the backing store
        assertThat(v.dirtyBlocks()).isEqualTo(1);
        v.invalidate(1, 1).get();
        assertThat(v.dirtyBlocks()).isZero();
        assertThat(v.nextDestageBatch(10).isEmpty()).isTrue();
        cache.checkInvariants();
    }

    @Test
    void destagedBlocksAreCleanAfterARestart() throws Exception {
        write(0, 1, 8, true, 1);
        new TestDestager().drain(v);
        cache.awaitMarkers();
        cache.close();
        cache = FlashCache.open(new MemoryFlashChannel(device.image()), smallConfig(false));
        v = cache.attach("vm-1");
        assertThat(v.dirtyBlocks()).isZero();
        assertThat(read(v, 7)).isEqualTo(1);
        cache.checkInvariants();
    }
}
