package io.flashvisor.cache.engine;

import static io.flashvisor.cache.engine.TestBlocks.BLOCK;
import static io.flashvisor.cache.engine.TestBlocks.data;
import static io.flashvisor.cache.engine.TestBlocks.deviceSize;
import static io.flashvisor.cache.engine.TestBlocks.read;
import static io.flashvisor.cache.engine.TestBlocks.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flashvisor.common.BlockError;
import io.flashvisor.common.VolumeException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/** The engine's API on a small in-memory device: open/format rules, attach, insert, lookup, read, invalidate. */
class FlashCacheTest {

    @Test
    void formatsABlankDeviceOnlyWhenTold() throws Exception {
        MemoryFlashChannel device = new MemoryFlashChannel(deviceSize(12));
        assertThatThrownBy(() -> FlashCache.open(device, smallConfig(false)))
                .isInstanceOfSatisfying(VolumeException.class, e -> assertThat(e.error()).isEqualTo(BlockError.INVALID))
                .hasMessageContaining("never formatted implicitly");
        try (FlashCache cache = FlashCache.open(device, smallConfig(false).withFormatIfBlank(true))) {
            VolumeCache v = cache.attach("vm-1");
            v.insert(3, data(v.volumeId(), 3, 1, 1), false, 0).get();
            assertThat(read(v, 3)).isEqualTo(1);
        }
    }

    @Test
    void neverFormatsAForeignDevice() throws Exception {
        MemoryFlashChannel device = new MemoryFlashChannel(deviceSize(12));
        byte[] foreign = "XFSB some other file system".getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(foreign, 0, device.array(), 0, foreign.length);
        byte[] before = device.image();
        assertThatThrownBy(() -> FlashCache.open(device, smallConfig(false).withFormatIfBlank(true)))
                .isInstanceOfSatisfying(VolumeException.class, e -> assertThat(e.error()).isEqualTo(BlockError.INVALID));
        assertThat(Arrays.equals(device.image(), before)).as("device untouched").isTrue();
    }

    @Test
    void neverFormatsADeviceOfAnotherFormatVersion() throws Exception {
        MemoryFlashChannel device = new MemoryFlashChannel(deviceSize(12));
        FlashCache.format(device, smallConfig(false), false).close();
        byte[] image = device.image();
        for (int copy = 0; copy < 2; copy++) {
            ByteBuffer.wrap(image).putInt(copy * BLOCK + 8, 2); // format version 2
        }
        MemoryFlashChannel other = new MemoryFlashChannel(image);
        assertThatThrownBy(() -> FlashCache.open(other, smallConfig(false).withFormatIfBlank(true)))
                .isInstanceOfSatisfying(VolumeException.class, e -> assertThat(e.error()).isEqualTo(BlockError.INVALID))
                .hasMessageContaining("version");
        assertThat(Arrays.equals(other.image(), image)).as("device untouched").isTrue();
    }

    @Test
    void explicitFormatRefusesAnExistingCacheUnlessToldToOverwrite() throws Exception {
        MemoryFlashChannel device = new MemoryFlashChannel(deviceSize(12));
        FlashCache.format(device, smallConfig(false), false).close();
        MemoryFlashChannel again = new MemoryFlashChannel(device.image());
        assertThatThrownBy(() -> FlashCache.format(again, smallConfig(false), false))
                .isInstanceOfSatisfying(VolumeException.class, e -> assertThat(e.error()).isEqualTo(BlockError.INVALID))
                .hasMessageContaining("overwrite");
        FlashCache.format(again, smallConfig(false), true).close();
    }

    @Test
    void volumeIdIsTheFirstEightBytesOfSha256OfTheName() throws Exception {
        byte[] hash = MessageDigest.getInstance("SHA-256").digest("disk-α".getBytes(StandardCharsets.UTF_8));
        assertThat(FlashCache.volumeId("disk-α")).isEqualTo(ByteBuffer.wrap(hash).getLong());
    }

    @Test
    void insertLookupReadAndCountHitsAndMisses() throws Exception {
        try (FlashCache cache = FlashCache.format(new MemoryFlashChannel(deviceSize(12)), smallConfig(false), false)) {
            VolumeCache v = cache.attach("vm-1");
            assertThat(cache.attach("vm-1")).isSameAs(v);
            v.insert(10, data(v.volumeId(), 10, 7, 3), false, 0).get();
            assertThat(read(v, 10)).isEqualTo(7);
            assertThat(read(v, 12)).isEqualTo(7);
            assertThat(read(v, 13)).isEqualTo(-1);
            int location = v.lookup(11);
            ByteBuffer dst = ByteBuffer.allocate(BLOCK);
            v.readBlock(location, dst);
            assertThat(TestBlocks.versionOf(dst.flip(), v.volumeId(), 11)).isEqualTo(7);
            VolumeStats s = v.stats();
            assertThat(s.hits()).isEqualTo(3);
            assertThat(s.misses()).isEqualTo(1);
            assertThat(s.cachedBlocks()).isEqualTo(3);
            assertThat(s.dirtyBlocks()).isZero();
            cache.checkInvariants();
        }
    }

