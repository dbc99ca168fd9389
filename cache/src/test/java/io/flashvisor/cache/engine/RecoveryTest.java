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
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Restarts: warm cache, dirty data and epochs, lost records, unattached volumes, determinism. */
class RecoveryTest {

    private static FlashCache reopen(MemoryFlashChannel device) throws Exception {
        return FlashCache.open(new MemoryFlashChannel(device.image()), smallConfig(false));
    }

    @Test
    void aWarmRestartKeepsCleanBlocksCached() throws Exception {
        MemoryFlashChannel device = new MemoryFlashChannel(deviceSize(16));
        try (FlashCache cache = FlashCache.format(device, smallConfig(false), false)) {
            VolumeCache v = cache.attach("vm-1");
            v.insert(0, data(v.volumeId(), 0, 1, 40), false, 0).get();
            v.insert(5, data(v.volumeId(), 5, 2, 1), false, 0).get();
        }
        try (FlashCache cache = reopen(device)) {
            VolumeCache v = cache.attach("vm-1");
            assertThat(v.stats().cachedBlocks()).isEqualTo(40);
            for (long b = 0; b < 40; b++) {
                assertThat(read(v, b)).isEqualTo(b == 5 ? 2 : 1);
            }
            assertThat(v.dirtyBlocks()).isZero();
            cache.checkInvariants();
        }
    }

    @Test
    void dirtyVersionsAndTheirEpochsSurviveARestart() throws Exception {
        MemoryFlashChannel device = new MemoryFlashChannel(deviceSize(16));
        try (FlashCache cache = FlashCache.format(device, smallConfig(false), false)) {
            VolumeCache v = cache.attach("vm-1");
            v.insert(0, data(v.volumeId(), 0, 1, 4), true, 1).get();
            v.insert(2, data(v.volumeId(), 2, 2, 4), true, 2).get();
        }
        try (FlashCache cache = reopen(device)) {
            VolumeCache v = cache.attach("vm-1");
            assertThat(v.dirtyBlocks()).isEqualTo(8);
            assertThat(v.highestFlushEpoch()).isEqualTo(2);
            assertThat(read(v, 2)).isEqualTo(2);
            TestDestager d = new TestDestager();
            d.step(v, 100);
            assertThat(d.backing).containsEntry(2L, 1L).containsEntry(3L, 1L).hasSize(4);
            d.drain(v);
            assertThat(d.backing).containsEntry(2L, 2L).containsEntry(5L, 2L).containsEntry(0L, 1L);
            cache.checkInvariants();
        }
    }

    @Test
    void aLostDirtyRecordReadsAsAnIoErrorUntilRewrittenAndTheCleanerKeepsIt() throws Exception {
        MemoryFlashChannel device = new MemoryFlashChannel(deviceSize(16));
        int location;
        long id;
        try (FlashCache cache = FlashCache.format(device, smallConfig(false), false)) {
            VolumeCache v = cache.attach("vm-1");
            id = v.volumeId();
            v.insert(7, data(id, 7, 1, 1), true, 1).get();
            v.insert(8, data(id, 8, 1, 1), true, 1).get(); // a later batch: the first is not the torn tail
            location = v.lookup(7);
            v.release(location);
        }
        device.array()[location * BLOCK + 100] ^= 1; // media corruption of an acknowledged record
        MemoryFlashChannel corrupt = new MemoryFlashChannel(device.image());
        try (FlashCache cache = FlashCache.open(corrupt, smallConfig(false))) {
            assertThat(cache.recovery().lostRecords()).isEqualTo(1);
            VolumeCache v = cache.attach("vm-1");
            assertThat(v.stats().lostBlocks()).isEqualTo(1);
            assertThatThrownBy(() -> v.lookup(7))
                    .isInstanceOfSatisfying(VolumeException.class, e -> assertThat(e.error()).isEqualTo(BlockError.IO))
                    .hasMessageContaining("lost");
            assertThat(read(v, 8)).isEqualTo(1);
            // Clean traffic makes the cleaner reclaim everything else; the lost record's segment stays.
            for (int i = 0; i < 600; i++) {
                TestBlocks.clean(cache);
                v.insert(1000 + i, data(id, 1000 + i, 1, 1), false, 0).get();
            }
            assertThat(cache.stats().cleanerRounds()).isPositive();
            assertThatThrownBy(() -> v.lookup(7)).isInstanceOf(VolumeException.class);
            cache.checkInvariants();
        }
        try (FlashCache cache = FlashCache.open(new MemoryFlashChannel(corrupt.image()), smallConfig(false))) {
            VolumeCache v = cache.attach("vm-1");
            assertThatThrownBy(() -> v.lookup(7)).as("still lost after another restart").isInstanceOf(VolumeException.class);
            v.insert(7, data(id, 7, 2, 1), true, 2).get();
            assertThat(read(v, 7)).isEqualTo(2);
            assertThat(v.stats().lostBlocks()).isZero();
            cache.checkInvariants();
        }
    }

