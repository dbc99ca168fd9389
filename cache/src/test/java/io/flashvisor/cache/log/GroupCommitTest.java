package io.flashvisor.cache.log;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Group commit really batches: while one force is slow, the appends that arrive meanwhile go into
 * the next batch, written with one write and made durable with one force. Counts, not time.
 */
class GroupCommitTest {

    static LogConfig config() {
        return TestData.smallConfig().withMaxBatchBytes(64 << 10);
    }

    @Test
    void concurrentAppendsShareWritesAndForces() throws Exception {
        RecordingFlashChannel memory = new RecordingFlashChannel(TestData.deviceSize(24));
        FaultyFlashChannel slow = new FaultyFlashChannel(memory).slowForce(3);
        int threads = 32;
        int each = 10;
        try (FlashLog log = FlashLog.format(slow, config());
             ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            long writesBefore = slow.writes();
            long forcesBefore = slow.forces();
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < each; i++) {
                        long id = thread * 100L + i;
                        log.append(List.of(Record.data(1, id * 8, TestData.blocks(id, 1), true)));
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
            LogStats stats = log.stats();
            long appends = (long) threads * each;
            long forces = slow.forces() - forcesBefore;
            assertThat(stats.appends()).isEqualTo(appends);
            assertThat(slow.writes() - writesBefore).as("one write per batch").isEqualTo(stats.batches());
            assertThat(forces).as("one force per batch").isEqualTo(stats.batches()).isEqualTo(stats.forces());
            assertThat(forces).as("forces for %d appends", appends).isLessThan(appends / 4);
        }
    }

    @Test
    void aBatchHoldsAtMost63RecordsAndMaxBatchBytes() throws Exception {
        RecordingFlashChannel memory = new RecordingFlashChannel(TestData.deviceSize(24));
        FaultyFlashChannel slow = new FaultyFlashChannel(memory).slowForce(3);
        try (FlashLog log = FlashLog.format(slow, config())) {
            memory.startRecording();
            List<CompletableFuture<AppendResult>> futures = new ArrayList<>();
            for (int i = 0; i < 400; i++) {
                Record r = i % 2 == 0 ? Record.invalidate(2, i, 1) : Record.data(2, i * 8L, TestData.blocks(i, 1 + i % 3), false);
                futures.add(log.appendAsync(List.of(r)));
            }
            CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get();
            UUID uuid = log.deviceUuid();
            int most = 0;
            for (RecordingFlashChannel.Event e : memory.events()) {
                if (e instanceof RecordingFlashChannel.Write w) {
                    BatchHeader h = BatchHeader.decode(ByteBuffer.wrap(w.bytes()), 0, uuid, 1 << 20);
                    assertThat(h.entries()).hasSizeLessThanOrEqualTo(63);
                    assertThat(h.dataBlocks() * FlashLayout.BLOCK_SIZE).isLessThanOrEqualTo(64 << 10);
                    assertThat(w.bytes()).hasSize(h.blocks() * FlashLayout.BLOCK_SIZE);
                    most = Math.max(most, h.entries().size());
                }
            }
            assertThat(most).isGreaterThan(1);
        }
    }
}
