package io.flashvisor.cache.log;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@link FlashLog#appendThen}: the completion runs on the appender thread while the segment its
 * records went to is still open — so an index update made there can never point into a segment
 * the cleaner has already taken (sealed, judged, freed). A dependent attached to
 * {@link FlashLog#appendAsync}'s future after the append completed has no such guarantee: the
 * second half shows one running on the caller's thread with its segment long sealed — the window
 * in which CleanerTest's concurrent readers once read another block's data in CI.
 */
class AppendThenTest {

    private record Seen(String thread, int segment, boolean sealed) {
    }

    @Test
    void theCompletionRunsOnTheAppenderThreadBeforeItsSegmentIsSealed() throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(TestData.deviceSize(8));
        try (FlashLog log = FlashLog.format(device, TestData.smallConfig())) {
            int blocksPerSegment = log.layout().blocksPerSegment();
            int appends = 3 * blocksPerSegment; // one data block each: the stream seals segment after segment
            ConcurrentLinkedQueue<Seen> seen = new ConcurrentLinkedQueue<>();
            List<CompletableFuture<Void>> done = new ArrayList<>();
            List<CompletableFuture<AppendResult>> plain = new ArrayList<>();
            for (int i = 0; i < appends; i++) {
                CompletableFuture<Void> d = new CompletableFuture<>();
                done.add(d);
                log.appendThen(0, List.of(Record.data(1, i, TestData.blocks(i, 1), true)), (r, t) -> {
                    if (t != null) {
                        d.completeExceptionally(t);
                        return;
                    }
                    int segment = log.layout().segmentOf(r.deviceBlock(0));
                    boolean sealed = log.sealedSegments(0).stream().anyMatch(s -> s.segment() == segment);
                    seen.add(new Seen(Thread.currentThread().getName(), segment, sealed));
                    d.complete(null);
                });
                if (i < 4) {
                    plain.add(log.appendAsync(0, List.of(Record.data(2, i, TestData.blocks(i, 1), true))));
                }
            }
            CompletableFuture.allOf(done.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);

            assertThat(seen).hasSize(appends);
            assertThat(seen).allSatisfy(s -> {
                assertThat(s.thread()).isEqualTo(Appender.THREAD_NAME);
                assertThat(s.sealed()).as("segment %d sealed before the completion ran", s.segment()).isFalse();
            });
            assertThat(seen.stream().map(Seen::segment).distinct().count()).as("the appends spanned several segments").isGreaterThan(2);

            // The hazard appendThen closes: attached late, a dependent runs here, on the caller's thread, and finds the
            // segment of its (long completed) append sealed already — the cleaner could have freed it by now.
            AppendResult first = plain.getFirst().get(10, TimeUnit.SECONDS);
            CompletableFuture<Seen> late = plain.getFirst().thenApply(r -> {
                int segment = log.layout().segmentOf(r.deviceBlock(0));
                return new Seen(Thread.currentThread().getName(), segment,
                        log.sealedSegments(0).stream().anyMatch(s -> s.segment() == segment));
            });
            Seen s = late.get(10, TimeUnit.SECONDS);
            assertThat(first).isNotNull();
            assertThat(s.thread()).isEqualTo(Thread.currentThread().getName());
            assertThat(s.sealed()).isTrue();
        }
    }
}
