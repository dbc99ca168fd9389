package io.flashvisor.cache.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * Segments are filled, freed and reused; a freed segment's old batches never come back, neither
 * through its zeroed first block nor as stale batches behind a new, shorter life.
 */
class SegmentReuseTest {
    /** 8 data blocks: a batch of 9 blocks, 7 batches to a 64-block segment. */
    static Record big(long id) {
        return Record.data(1, id * 8, TestData.blocks(id, 8), true);
    }

    @Test
    void filledSegmentsAreFreedAndReusedAndOldRecordsNeverReturn() throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(TestData.deviceSize(6));
        Map<Integer, List<Long>> bySegment = new HashMap<>();
        long id = 0;
        try (FlashLog log = FlashLog.format(device, TestData.smallConfig())) {
            for (; id < 22; id++) {
                bySegment.computeIfAbsent(log.append(List.of(big(id))).segment(), s -> new ArrayList<>()).add(id);
            }
            assertThat(log.sealedSegments()).extracting(SegmentInfo::segment).containsExactly(0, 1, 2);
            assertThat(log.sealedSegments()).extracting(SegmentInfo::generation).containsExactly(1L, 2L, 3L);
            assertThat(log.sealedSegments()).extracting(SegmentInfo::usedBlocks).containsOnly(63);
            assertThat(log.freeSegmentCount()).isEqualTo(2);

            SegmentContents zero = log.readSegment(0);
            assertThat(zero.records()).extracting(TestData::idOf).containsExactlyElementsOf(bySegment.get(0));
            for (RecoveredRecord r : zero.records()) {
                ByteBuffer data = ByteBuffer.allocate(8 * FlashLayout.BLOCK_SIZE);
                log.readRecord(r, data);
                assertThat(data.flip()).isEqualTo(TestData.blocks(TestData.idOf(r), 8));
            }

            log.free(List.of(0, 1, 2));
            bySegment.remove(0);
            bySegment.remove(1);
            bySegment.remove(2);
            for (int s : List.of(0, 1, 2)) {
                long offset = log.layout().segmentOffset(s);
                assertThat(ByteBuffer.wrap(device.array(), (int) offset, FlashLayout.BLOCK_SIZE))
                        .as("first block of freed segment %d", s).isEqualTo(ByteBuffer.allocate(FlashLayout.BLOCK_SIZE));
            }
            assertThat(log.freeSegmentCount()).isEqualTo(5);
            // Wrap around: free segments are used oldest-freed first (4, 5, then 0); stop after a
            // short life of segment 0, leaving its old batches behind the new tail.
            AppendResult r;
            do {
                r = log.append(List.of(Record.data(1, id * 8, TestData.blocks(id, 1), false)));
                bySegment.computeIfAbsent(r.segment(), s -> new ArrayList<>()).add(id++);
            } while (r.segment() != 0 || bySegment.get(0).size() < 3);
            assertThat(log.sealedSegments()).extracting(SegmentInfo::segment).containsExactly(3, 4, 5);
        }
        CollectingListener l = new CollectingListener();
        FlashLog.open(new RecordingFlashChannel(device.image()), TestData.smallConfig(), l).close();
        Set<Long> expected = bySegment.values().stream().flatMap(List::stream).collect(Collectors.toSet());
        assertThat(l.records).extracting(TestData::idOf).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(l.lost).isEmpty();
        assertThat(l.unreadable).isEmpty();
        assertThat(l.inSequenceOrder()).isTrue();
    }

    /**
     * readSegment keeps one scanner (and its read window) from call to call: reading a segment
     * again after it was freed and written anew must show its new life, not the window's old bytes.
     */
    @Test
    void readSegmentSeesARewrittenSegmentsNewRecords() throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(TestData.deviceSize(6));
        try (FlashLog log = FlashLog.format(device, TestData.smallConfig())) {
            long id = 0;
            List<Long> first = new ArrayList<>();
            for (; id < 22; id++) {
                AppendResult r = log.append(List.of(big(id)));
                if (r.segment() == 0) {
                    first.add(id);
                }
            }
            assertThat(log.readSegment(0).records()).extracting(TestData::idOf).containsExactlyElementsOf(first);
            log.free(List.of(0, 1, 2));
            List<Long> second = new ArrayList<>();
            while (!log.sealedSegments().stream().anyMatch(si -> si.segment() == 0)) {
                // Keep room: every other sealed segment goes back to the free list (the log keeps a reserve for reclaim).
                List<Integer> others = log.sealedSegments().stream().map(SegmentInfo::segment).filter(sg -> sg != 0).toList();
                if (!others.isEmpty()) {
                    log.free(others);
                }
                AppendResult r = log.append(List.of(big(id)));
                if (r.segment() == 0) {
                    second.add(id);
                }
                id++;
            }
            assertThat(second).isNotEmpty().doesNotContainAnyElementsOf(first);
            assertThat(log.readSegment(0).records()).extracting(TestData::idOf).containsExactlyElementsOf(second);
        }
    }

    /**
     * Regression for a flaw of the first format draft: after the newest segments are freed and the
     * node restarts, the next generation number can equal one a reused segment had before, and a
     * batch of the same size then lines the new tail up with a stale batch of the same generation
     * (and even the next sequence). The segment salt tells the lives apart.
     */
    @Test
    void staleBatchesOfARepeatedGenerationDoNotComeBack() throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(TestData.deviceSize(5));
        try (FlashLog log = FlashLog.format(device, TestData.smallConfig())) {
            for (int i = 0; i < 7; i++) {
                assertThat(log.append(List.of(Record.data(1, i * 8L, TestData.blocks(i, 1), true))).segment()).isZero();
            }
        }
        device = reopen(device, log -> log.free(List.of(0)));
        device = reopen(device, log -> {
            assertThat(log.recovery().maxGeneration()).isZero();
            AppendResult r = log.append(List.of(Record.data(1, 800, TestData.blocks(100, 1), true)));
            assertThat(r.segment()).isZero();
            assertThat(r.firstSequence()).isEqualTo(1);
        });
        CollectingListener l = new CollectingListener();
        FlashLog.open(new RecordingFlashChannel(device.image()), TestData.smallConfig(), l).close();
        assertThat(l.records).extracting(TestData::idOf).containsExactly(100L);
    }

    interface LogAction {
        void run(FlashLog log) throws Exception;
    }

    static RecordingFlashChannel reopen(RecordingFlashChannel device, LogAction action) throws Exception {
        RecordingFlashChannel next = new RecordingFlashChannel(device.image());
        try (FlashLog log = FlashLog.open(next, TestData.smallConfig(), RecoveryListener.IGNORE)) {
            action.run(log);
        }
        return next;
    }

    @Test
    void aCrashWhileFreeingLeavesEachSegmentWholeOrGone() throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(TestData.deviceSize(6));
        Map<Integer, Set<Long>> bySegment = new HashMap<>();
        byte[] base;
        try (FlashLog log = FlashLog.format(device, TestData.smallConfig())) {
            for (long id = 0; id < 22; id++) {
                bySegment.computeIfAbsent(log.append(List.of(big(id))).segment(), s -> new HashSet<>()).add(id);
            }
            base = device.startRecording();
            log.free(List.of(0, 1));
        }
        assertThat(device.events()).hasSize(3);
        int images = CrashImages.forEach(base, device.events(), 3, image -> {
            CollectingListener l = new CollectingListener();
            try {
                LogRecovery.run(new RecordingFlashChannel(image.bytes()), TestData.superblockOf(image.bytes()), l);
            } catch (Exception e) {
                throw new AssertionError(image.description(), e);
            }
            Set<Long> found = l.records.stream().map(TestData::idOf).collect(Collectors.toSet());
            assertThat(l.lost).as(image.description()).isEmpty();
            assertThat(l.unreadable).as(image.description()).isEmpty();
            for (int s = 0; s < 4; s++) {
                Set<Long> ids = bySegment.get(s);
                boolean all = found.containsAll(ids);
                boolean none = ids.stream().noneMatch(found::contains);
                assertThat(all || none).as("%s: segment %d is neither whole nor gone", image.description(), s).isTrue();
                if (s >= 2) {
                    assertThat(all).as("%s: segment %d was not freed", image.description(), s).isTrue();
                }
            }
        });
        assertThat(images).isGreaterThan(10);
    }

    @Test
    void onlySealedSegmentsCanBeFreedOrRead() throws Exception {
        try (FlashLog log = FlashLog.format(new RecordingFlashChannel(TestData.deviceSize(6)), TestData.smallConfig())) {
            for (long id = 0; id < 8; id++) {
                log.append(List.of(big(id)));
            }
            assertThat(log.sealedSegments()).extracting(SegmentInfo::segment).containsExactly(0);
            assertThatThrownBy(() -> log.free(List.of(1))).isInstanceOf(IllegalStateException.class).hasMessageContaining("OPEN");
            assertThatThrownBy(() -> log.free(List.of(2))).isInstanceOf(IllegalStateException.class).hasMessageContaining("FREE");
            assertThatThrownBy(() -> log.free(List.of(6))).isInstanceOf(IllegalArgumentException.class);
            assertThatThrownBy(() -> log.readSegment(1)).isInstanceOf(IllegalStateException.class);
            log.free(List.of(0, 0));
            assertThatThrownBy(() -> log.free(List.of(0))).isInstanceOf(IllegalStateException.class);
            assertThat(log.sealedSegments()).isEmpty();
            assertThat(log.stats().sealedSegments()).isZero();
        }
    }
}
