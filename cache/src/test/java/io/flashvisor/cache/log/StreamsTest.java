package io.flashvisor.cache.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Append streams: each stream appends to its own segments, so a stream's segments, oldest first,
 * are its FIFO; batches of the streams interleave on the device under one sequence; recovery
 * finds every segment's and record's stream, merges the streams in sequence order, and finds the
 * torn tail in whichever stream's segment it is; the appender serves the streams fairly. Also the
 * flush epoch of DATA records, end to end.
 */
class StreamsTest {

    static Record data(long id, int blocks) {
        return Record.data(1, id * 8, TestData.blocks(id, blocks), true, TestData.flushEpoch(id));
    }

    /** The distinct segments of {@code results}, in order of first use. */
    static List<Integer> segmentsInOrder(List<AppendResult> results) {
        return List.copyOf(new LinkedHashSet<>(results.stream().map(AppendResult::segment).toList()));
    }

    static CollectingListener recover(byte[] image, LogConfig config, List<SegmentInfo> sealedAfter) throws Exception {
        CollectingListener l = new CollectingListener();
        try (FlashLog log = FlashLog.open(new RecordingFlashChannel(image), config, l)) {
            sealedAfter.addAll(log.sealedSegments());
        }
        assertThat(l.lost).isEmpty();
        assertThat(l.unreadable).isEmpty();
        assertThat(l.inSequenceOrder()).isTrue();
        return l;
    }

