package io.flashvisor.cache.log;

import static io.flashvisor.cache.log.FlashLogTest.assertError;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flashvisor.common.BlockError;
import io.flashvisor.common.VolumeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Failing writes, failing forces, ENOSPC and a full log: clear errors, and never an acknowledged loss. */
class ErrorInjectionTest {

    static Record data(long id, int blocks) {
        return Record.data(1, id * 8, TestData.blocks(id, blocks), true);
    }

    static void assertFails(CompletableFuture<AppendResult> f, BlockError error, String messagePart) {
        assertThatThrownBy(() -> f.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class).cause()
                .isInstanceOfSatisfying(VolumeException.class, e -> {
                    assertThat(e.error()).isEqualTo(error);
                    assertThat(e.getMessage()).contains(messagePart);
                });
    }

    @Test
    void aFailedWriteFailsItsAppendAndEveryLaterOneButReadsGoOn() throws Exception {
        RecordingFlashChannel memory = new RecordingFlashChannel(TestData.deviceSize(6));
        FaultyFlashChannel faulty = new FaultyFlashChannel(memory);
        AppendResult first;
        try (FlashLog log = FlashLog.format(faulty, TestData.smallConfig())) {
            faulty.failWrite(2, new IOException("Input/output error"), 0.5);
            first = log.append(List.of(data(1, 2)));
            log.append(List.of(data(2, 2)));
            assertError(() -> log.append(List.of(data(3, 2))), BlockError.IO, "Input/output error");
            assertThat(log.isFailed()).isTrue();
            assertThat(log.stats().failed()).isTrue();
            assertError(() -> log.append(List.of(data(4, 1))), BlockError.IO, "failed earlier");
            assertError(() -> log.free(List.of(0)), BlockError.IO, "failed earlier");
            ByteBuffer back = ByteBuffer.allocate(2 * FlashLayout.BLOCK_SIZE);
            log.readRecord(first.deviceBlock(0), 2, data(1, 2).dataCrc(), back);
            assertThat(back.flip()).isEqualTo(TestData.blocks(1, 2));
        }
        // After a restart, recovery sorts out what is durable: the failed, half-written batch is a torn tail.
        CollectingListener l = new CollectingListener();
        try (FlashLog log = FlashLog.open(memory.reopen(), TestData.smallConfig(), l)) {
            assertThat(log.recovery().tornTail()).isTrue();
            log.append(List.of(data(5, 1)));
        }
        assertThat(l.records).extracting(TestData::idOf).containsExactly(1L, 2L);
        assertThat(l.lost).isEmpty();
    }

    @Test
    void aFailedForceFailsTheLogForGood() throws Exception {
        RecordingFlashChannel memory = new RecordingFlashChannel(TestData.deviceSize(6));
        FaultyFlashChannel faulty = new FaultyFlashChannel(memory);
        try (FlashLog log = FlashLog.format(faulty, TestData.smallConfig())) {
            faulty.failForce(1);
            log.append(List.of(data(1, 1)));
            assertError(() -> log.append(List.of(data(2, 1))), BlockError.IO, "injected fdatasync failure");
            faulty.failForce(-1); // the device "recovers": the log must not trust it again
            assertError(() -> log.append(List.of(data(3, 1))), BlockError.IO, "failed earlier");
        }
    }

    @Test
    void enospcFromTheDeviceIsNoSpace() throws Exception {
        RecordingFlashChannel memory = new RecordingFlashChannel(TestData.deviceSize(6));
        FaultyFlashChannel faulty = new FaultyFlashChannel(memory);
        try (FlashLog log = FlashLog.format(faulty, TestData.smallConfig())) {
            faulty.failWrite(0, new DeviceFullException("No space left on device"), 0);
            assertError(() -> log.append(List.of(data(1, 1))), BlockError.NO_SPACE, "No space left on device");
            assertError(() -> log.append(List.of(data(2, 1))), BlockError.NO_SPACE, "failed earlier");
        }
    }

