package io.flashvisor.cache.log;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * I5 by enumeration: a workload of concurrent appends, spread over both append streams, runs on a
 * {@link RecordingFlashChannel}; then every device state a power failure could have left
 * ({@link CrashImages}) is recovered and checked: every append acknowledged before the crash is
 * there with identical data and the sequence, stream and location it was given; nothing is there
 * that was never appended; a crash never makes recovery report a loss (so the torn tail is found
 * whichever stream's segment holds it); recovery delivers in sequence order across the streams;
 * and recovery run again, after {@code open}'s repair, or after an interrupted run, gives the same
 * records.
 */
class CrashConsistencyTest {

    /** Logged in the channel's event log when an append completes: the crash checker's "acknowledged". */
    record Ack(int stream, List<Long> ids, AppendResult result) {
    }

    record Workload(byte[] base, List<RecordingFlashChannel.Event> events, Map<Long, Record> submitted, int acked,
                    int failed) {
    }

    static Workload run(FlashChannel channel, RecordingFlashChannel recorder, int threads, int appendsPerThread, int maxBlocks)
            throws Exception {
        Map<Long, Record> submitted = new ConcurrentHashMap<>();
        AtomicInteger acked = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        List<Throwable> bugs = new java.util.concurrent.CopyOnWriteArrayList<>();
        byte[] base;
        try (FlashLog log = FlashLog.format(channel, TestData.smallConfig())) {
            base = recorder.startRecording();
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                workers.add(Thread.ofPlatform().uncaughtExceptionHandler((th, e) -> bugs.add(e)).start(() -> {
                    for (int j = 0; j < appendsPerThread; j++) {
                        List<Record> records = new ArrayList<>();
                        List<Long> ids = new ArrayList<>();
                        int n = 1 + (j + thread) % 3;
                        for (int k = 0; k < n; k++) {
                            long id = (thread * 1000L + j) * 4 + k;
                            Record r = TestData.record(id, maxBlocks);
                            submitted.put(id, r);
                            records.add(r);
                            ids.add(id);
                        }
                        // Each thread alternates between the streams, so batches of both interleave.
                        int stream = (thread + j) % 2;
                        CompletableFuture<AppendResult> f = log.appendAsync(stream, records);
                        f.whenComplete((result, error) -> {
                            if (error == null) {
                                recorder.mark(new Ack(stream, ids, result));
                            }
                        });
                        try {
                            f.join();
                            acked.incrementAndGet();
                        } catch (RuntimeException e) {
                            failed.incrementAndGet();
                        }
                    }
                }));
            }
            for (Thread w : workers) {
                w.join();
            }
        }
        assertThat(bugs).isEmpty();
        return new Workload(base, recorder.events(), Map.copyOf(submitted), acked.get(), failed.get());
    }

    /** Recovers {@code image} and checks it against the workload; returns the records recovered. */
    static CollectingListener check(CrashImages.Image image, Map<Long, Record> submitted) {
        CollectingListener l = new CollectingListener();
        try {
            LogRecovery.run(new RecordingFlashChannel(image.bytes().clone()), TestData.superblockOf(image.bytes()), l);
        } catch (IOException | FormatException e) {
            throw new AssertionError(image.description() + ": recovery failed", e);
        }
        try {
            assertThat(l.lost).as("lost records").isEmpty();
            assertThat(l.unreadable).as("unreadable runs").isEmpty();
            assertThat(l.inSequenceOrder()).as("sequence order").isTrue();
            Map<Long, RecoveredRecord> byId = new HashMap<>();
            for (RecoveredRecord r : l.records) {
                Record expected = submitted.get(TestData.idOf(r));
                assertThat(expected).as("recovered %s was never appended", r).isNotNull();
                TestData.assertSame(r, expected, image.bytes());
                assertThat(byId.put(TestData.idOf(r), r)).as("recovered twice: %s", r).isNull();
            }
            for (Object mark : image.marks()) {
                Ack ack = (Ack) mark;
                assertThat(ack.result().stream()).isEqualTo(ack.stream());
                for (int i = 0; i < ack.ids().size(); i++) {
                    RecoveredRecord r = byId.get(ack.ids().get(i));
                    assertThat(r).as("acknowledged record %d (%s) is missing", ack.ids().get(i), ack.result()).isNotNull();
                    assertThat(r.sequence()).isEqualTo(ack.result().sequence(i));
                    assertThat(r.deviceBlock()).isEqualTo(ack.result().deviceBlock(i));
                    assertThat(r.segment()).isEqualTo(ack.result().segment());
                    assertThat(r.stream()).as("stream of record %d", ack.ids().get(i)).isEqualTo(ack.stream());
                }
            }
        } catch (AssertionError e) {
            throw new AssertionError(image.description() + ": " + e.getMessage(), e);
        }
        return l;
    }

    /** Recovery through {@code open} (with its repair), again on the repaired device, and after an interrupted run: all equal. */
    static void checkIdempotent(CrashImages.Image image, CollectingListener expected) throws Exception {
        RecordingFlashChannel interrupted = new RecordingFlashChannel(image.bytes().clone());
        if (!expected.records.isEmpty()) {
            int stopAt = expected.records.size() / 2;
            assertThatThrownBy(() -> FlashLog.open(interrupted, TestData.smallConfig(), new CollectingListener(stopAt)))
                    .isInstanceOf(IllegalStateException.class);
            assertThat(interrupted.image()).as("%s: an interrupted recovery wrote", image.description()).isEqualTo(image.bytes());
        }
        RecordingFlashChannel device = interrupted;
        for (int round = 0; round < 2; round++) {
            CollectingListener l = new CollectingListener();
            FlashLog log = FlashLog.open(device, TestData.smallConfig(), l);
            log.close();
            assertThat(l.records).as("%s: recovery round %d", image.description(), round).isEqualTo(expected.records);
            assertThat(l.lost).isEmpty();
            if (round == 0) {
                // open() closed the channel with the log: give the next round a fresh one on the same bytes.
                device = new RecordingFlashChannel(device.image());
            }
        }
    }

    static int checkAll(Workload w, long seed) {
        AtomicInteger images = new AtomicInteger();
        CrashImages.forEach(w.base(), w.events(), seed, image -> {
            CollectingListener l = check(image, w.submitted());
            if (images.getAndIncrement() % 11 == 0) {
                try {
                    checkIdempotent(image, l);
                } catch (Exception e) {
                    throw new AssertionError(image.description(), e);
                }
            }
        });
        System.out.printf("%d crash images recovered and checked%n", images.get());
        return images.get();
    }

    @Test
    void everyCrashImageHoldsEveryAcknowledgedAppend() throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(TestData.deviceSize(8));
        Workload w = run(device, device, 4, 25, 2);
        assertThat(w.failed()).isZero();
        int images = checkAll(w, 1);
        assertThat(images).isGreaterThan(500);
        // The workload crossed segments in both streams and batched concurrent appends.
        long forces = w.events().stream().filter(e -> e instanceof RecordingFlashChannel.Force).count();
        assertThat(forces).isLessThan(w.acked());
        Map<Integer, java.util.Set<Integer>> segmentsByStream = new HashMap<>();
        for (RecordingFlashChannel.Event e : w.events()) {
            if (e instanceof RecordingFlashChannel.Mark m && m.what() instanceof Ack ack) {
                segmentsByStream.computeIfAbsent(ack.stream(), s -> new java.util.HashSet<>()).add(ack.result().segment());
            }
        }
        assertThat(segmentsByStream.keySet()).containsExactlyInAnyOrder(0, 1);
        assertThat(segmentsByStream.values()).allSatisfy(segments -> assertThat(segments).hasSizeGreaterThan(1));
    }

    @Test
    void everyCrashImageAfterAFailedPartialWrite() throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(TestData.deviceSize(8));
        FaultyFlashChannel faulty = new FaultyFlashChannel(device);
        // format writes 3 times; then 20 batches succeed and the 21st writes 60 % of itself and fails.
        faulty.failWrite(3 + 20, new IOException("Input/output error (injected)"), 0.6);
        Workload w = run(faulty, device, 3, 20, 2);
        assertThat(w.failed()).isPositive();
        assertThat(w.acked()).isPositive();
        checkAll(w, 2);
    }

    /**
     * The torn tail stays a torn tail: after a crash that tears the newest batch, open() discards it,
     * more batches follow, and the next recovery must not call the old torn batch corruption.
     */
    @Test
    void tornTailStaysDiscardedAfterRestartAndMoreAppends() throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(TestData.deviceSize(8));
        try (FlashLog log = FlashLog.format(device, TestData.smallConfig())) {
            for (int i = 0; i < 10; i++) {
                log.append(List.of(TestData.record(i, 3)));
            }
            device.startRecording();
            log.append(List.of(Record.data(1, 8_000, TestData.blocks(8_000 / 8, 2), true)));
        }
        // Tear the last batch: its header and the first sector of its data arrived, the rest did not.
        RecordingFlashChannel.Write last = (RecordingFlashChannel.Write) device.events().getFirst();
        byte[] image = device.image();
        Arrays.fill(image, (int) last.position() + FlashLayout.BLOCK_SIZE + CrashImages.SECTOR, (int) last.end(), (byte) 0x5A);
        RecordingFlashChannel crashed = new RecordingFlashChannel(image);
        CollectingListener first = new CollectingListener();
        try (FlashLog log = FlashLog.open(crashed, TestData.smallConfig(), first)) {
            assertThat(log.recovery().tornTail()).isTrue();
            assertThat(first.lost).isEmpty();
            assertThat(first.records).hasSize(10);
            for (int i = 0; i < 5; i++) {
                log.append(List.of(TestData.record(90_000 + i, 2)));
            }
        }
        CollectingListener second = new CollectingListener();
        try (FlashLog log = FlashLog.open(new RecordingFlashChannel(crashed.image()), TestData.smallConfig(), second)) {
            assertThat(log.recovery().tornTail()).isFalse();
        }
        assertThat(second.lost).isEmpty();
        assertThat(second.unreadable).isEmpty();
        assertThat(second.records.subList(0, first.records.size())).isEqualTo(first.records);
        assertThat(second.records).hasSize(first.records.size() + 5);
        assertThat(second.inSequenceOrder()).isTrue();
    }
}