    @Test
    void aWriteLargerThanOneAppendIsSplitAndAllOfItLands() throws Exception {
        try (FlashCache cache = FlashCache.format(new MemoryFlashChannel(deviceSize(12)), smallConfig(false), false)) {
            VolumeCache v = cache.attach("vm-1");
            v.insert(100, data(v.volumeId(), 100, 1, 30), true, 5).get(); // 8 blocks per append
            for (long b = 100; b < 130; b++) {
                assertThat(read(v, b)).isEqualTo(1);
            }
            assertThat(v.dirtyBlocks()).isEqualTo(30);
            assertThat(v.dirtyBytes()).isEqualTo(30L * BLOCK);
            assertThat(v.oldestDirtyEpoch()).isEqualTo(5);
            cache.checkInvariants();
        }
    }

    @Test
    void aRewriteReplacesTheOlderVersionAndInvalidateRemovesBlocks() throws Exception {
        try (FlashCache cache = FlashCache.format(new MemoryFlashChannel(deviceSize(12)), smallConfig(false), false)) {
            VolumeCache v = cache.attach("vm-1");
            v.insert(0, data(v.volumeId(), 0, 1, 8), false, 0).get();
            v.insert(2, data(v.volumeId(), 2, 2, 2), true, 1).get();
            assertThat(read(v, 1)).isEqualTo(1);
            assertThat(read(v, 2)).isEqualTo(2);
            assertThat(read(v, 3)).isEqualTo(2);
            v.invalidate(1, 3).get();
            assertThat(read(v, 0)).isEqualTo(1);
            assertThat(read(v, 1)).isEqualTo(-1);
            assertThat(read(v, 3)).isEqualTo(-1);
            assertThat(read(v, 4)).isEqualTo(1);
            assertThat(v.dirtyBlocks()).as("dirty versions of invalidated blocks are dropped").isZero();
            cache.checkInvariants();
        }
    }

    @Test
    void volumesAreSeparate() throws Exception {
        try (FlashCache cache = FlashCache.format(new MemoryFlashChannel(deviceSize(12)), smallConfig(false), false)) {
            VolumeCache a = cache.attach("a");
            VolumeCache b = cache.attach("b");
            a.insert(5, data(a.volumeId(), 5, 1, 1), false, 0).get();
            assertThat(read(b, 5)).isEqualTo(-1);
            b.insert(5, data(b.volumeId(), 5, 9, 1), false, 0).get();
            assertThat(read(a, 5)).isEqualTo(1);
            assertThat(read(b, 5)).isEqualTo(9);
        }
    }

    @Test
    void readBlockOfALocationNoLookupHandedOutIsRefused() throws Exception {
        try (FlashCache cache = FlashCache.format(new MemoryFlashChannel(deviceSize(12)), smallConfig(false), false)) {
            VolumeCache v = cache.attach("vm-1");
            v.insert(0, data(v.volumeId(), 0, 1, 1), false, 0).get();
            int location = v.lookup(0);
            v.release(location);
            assertThatThrownBy(() -> v.readBlock(location, ByteBuffer.allocate(BLOCK)))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("not pinned");
        }
    }

    @Test
    void aDirtyWriteOfAnOlderEpochJoinsItsBlocksNewestEpoch() throws Exception {
        try (FlashCache cache = FlashCache.format(new MemoryFlashChannel(deviceSize(12)), smallConfig(false), false)) {
            VolumeCache v = cache.attach("vm-1");
            v.insert(0, data(v.volumeId(), 0, 1, 1), true, 4).get();
            v.insert(0, data(v.volumeId(), 0, 2, 1), true, 3).get(); // raced a FLUSH: counts into epoch 4
            v.insert(1, data(v.volumeId(), 1, 1, 1), true, 3).get(); // another block: epoch 3 is fine
            assertThat(v.highestFlushEpoch()).isEqualTo(4);
            assertThat(v.dirtyBlocks()).isEqualTo(2);
            TestDestager d = new TestDestager();
            d.step(v, 10);
            assertThat(d.backing).containsOnlyKeys(1L);
            d.step(v, 10);
            assertThat(d.backing).containsEntry(0L, 2L);
            cache.checkInvariants();
        }
    }

    @Test
    void closeIsIdempotentAndLaterCallsFailWithShutdown() throws Exception {
        FlashCache cache = FlashCache.format(new MemoryFlashChannel(deviceSize(12)), smallConfig(true), false);
        VolumeCache v = cache.attach("vm-1");
        assertThat(cache.cleaner().isRunning()).isTrue();
        cache.close();
        cache.close();
        assertThatThrownBy(() -> v.lookup(0))
                .isInstanceOfSatisfying(VolumeException.class, e -> assertThat(e.error()).isEqualTo(BlockError.SHUTDOWN));
        assertThatThrownBy(() -> v.insert(0, data(v.volumeId(), 0, 1, 1), false, 0).get())
                .isInstanceOf(ExecutionException.class).cause()
                .isInstanceOfSatisfying(VolumeException.class, e -> assertThat(e.error()).isEqualTo(BlockError.SHUTDOWN));
        assertThat(cache.cleaner().isRunning()).as("cleaner thread stopped").isFalse();
    }
}