    /**
     * Fills a 5-segment log with client appends to stream 0 (7 per segment) until the reserve (2
     * segments, one per stream) is all that is left: 21 appends.
     */
    static int fill(FlashLog log) throws Exception {
        int id = 0;
        while (true) {
            try {
                log.append(List.of(data(id, 8)));
                id++;
            } catch (VolumeException e) {
                assertThat(e.error()).isEqualTo(BlockError.NO_SPACE);
                assertThat(e.getMessage()).contains("flash log is full");
                return id;
            }
        }
    }

    @Test
    void aFullLogRefusesAppendsWithNoSpaceAndTheReserveLetsTheCleanerWork() throws Exception {
        LogConfig config = TestData.smallConfig().withFreeSegmentWait(Duration.ofMillis(100));
        try (FlashLog log = FlashLog.format(new RecordingFlashChannel(TestData.deviceSize(5)), config)) {
            assertThat(fill(log)).isEqualTo(21);
            assertThat(log.isFailed()).isFalse();
            assertThat(log.freeSegmentCount()).isEqualTo(2);
            // Other streams' clients may not touch the reserve either.
            assertFails(log.appendAsync(1, List.of(data(999, 1))), BlockError.NO_SPACE, "flash log is full");
            // The cleaner moves live data into the reserved segments, one per stream...
            AppendResult moved = log.appendReclaimAsync(0, List.of(data(1000, 8))).get();
            assertThat(moved.segment()).isEqualTo(3);
            AppendResult moved1 = log.appendReclaimAsync(1, List.of(data(1003, 8))).get();
            assertThat(moved1.segment()).isEqualTo(4);
            assertThat(moved1.stream()).isEqualTo(1);
            assertThat(log.freeSegmentCount()).isZero();
            // ... which clients may not use.
            assertFails(log.appendAsync(List.of(data(1001, 1))), BlockError.NO_SPACE, "flash log is full");
            assertFails(log.appendAsync(1, List.of(data(1004, 1))), BlockError.NO_SPACE, "flash log is full");
            log.free(List.of(0, 1, 2));
            AppendResult after = log.append(List.of(data(1002, 1)));
            assertThat(after.segment()).isZero();
            assertThat(log.sealedSegments()).extracting(SegmentInfo::segment).containsExactly(3);
            assertThat(log.openSegments()).extracting(SegmentInfo::segment).containsExactly(0, 4);
        }
    }

    @Test
    void aWaitingAppendGoesOnWhenSegmentsAreFreed() throws Exception {
        LogConfig config = TestData.smallConfig().withFreeSegmentWait(Duration.ofMinutes(1));
        try (FlashLog log = FlashLog.format(new RecordingFlashChannel(TestData.deviceSize(5)), config)) {
            for (int i = 0; i < 21; i++) {
                log.append(List.of(data(i, 8)));
            }
            CompletableFuture<AppendResult> waiting = log.appendAsync(List.of(data(100, 8)));
            CompletableFuture<AppendResult> behind = log.appendAsync(List.of(data(101, 1)));
            assertThat(waiting).isNotDone(); // it cannot be: no segment is free for it
            log.free(List.of(0, 1));
            // Segment 3 has been free longest: it goes first.
            assertThat(waiting.get(10, TimeUnit.SECONDS).segment()).isEqualTo(3);
            assertThat(behind.get(10, TimeUnit.SECONDS).firstSequence()).isEqualTo(waiting.get().firstSequence() + 1);
        }
    }

    @Test
    void closeFailsAppendsThatWaitForSpace() throws Exception {
        LogConfig config = TestData.smallConfig().withFreeSegmentWait(Duration.ofMinutes(1));
        FlashLog log = FlashLog.format(new RecordingFlashChannel(TestData.deviceSize(5)), config);
        for (int i = 0; i < 21; i++) {
            log.append(List.of(data(i, 8)));
        }
        CompletableFuture<AppendResult> waiting = log.appendAsync(List.of(data(100, 8)));
        log.close();
        assertFails(waiting, BlockError.SHUTDOWN, "closed");
    }
}