    @Test
    void interleavedAppendsGoToEachStreamsOwnSegmentsInOrderAndRecoveryFindsTheirStreams() throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(TestData.deviceSize(8));
        List<List<AppendResult>> byStream = List.of(new ArrayList<>(), new ArrayList<>());
        Map<Long, Integer> streamOf = new HashMap<>();
        try (FlashLog log = FlashLog.format(device, TestData.smallConfig())) {
            long last = 0;
            // 2-block records: batches of 3 blocks, 21 to a segment; 30 per stream fill 1.5 segments each.
            for (long id = 0; id < 60; id++) {
                int stream = (int) (id % 2);
                AppendResult r = log.append(stream, List.of(data(id, 2)));
                assertThat(r.stream()).isEqualTo(stream);
                assertThat(r.firstSequence()).as("one sequence across the streams").isEqualTo(last + 1);
                last = r.lastSequence();
                byStream.get(stream).add(r);
                streamOf.put(id, stream);
            }
            List<Integer> zero = segmentsInOrder(byStream.get(0));
            List<Integer> one = segmentsInOrder(byStream.get(1));
            assertThat(zero).hasSize(2).doesNotContainAnyElementsOf(one);
            assertThat(one).hasSize(2);
            // A stream's segments, oldest generation first, are its FIFO: sealed ones, then the open one.
            assertThat(log.sealedSegments(0)).extracting(SegmentInfo::segment).containsExactly(zero.get(0));
            assertThat(log.sealedSegments(1)).extracting(SegmentInfo::segment).containsExactly(one.get(0));
            assertThat(log.sealedSegments()).extracting(SegmentInfo::stream).containsExactly(0, 1);
            assertThat(log.openSegments()).extracting(SegmentInfo::segment).containsExactly(zero.get(1), one.get(1));
            assertThat(log.openSegments()).extracting(SegmentInfo::stream).containsExactly(0, 1);
            assertThat(log.sealedSegments(0).getFirst().firstSequence()).isEqualTo(byStream.get(0).getFirst().firstSequence());
            assertThat(log.sealedSegments(0).getFirst().usedBlocks()).isEqualTo(63);
            SegmentContents contents = log.readSegment(one.get(0));
            assertThat(contents.stream()).isEqualTo(1);
            assertThat(contents.records()).hasSize(21).allSatisfy(r -> assertThat(r.stream()).isEqualTo(1));
            // Alternating appends: each segment's sequences skip the other stream's.
            assertThat(contents.records().get(1).sequence() - contents.records().get(0).sequence()).isEqualTo(2);
        }
        List<SegmentInfo> sealed = new ArrayList<>();
        CollectingListener l = recover(device.image(), TestData.smallConfig(), sealed);
        assertThat(l.records).extracting(TestData::idOf).containsExactlyElementsOf(streamOf.keySet().stream().sorted().toList());
        for (RecoveredRecord r : l.records) {
            assertThat(r.stream()).as("stream of record %d", TestData.idOf(r)).isEqualTo(streamOf.get(TestData.idOf(r)));
            assertThat(r.flushEpoch()).isEqualTo(TestData.flushEpoch(TestData.idOf(r)));
        }
        // Every segment, the formerly open ones too, is recovered with its stream, in each stream's order.
        for (int stream = 0; stream < 2; stream++) {
            int s = stream;
            assertThat(sealed.stream().filter(i -> i.stream() == s).map(SegmentInfo::segment).toList())
                    .isEqualTo(segmentsInOrder(byStream.get(stream)));
        }
        assertThat(sealed).extracting(SegmentInfo::generation).isSorted();
        for (SegmentInfo i : sealed) {
            long first = byStream.get(i.stream()).stream().filter(r -> r.segment() == i.segment())
                    .mapToLong(AppendResult::firstSequence).min().orElseThrow();
            assertThat(i.firstSequence()).isEqualTo(first);
        }
    }

    @Test
    void concurrentStreamsKeepEachStreamsOrder() throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(TestData.deviceSize(12));
        LogConfig config = TestData.smallConfig().withReservedSegments(3).withStreams(3);
        List<List<AppendResult>> byStream = List.of(new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
        try (FlashLog log = FlashLog.format(device, config)) {
            List<Thread> threads = new ArrayList<>();
            List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
            for (int stream = 0; stream < 3; stream++) {
                int s = stream;
                threads.add(Thread.ofPlatform().uncaughtExceptionHandler((t, e) -> errors.add(e)).start(() -> {
                    List<CompletableFuture<AppendResult>> futures = new ArrayList<>();
                    for (int i = 0; i < 40; i++) {
                        futures.add(log.appendAsync(s, List.of(data(s * 1000L + i, 1), data(s * 1000L + 500 + i, 1))));
                    }
                    futures.forEach(f -> byStream.get(s).add(f.join()));
                }));
            }
            for (Thread t : threads) {
                t.join();
            }
            assertThat(errors).isEmpty();
        }
        List<SegmentInfo> sealed = new ArrayList<>();
        CollectingListener l = recover(device.image(), config, sealed);
        assertThat(l.records).hasSize(240);
        Set<Integer> seen = new java.util.HashSet<>();
        for (int stream = 0; stream < 3; stream++) {
            List<AppendResult> results = byStream.get(stream);
            // Appends one thread submits to one stream are sequenced and placed in submission order.
            for (int i = 1; i < results.size(); i++) {
                assertThat(results.get(i).firstSequence()).isGreaterThan(results.get(i - 1).lastSequence());
                assertThat(results.get(i).deviceBlock(0) > results.get(i - 1).deviceBlock(0)
                        || results.get(i).segment() != results.get(i - 1).segment()).isTrue();
            }
            int s = stream;
            List<Integer> segments = segmentsInOrder(results);
            assertThat(sealed.stream().filter(i -> i.stream() == s).map(SegmentInfo::segment).toList()).isEqualTo(segments);
            assertThat(segments).allSatisfy(seg -> assertThat(seen.add(seg)).as("segment %d shared by streams", seg).isTrue());
        }
        for (RecoveredRecord r : l.records) {
            assertThat(r.stream()).isEqualTo((int) (TestData.idOf(r) / 1000));
        }
    }

    @Test
    void aBusyStreamDoesNotStarveAnother() throws Exception {
        RecordingFlashChannel memory = new RecordingFlashChannel(TestData.deviceSize(8));
        FaultyFlashChannel slow = new FaultyFlashChannel(memory).slowForce(5);
        // An append of 63 markers is a batch of its own (one 4 KiB block).
        List<Record> full = Collections.nCopies(63, Record.invalidate(1, 0, 1));
        try (FlashLog log = FlashLog.format(slow, TestData.smallConfig())) {
            UUID uuid = log.deviceUuid();
            memory.startRecording();
            List<CompletableFuture<AppendResult>> busy = new ArrayList<>();
            for (int i = 0; i < 60; i++) {
                busy.add(log.appendAsync(0, full));
            }
            memory.mark("stream 1 submits");
            CompletableFuture<AppendResult> other = log.appendAsync(1, List.of(Record.invalidate(2, 0, 1)));
            other.get();
            CompletableFuture.allOf(busy.toArray(CompletableFuture[]::new)).get();
            List<Integer> streams = new ArrayList<>();
            int submitted = -1;
            for (RecordingFlashChannel.Event e : memory.events()) {
                if (e instanceof RecordingFlashChannel.Mark) {
                    submitted = streams.size();
                } else if (e instanceof RecordingFlashChannel.Write w) {
                    streams.add(BatchHeader.decode(ByteBuffer.wrap(w.bytes()), 0, uuid, 1 << 20).stream());
                }
            }
            int served = streams.indexOf(1);
            assertThat(streams).hasSize(61);
            // The busy stream still had a backlog when stream 1 was served (else nothing was tested) ...
            assertThat(streams.subList(served + 1, streams.size())).as("batches after stream 1's").isNotEmpty().containsOnly(0);
            // ... and stream 1 waited for at most one more batch of it: the one being packed at its submission.
            assertThat(served - submitted).as("stream 0 batches written between stream 1's submission and its batch")
                    .isLessThanOrEqualTo(1);
        }
    }

    @Test
    void twoBusyStreamsTakeTurns() throws Exception {
        RecordingFlashChannel memory = new RecordingFlashChannel(TestData.deviceSize(8));
        FaultyFlashChannel slow = new FaultyFlashChannel(memory).slowForce(3);
        List<Record> full = Collections.nCopies(63, Record.invalidate(1, 0, 1));
        try (FlashLog log = FlashLog.format(slow, TestData.smallConfig())) {
            UUID uuid = log.deviceUuid();
            memory.startRecording();
            List<CompletableFuture<AppendResult>> all = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                all.add(log.appendAsync(0, full));
            }
            for (int i = 0; i < 30; i++) {
                all.add(log.appendAsync(1, full));
            }
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get();
            List<Integer> streams = new ArrayList<>();
            for (RecordingFlashChannel.Event e : memory.events()) {
                if (e instanceof RecordingFlashChannel.Write w) {
                    streams.add(BatchHeader.decode(ByteBuffer.wrap(w.bytes()), 0, uuid, 1 << 20).stream());
                }
            }
            assertThat(streams).hasSize(60);
            // From stream 1's first batch until one stream runs dry, they alternate batch by batch.
            int from = streams.indexOf(1);
            int until = Math.min(streams.lastIndexOf(0), streams.lastIndexOf(1));
            assertThat(from).as("stream 1 waited for stream 0's backlog").isLessThanOrEqualTo(2);
            for (int i = from + 1; i <= until; i++) {
                assertThat(streams.get(i)).as("batch %d of %s", i, streams).isNotEqualTo(streams.get(i - 1));
            }
            assertThat(until - from).isGreaterThan(50);
        }
    }

    @Test
    void theFlushEpochRoundTripsThroughRecoveryAndReadSegment() throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(TestData.deviceSize(6));
        long[] epochs = {0, 1, 42, Long.MAX_VALUE, Long.MIN_VALUE, -1L, 0x0123_4567_89AB_CDEFL};
        List<Record> appended = new ArrayList<>();
        int sealedSegment;
        try (FlashLog log = FlashLog.format(device, TestData.smallConfig())) {
            for (int i = 0; i < epochs.length; i++) {
                Record r = Record.data(9, i * 8L, TestData.blocks(i, 1), i % 2 == 0, epochs[i]);
                assertThat(r.flushEpoch()).isEqualTo(epochs[i]);
                appended.add(r);
            }
            appended.add(Record.clean(9, 0, 1, 3));
            log.append(0, appended.subList(0, 4));
            log.append(1, appended.subList(4, appended.size()));
            // Fill stream 1's segment so that it is sealed and can be read back.
            for (long id = 100; id < 121; id++) {
                log.append(1, List.of(Record.data(9, id * 8, TestData.blocks(id, 2), false)));
            }
            sealedSegment = log.sealedSegments(1).getFirst().segment();
            SegmentContents c = log.readSegment(sealedSegment);
            assertThat(c.records().subList(0, 4)).extracting(RecoveredRecord::flushEpoch)
                    .containsExactly(epochs[4], epochs[5], epochs[6], 0L);
        }
        CollectingListener l = new CollectingListener();
        FlashLog.open(new RecordingFlashChannel(device.image()), TestData.smallConfig(), l).close();
        assertThat(l.records.subList(0, appended.size())).extracting(RecoveredRecord::flushEpoch)
                .containsExactly(0L, 1L, 42L, Long.MAX_VALUE, Long.MIN_VALUE, -1L, 0x0123_4567_89AB_CDEFL, 0L);
        for (int i = 0; i < appended.size(); i++) {
            TestData.assertSame(l.records.get(i), appended.get(i), device.image());
        }
        // The flush epoch is part of a record's identity, and shows in its description (unsigned).
        Record a = Record.data(1, 0, TestData.blocks(1, 1), true, 5);
        assertThat(a).isNotEqualTo(Record.data(1, 0, TestData.blocks(1, 1), true, 6))
                .isEqualTo(Record.data(1, 0, TestData.blocks(1, 1), true, 5));
        assertThat(Record.data(1, 0, TestData.blocks(1, 1), true).flushEpoch()).isZero();
        assertThat(Record.data(1, 0, TestData.blocks(1, 1), true, -1L).toString()).contains("flush epoch 18446744073709551615");
        assertThat(a.withOrigin(3, 4).flushEpoch()).isEqualTo(5);
    }

    /**
     * The newest batch is in stream 0's segment, which is older (by generation and first sequence)
     * than stream 1's: the rule of the single-stream log — "the last batch of the last segment" —
     * would call its torn write a loss and miss the real tail. The rule is the highest sequence.
     */
    @Test
    void theTornTailIsTheNewestBatchWhicheverStreamHoldsIt() throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(TestData.deviceSize(6));
        AppendResult a;
        AppendResult b;
        AppendResult c;
        try (FlashLog log = FlashLog.format(device, TestData.smallConfig())) {
            a = log.append(0, List.of(data(1, 2)));
            b = log.append(1, List.of(data(2, 2)));
            c = log.append(0, List.of(data(3, 2)));
        }
        assertThat(c.segment()).isEqualTo(a.segment()).isNotEqualTo(b.segment());
        byte[] intact = device.image();

        // A torn write of c (never acknowledged, had the crash come before its force): dropped, no loss.
        byte[] torn = intact.clone();
        Arrays.fill(torn, (int) (c.deviceBlock(0) * FlashLayout.BLOCK_SIZE) + 512, (int) ((c.deviceBlock(0) + 2) * FlashLayout.BLOCK_SIZE), (byte) 0);
        CollectingListener l = new CollectingListener();
        RecordingFlashChannel crashed = new RecordingFlashChannel(torn);
        try (FlashLog log = FlashLog.open(crashed, TestData.smallConfig(), l)) {
            assertThat(log.recovery().tornTail()).isTrue();
            assertThat(log.recovery().maxSequence()).isEqualTo(c.lastSequence());
            // Appending goes on, above the torn batch's sequences, in both streams.
            assertThat(log.append(1, List.of(data(4, 1))).firstSequence()).isGreaterThan(c.lastSequence());
            log.append(0, List.of(data(5, 1)));
        }
        assertThat(l.lost).isEmpty();
        assertThat(l.records).extracting(TestData::idOf).containsExactly(1L, 2L);
        // open() zeroed the torn header: with later batches, it must not read as corruption now.
        CollectingListener again = new CollectingListener();
        FlashLog.open(new RecordingFlashChannel(crashed.image()), TestData.smallConfig(), again).close();
        assertThat(again.lost).isEmpty();
        assertThat(again.records).extracting(TestData::idOf).containsExactly(1L, 2L, 4L, 5L);

        // Corrupt data in b, the last batch of the newest segment but not the newest batch: a loss.
        byte[] corrupt = intact.clone();
        corrupt[(int) (b.deviceBlock(0) * FlashLayout.BLOCK_SIZE) + 100] ^= 1;
        CollectingListener lost = new CollectingListener();
        try (FlashLog log = FlashLog.open(new RecordingFlashChannel(corrupt), TestData.smallConfig(), lost)) {
            assertThat(log.recovery().tornTail()).isFalse();
        }
        assertThat(lost.lost).extracting(TestData::idOf).containsExactly(2L);
        assertThat(lost.lost.getFirst().stream()).isEqualTo(1);
        assertThat(lost.records).extracting(TestData::idOf).containsExactly(1L, 3L);
    }

    @Test
    void streamsThatAreNoLongerConfiguredStayReadableAndReclaimable() throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(TestData.deviceSize(10));
        LogConfig four = TestData.smallConfig().withReservedSegments(4).withStreams(4);
        try (FlashLog log = FlashLog.format(device, four)) {
            for (int stream = 0; stream < 4; stream++) {
                log.append(stream, List.of(data(stream, 1)));
            }
        }
        List<SegmentInfo> sealed = new ArrayList<>();
        CollectingListener l = recover(device.image(), TestData.smallConfig(), sealed);
        assertThat(l.records).extracting(RecoveredRecord::stream).containsExactly(0, 1, 2, 3);
        assertThat(sealed).extracting(SegmentInfo::stream).containsExactly(0, 1, 2, 3);
        try (FlashLog log = FlashLog.open(new RecordingFlashChannel(device.image()), TestData.smallConfig(), RecoveryListener.IGNORE)) {
            SegmentInfo three = log.sealedSegments(3).getFirst();
            assertThat(log.readSegment(three.segment()).records()).extracting(TestData::idOf).containsExactly(3L);
            assertThatThrownBy(() -> log.appendAsync(3, List.of(data(9, 1)))).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("not one of the 2 configured append streams");
            log.free(List.of(three.segment()));
            assertThat(log.sealedSegments(3)).isEmpty();
        }
    }

    @Test
    void streamSettingsAndArgumentsAreChecked() throws Exception {
        assertThat(LogConfig.defaults().streams()).isEqualTo(2);
        assertThat(LogConfig.defaults().reservedSegments()).isEqualTo(2);
        assertThatThrownBy(() -> LogConfig.defaults().withStreams(0)).hasMessageContaining("from 1 to 4");
        assertThatThrownBy(() -> LogConfig.defaults().withReservedSegments(5).withStreams(5)).hasMessageContaining("from 1 to 4");
        assertThatThrownBy(() -> LogConfig.defaults().withReservedSegments(1))
                .hasMessageContaining("must be at least the number of streams (2)");
        assertThatThrownBy(() -> LogConfig.defaults().withStreams(4)).hasMessageContaining("must be at least the number of streams");
        assertThat(LogConfig.defaults().withReservedSegments(4).withStreams(4).streams()).isEqualTo(4);
        assertThat(LogConfig.defaults().withStreams(1).withReservedSegments(1).reservedSegments()).isEqualTo(1);
        try (FlashLog log = FlashLog.format(new RecordingFlashChannel(TestData.deviceSize(6)), TestData.smallConfig())) {
            List<Record> one = List.of(data(1, 1));
            assertThatThrownBy(() -> log.appendAsync(2, one)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> log.appendAsync(-1, one)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> log.appendReclaimAsync(2, one)).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> log.sealedSegments(4)).isInstanceOf(IllegalArgumentException.class);
            assertThat(log.openSegments()).isEmpty();
            assertThat(log.append(one).stream()).isZero();
        }
    }
}