    @Test
    void aLostCleanRecordIsSimplyNotCached() throws Exception {
        MemoryFlashChannel device = new MemoryFlashChannel(deviceSize(16));
        int location;
        try (FlashCache cache = FlashCache.format(device, smallConfig(false), false)) {
            VolumeCache v = cache.attach("vm-1");
            v.insert(7, data(v.volumeId(), 7, 1, 1), false, 0).get();
            v.insert(8, data(v.volumeId(), 8, 1, 1), false, 0).get();
            location = v.lookup(7);
            v.release(location);
        }
        device.array()[location * BLOCK + 100] ^= 1;
        MemoryFlashChannel corrupt = new MemoryFlashChannel(device.image());
        try (FlashCache cache = FlashCache.open(corrupt, smallConfig(false))) {
            VolumeCache v = cache.attach("vm-1");
            assertThat(read(v, 7)).isEqualTo(-1);
            assertThat(v.stats().lostBlocks()).isZero();
            assertThat(cache.unattachedVolumesWithDirtyData()).isEmpty();
        }
    }

    @Test
    void aVolumeWithDirtyDataThatNobodyAttachesIsReported() throws Exception {
        MemoryFlashChannel device = new MemoryFlashChannel(deviceSize(16));
        try (FlashCache cache = FlashCache.format(device, smallConfig(false), false)) {
            VolumeCache a = cache.attach("a");
            VolumeCache b = cache.attach("b");
            a.insert(0, data(a.volumeId(), 0, 1, 3), true, 4).get();
            b.insert(0, data(b.volumeId(), 0, 1, 3), false, 0).get();
        }
        try (FlashCache cache = reopen(device)) {
            assertThat(cache.unattachedVolumesWithDirtyData())
                    .containsExactly(new UnattachedVolume(FlashCache.volumeId("a"), 3, 0, 4));
            VolumeCache b = cache.attach("b");
            assertThat(read(b, 2)).isEqualTo(1);
            assertThat(cache.unattachedVolumesWithDirtyData()).hasSize(1);
            VolumeCache a = cache.attach("a");
            assertThat(cache.unattachedVolumesWithDirtyData()).isEmpty();
            assertThat(a.dirtyBlocks()).isEqualTo(3);
            assertThat(read(a, 1)).isEqualTo(1);
        }
    }

    @Test
    void recoveringTheSameDeviceTwiceGivesTheSameIndex() throws Exception {
        MemoryFlashChannel device = new MemoryFlashChannel(deviceSize(12));
        List<String> before;
        try (FlashCache cache = FlashCache.format(device, smallConfig(false), false)) {
            VolumeCache a = cache.attach("a");
            VolumeCache b = cache.attach("b");
            SplittableRandom r = new SplittableRandom(7);
            TestDestager d = new TestDestager();
            long epoch = 1;
            for (int i = 0; i < 400; i++) {
                TestBlocks.clean(cache);
                VolumeCache v = r.nextBoolean() ? a : b;
                long block = r.nextInt(300);
                switch (r.nextInt(8)) {
                    case 0 -> v.invalidate(block, 1 + r.nextInt(4)).get();
                    case 1 -> epoch++;
                    case 2 -> d.step(a, 8);
                    default -> v.insert(block, data(v.volumeId(), block, i, 1 + r.nextInt(3)), r.nextInt(3) == 0, epoch).get();
                }
            }
            cache.awaitMarkers();
            assertThat(cache.stats().cleanerRounds()).isPositive();
            before = locationsAndDirty(cache.snapshot());
        }
        List<String> first;
        List<String> second;
        try (FlashCache cache = reopen(device)) {
            first = cache.snapshot();
            cache.checkInvariants();
        }
        try (FlashCache cache = reopen(device)) {
            second = cache.snapshot();
        }
        assertThat(second).isEqualTo(first);
        assertThat(locationsAndDirty(first)).isEqualTo(before);
    }

    /** Entries with location and dirty bit (recovery resets the policy's frequency bits), and the versions. */
    private static List<String> locationsAndDirty(List<String> snapshot) {
        return snapshot.stream().map(s -> {
            int at = s.indexOf(" state ");
            if (at < 0) {
                return s;
            }
            int state = Integer.parseInt(s.substring(at + 7), 16);
            return s.substring(0, at) + ((state & 1) != 0 ? " dirty" : "");
        }).toList();
    }
}
