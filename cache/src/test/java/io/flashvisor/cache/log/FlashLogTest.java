package io.flashvisor.cache.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flashvisor.common.BlockError;
import io.flashvisor.common.VolumeException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Test;

/** The lifecycle and API of {@link FlashLog}: format, open, append, read, refusals, close. */
class FlashLogTest {

    static void assertError(ThrowingCallable call, BlockError error, String messagePart) {
        assertThatThrownBy(call).isInstanceOfSatisfying(VolumeException.class, e -> {
            assertThat(e.error()).isEqualTo(error);
            assertThat(e.getMessage()).contains(messagePart);
        });
    }

    @Test
    void appendedRecordsReadBackAndSurviveReopen() throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(TestData.deviceSize(6));
        List<Record> records = List.of(Record.data(7, 100, TestData.blocks(100 / 8, 2), true),
                Record.clean(7, 100, 2, 1), Record.invalidate(7, 300, 4),
                Record.data(7, 200, TestData.blocks(200 / 8, 1), false).withOrigin(3, 42));
        AppendResult result;
        try (FlashLog log = FlashLog.format(device, TestData.smallConfig())) {
            assertThat(log.recovery()).isEqualTo(RecoverySummary.EMPTY);
            result = log.append(records);
            assertThat(result.size()).isEqualTo(4);
            assertThat(result.firstSequence()).isEqualTo(1);
            assertThat(result.lastSequence()).isEqualTo(4);
            assertThat(result.deviceBlock(1)).isEqualTo(-1);
            assertThat(result.deviceBlock(3)).isEqualTo(result.deviceBlock(0) + 2);
            ByteBuffer dst = ByteBuffer.allocate(2 * FlashLayout.BLOCK_SIZE);
            log.read(result.deviceBlock(0), dst);
            assertThat(dst.flip()).isEqualTo(TestData.blocks(100 / 8, 2));
            ByteBuffer one = ByteBuffer.allocateDirect(FlashLayout.BLOCK_SIZE);
            log.readRecord(result.deviceBlock(3), 1, records.get(3).dataCrc(), one);
            assertThat(one.flip()).isEqualTo(TestData.blocks(200 / 8, 1));
        }
        CollectingListener l = new CollectingListener();
        try (FlashLog log = FlashLog.open(new RecordingFlashChannel(device.image()), TestData.smallConfig(), l)) {
            assertThat(l.records).hasSize(4);
            for (int i = 0; i < 4; i++) {
                RecoveredRecord r = l.records.get(i);
                TestData.assertSame(r, records.get(i), device.image());
                assertThat(r.sequence()).isEqualTo(result.sequence(i));
                assertThat(r.deviceBlock()).isEqualTo(result.deviceBlock(i));
                assertThat(r.segment()).isEqualTo(result.segment());
            }
            assertThat(log.recovery().maxSequence()).isEqualTo(4);
            assertThat(log.recovery().records()).isEqualTo(4);
            // Appending goes on above the recovered sequences, in a new segment.
            AppendResult next = log.append(List.of(Record.invalidate(7, 0, 1)));
            assertThat(next.firstSequence()).isEqualTo(5);
            assertThat(next.segment()).isNotEqualTo(result.segment());
            assertThat(log.sealedSegments()).extracting(SegmentInfo::segment).containsExactly(result.segment());
        }
    }

    @Test
    void openRefusesADeviceThatIsNotOurs() {
        RecordingFlashChannel zeroes = new RecordingFlashChannel(TestData.deviceSize(6));
        assertError(() -> FlashLog.open(zeroes, TestData.smallConfig(), RecoveryListener.IGNORE), BlockError.INVALID,
                "holds no Flashvisor flash log");
        RecordingFlashChannel ext4 = new RecordingFlashChannel(TestData.deviceSize(6));
        ext4.array()[1080] = 0x53;
        ext4.array()[1081] = (byte) 0xEF;
        assertError(() -> FlashLog.open(ext4, TestData.smallConfig(), RecoveryListener.IGNORE), BlockError.INVALID,
                "format it explicitly");
        assertThat(zeroes.writes() + ext4.writes()).isZero();
    }

    @Test
    void openRefusesAnotherFormatVersion() throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(TestData.deviceSize(6));
        FlashLog.format(device, TestData.smallConfig()).close();
        byte[] image = device.image();
        for (int copy = 0; copy < 2; copy++) {
            ByteBuffer b = ByteBuffer.wrap(image, copy * FlashLayout.BLOCK_SIZE, FlashLayout.BLOCK_SIZE).slice();
            b.put(0, "FVFLASH2".getBytes(StandardCharsets.US_ASCII)).putInt(8, 2);
            b.putInt(Superblock.CRC_OFFSET, Buffers.crc32c(b, 0, Superblock.CRC_OFFSET));
        }
        RecordingFlashChannel v2 = new RecordingFlashChannel(image);
        assertError(() -> FlashLog.open(v2, TestData.smallConfig(), RecoveryListener.IGNORE), BlockError.INVALID,
                "format version 2; this node reads version 1");
        assertError(() -> FlashLog.format(v2, TestData.smallConfig()), BlockError.INVALID, "already holds a Flashvisor");
        assertThat(v2.writes()).isZero();
    }

    @Test
    void openRefusesAnotherSegmentSize() throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(TestData.deviceSize(6));
        FlashLog.format(device, TestData.smallConfig()).close();
        assertError(() -> FlashLog.open(new RecordingFlashChannel(device.image()),
                TestData.smallConfig().withSegmentSize(512 << 10), RecoveryListener.IGNORE), BlockError.INVALID,
                "set the segment size to 262144");
    }

    @Test
    void openRefusesADeviceSmallerThanItsSuperblockSays() throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(TestData.deviceSize(6));
        FlashLog.format(device, TestData.smallConfig()).close();
        byte[] shrunk = java.util.Arrays.copyOf(device.image(), TestData.deviceSize(5));
        assertError(() -> FlashLog.open(new RecordingFlashChannel(shrunk), TestData.smallConfig(), RecoveryListener.IGNORE),
                BlockError.INVALID, "has it shrunk?");
    }

    @Test
    void formatRefusesAnExistingLogUnlessTold() throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(TestData.deviceSize(6));
        try (FlashLog log = FlashLog.format(device, TestData.smallConfig())) {
            log.append(List.of(TestData.record(1, 2)));
        }
        RecordingFlashChannel again = new RecordingFlashChannel(device.image());
        assertError(() -> FlashLog.format(again, TestData.smallConfig()), BlockError.INVALID, "format with overwrite");
        assertThat(again.writes()).isZero();
        try (FlashLog log = FlashLog.format(again, TestData.smallConfig(), true)) {
            assertThat(log.freeSegmentCount()).isEqualTo(6);
        }
        // The old batches are still on flash, but under the old device uuid: never read as ours.
        CollectingListener l = new CollectingListener();
        FlashLog.open(new RecordingFlashChannel(again.image()), TestData.smallConfig(), l).close();
        assertThat(l.records).isEmpty();
    }

    @Test
    void formatRefusesATooSmallDevice() throws Exception {
        // One open segment per stream, the reserve (at least one per stream) and one more.
        RecordingFlashChannel tiny = new RecordingFlashChannel(TestData.deviceSize(4));
        assertError(() -> FlashLog.format(tiny, TestData.smallConfig()), BlockError.INVALID, "it needs at least 5");
        LogConfig one = TestData.smallConfig().withStreams(1).withReservedSegments(1);
        FlashLog.format(tiny, one).close();
        assertError(() -> FlashLog.open(new RecordingFlashChannel(tiny.image()), TestData.smallConfig(), RecoveryListener.IGNORE),
                BlockError.INVALID, "2 streams and 2 reserved segments need at least 5");
        assertError(() -> FlashLog.format(new RecordingFlashChannel(TestData.deviceSize(2)), one), BlockError.INVALID,
                "it needs at least 3");
    }

    @Test
    void aBadSuperblockCopyIsRewrittenFromTheGoodOne() throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(TestData.deviceSize(6));
        FlashLog.format(device, TestData.smallConfig()).close();
        byte[] good = java.util.Arrays.copyOfRange(device.image(), 0, FlashLayout.BLOCK_SIZE);
        for (int copy = 0; copy < 2; copy++) {
            byte[] image = device.image();
            image[copy * FlashLayout.BLOCK_SIZE + 20] ^= 0x10;
            RecordingFlashChannel damaged = new RecordingFlashChannel(image);
            FlashLog.open(damaged, TestData.smallConfig(), RecoveryListener.IGNORE).close();
            byte[] repaired = damaged.image();
            assertThat(java.util.Arrays.copyOfRange(repaired, 0, FlashLayout.BLOCK_SIZE)).isEqualTo(good);
            assertThat(java.util.Arrays.copyOfRange(repaired, FlashLayout.BLOCK_SIZE, 2 * FlashLayout.BLOCK_SIZE)).isEqualTo(good);
        }
        byte[] both = device.image();
        both[20] ^= 1;
        both[FlashLayout.BLOCK_SIZE + 20] ^= 1;
        assertError(() -> FlashLog.open(new RecordingFlashChannel(both), TestData.smallConfig(), RecoveryListener.IGNORE),
                BlockError.INVALID, "no usable superblock: copy A: superblock checksum mismatch");
    }

    @Test
    void appendsThatCannotBeOneBatchAreRefused() throws Exception {
        try (FlashLog log = FlashLog.format(new RecordingFlashChannel(TestData.deviceSize(6)), TestData.smallConfig())) {
            assertThat(log.maxAppendBlocks()).isEqualTo(8);
            assertThatThrownBy(() -> log.appendAsync(List.of())).isInstanceOf(IllegalArgumentException.class);
            List<Record> many = Collections.nCopies(64, Record.invalidate(1, 0, 1));
            assertThatThrownBy(() -> log.appendAsync(many)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("1 to 63 records");
            assertThatThrownBy(() -> log.appendAsync(List.of(Record.data(1, 0, TestData.blocks(1, 9), true))))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exceeds the limit of 8");
            assertThat(log.append(Collections.nCopies(63, Record.invalidate(1, 0, 1))).size()).isEqualTo(63);
            assertThat(log.append(List.of(Record.data(1, 0, TestData.blocks(1, 8), true))).size()).isEqualTo(1);
        }
        try (FlashLog log = FlashLog.format(new RecordingFlashChannel(TestData.deviceSize(6)),
                TestData.smallConfig().withMaxBatchBytes(LogConfig.DEFAULT_MAX_BATCH_BYTES).withSegmentSize(4 << 20))) {
            assertThat(log.maxAppendBlocks()).isEqualTo(256);
        } catch (VolumeException e) {
            // 6 segments of 256 KiB hold no 4 MiB segment: check the arithmetic on the config instead.
            assertThat(LogConfig.defaults().maxBatchDataBlocks()).isEqualTo(256);
        }
        assertThatThrownBy(() -> Record.data(1, 0, ByteBuffer.allocate(100), true)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Record.invalidate(1, -1, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Record.invalidate(1, Record.MAX_BLOCK_END, 1)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LogConfig.defaults().withSegmentSize(3 << 20)).hasMessageContaining("power of two");
    }

    @Test
    void recordsOfOneAppendAreOneBatchWithConsecutiveSequences() throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(TestData.deviceSize(6));
        try (FlashLog log = FlashLog.format(device, TestData.smallConfig())) {
            device.startRecording();
            AppendResult r = log.append(List.of(TestData.record(1, 2), TestData.record(2, 2), TestData.record(3, 2)));
            assertThat(r.lastSequence() - r.firstSequence()).isEqualTo(2);
            assertThat(device.events()).hasSize(2).last().isInstanceOf(RecordingFlashChannel.Force.class);
        }
    }

    @Test
    void closeIsIdempotentAndLaterCallsFailWithShutdown() throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(TestData.deviceSize(6));
        FlashLog log = FlashLog.format(device, TestData.smallConfig());
        AppendResult r = log.append(List.of(Record.data(1, 0, TestData.blocks(0, 1), true)));
        log.close();
        log.close();
        CompletableFuture<AppendResult> f = log.appendAsync(List.of(TestData.record(1, 1)));
        assertThatThrownBy(f::join).isInstanceOf(CompletionException.class)
                .cause().isInstanceOfSatisfying(VolumeException.class, e -> assertThat(e.error()).isEqualTo(BlockError.SHUTDOWN));
        assertError(() -> log.read(r.deviceBlock(0), ByteBuffer.allocate(4096)), BlockError.SHUTDOWN, "closed");
    }

    @Test
    @SuppressWarnings("try") // closes inside try-with-resources on purpose: close must be idempotent
    void theAppenderIsOnePlatformThreadThatStopsAtClose() throws Exception {
        FaultyFlashChannel device = new FaultyFlashChannel(new RecordingFlashChannel(TestData.deviceSize(6)));
        try (FlashLog log = FlashLog.format(device, TestData.smallConfig())) {
            log.append(List.of(TestData.record(0, 1)));
            Thread t = device.lastWriter();
            assertThat(t.getName()).isEqualTo("flash-log-appender");
            assertThat(t.isVirtual()).isFalse();
            assertThat(t.isAlive()).isTrue();
            log.close();
            assertThat(t.isAlive()).isFalse();
        }
    }

    @Test
    void aBlockingAppendFromTheAppenderThreadIsRefused() throws Exception {
        // A slow force, so that the callback is registered before the append completes and runs on the appender.
        FaultyFlashChannel slow = new FaultyFlashChannel(new RecordingFlashChannel(TestData.deviceSize(6))).slowForce(200);
        try (FlashLog log = FlashLog.format(slow, TestData.smallConfig())) {
            CompletableFuture<Throwable> seen = new CompletableFuture<>();
            CompletableFuture<AppendResult> f = new CompletableFuture<>();
            f.thenRun(() -> {
                try {
                    log.append(List.of(TestData.record(1, 1)));
                    seen.complete(null);
                } catch (Throwable t) {
                    seen.complete(t);
                }
            });
            log.appendAsync(List.of(TestData.record(0, 1))).thenAccept(f::complete);
            assertThat(seen.get()).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void readRecordChecksTheData() throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(TestData.deviceSize(6));
        try (FlashLog log = FlashLog.format(device, TestData.smallConfig())) {
            Record rec = Record.data(1, 0, TestData.blocks(5, 2), true);
            AppendResult r = log.append(List.of(rec));
            device.array()[(int) (r.deviceBlock(0) * FlashLayout.BLOCK_SIZE) + 5000] ^= 4;
            assertError(() -> log.readRecord(r.deviceBlock(0), 2, rec.dataCrc(), ByteBuffer.allocate(8192)), BlockError.IO,
                    "failed its CRC");
            ByteBuffer raw = ByteBuffer.allocate(8192);
            log.read(r.deviceBlock(0), raw);
            assertThat(raw.position()).isEqualTo(8192);
            assertThatThrownBy(() -> log.read(0, ByteBuffer.allocate(4096))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("outside the segments");
            assertThatThrownBy(() -> log.read(r.deviceBlock(0), ByteBuffer.allocate(100))).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void sequencesGrowAcrossManyReopens() throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(TestData.deviceSize(8));
        FlashLog.format(device, TestData.smallConfig()).close();
        long last = 0;
        List<Long> generations = new ArrayList<>();
        for (int round = 0; round < 4; round++) {
            RecordingFlashChannel next = new RecordingFlashChannel(device.image());
            try (FlashLog log = FlashLog.open(next, TestData.smallConfig(), RecoveryListener.IGNORE)) {
                AppendResult r = log.append(List.of(TestData.record(round, 1)));
                assertThat(r.firstSequence()).isGreaterThan(last);
                last = r.lastSequence();
                generations.add(log.recovery().maxGeneration());
            }
            device = next;
        }
        assertThat(generations).containsExactly(0L, 1L, 2L, 3L);
    }
}
