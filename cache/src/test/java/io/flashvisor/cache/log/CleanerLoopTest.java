package io.flashvisor.cache.log;

import static org.assertj.core.api.Assertions.assertThat;

import io.flashvisor.common.VolumeException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.junit.jupiter.api.Test;

/**
 * The reserve with several streams: a cleaner-like loop keeps a nearly full device going against
 * clients that append to both streams as fast as they can (a few hot keys, many cold ones, so
 * victims hold live data). The cleaner waits until the clients are held at the reserve, then takes
 * the oldest sealed segment (of any stream), re-appends its live records with reclaim appends to
 * both streams (alternately: so a round may have to roll both streams into new segments, which is
 * what the reserve of one segment per stream is for), and frees it, following the cleaner's rules
 * of docs/cache.md (one victim at a time; live records packed in sequence order into as few
 * appends as fit). The loop must complete its rounds — no append ever fails with NO_SPACE, which
 * is what a cleaner waiting for space only it can free ends in — and afterwards recovery must
 * find every key's latest version.
 */
class CleanerLoopTest {
    static final int HOT_KEYS = 8;
    static final int KEYS = 64;
    static final int ROUNDS = 60;

    /** The latest version of a key: where it is and what it holds. */
    record Version(long sequence, int stream, long seed, int blocks, int dataCrc) {
    }

    @Test
    void aCleanerWithTwoStreamsNeverWaitsForeverOnANearlyFullDevice() throws Exception {
        LogConfig config = TestData.smallConfig().withFreeSegmentWait(Duration.ofSeconds(20));
        Outcome o = run(config, TestData.deviceSize(8));
        assertThat(o.rounds).isGreaterThanOrEqualTo(ROUNDS);
        assertThat(o.clientAppends).isGreaterThan(ROUNDS * 10);
        assertThat(o.moved).as("live records moved").isPositive();
        // The situation the reserve is sized for happened: rounds that rolled both streams into new
        // segments while the clients were held at the reserve.
        assertThat(o.roundsRollingBothStreams).as("rounds that rolled both streams").isPositive();
        assertThat(o.minFree).as("lowest free count seen by the cleaner").isLessThan(config.reservedSegments());
    }

    static final class Outcome {
        int rounds;
        long clientAppends;
        long moved;
        int roundsRollingBothStreams;
        int minFree = Integer.MAX_VALUE;
    }

    static Outcome run(LogConfig config, int deviceSize) throws Exception {
        RecordingFlashChannel device = new RecordingFlashChannel(deviceSize);
        Map<Integer, Version> model = new ConcurrentHashMap<>();
        ReentrantLock[] locks = new ReentrantLock[KEYS];
        for (int k = 0; k < KEYS; k++) {
            locks[k] = new ReentrantLock();
        }
        AtomicBoolean stop = new AtomicBoolean();
        AtomicInteger liveClients = new AtomicInteger(2);
        List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger clientAppends = new AtomicInteger();
        Outcome outcome = new Outcome();
        try (FlashLog log = FlashLog.format(device, config)) {
            List<Thread> clients = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                int stream = t;
                clients.add(Thread.ofPlatform().name("client-" + t).start(() -> {
                    try {
                        SplittableRandom r = new SplittableRandom(stream);
                        for (long n = 0; !stop.get(); n++) {
                            int key = r.nextInt(4) == 0 ? HOT_KEYS + r.nextInt(KEYS - HOT_KEYS) : r.nextInt(HOT_KEYS);
                            int blocks = 1 + r.nextInt(2);
                            long seed = (long) stream << 32 | n;
                            locks[key].lock();
                            try {
                                Record rec = Record.data(1, key * 8L, TestData.blocks(seed, blocks), true, seed);
                                AppendResult a = log.append(stream, List.of(rec));
                                model.put(key, new Version(a.firstSequence(), stream, seed, blocks, rec.dataCrc()));
                                clientAppends.incrementAndGet();
                            } finally {
                                locks[key].unlock();
                            }
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                        stop.set(true);
                    } finally {
                        liveClients.decrementAndGet();
                    }
                }));
            }
            CompletableFuture<Void> cleaner = CompletableFuture.runAsync(() -> {
                try {
                    clean(log, config, model, locks, stop, liveClients, clientAppends, outcome);
                } catch (Exception e) {
                    throw new IllegalStateException("cleaner failed in round " + outcome.rounds + ": " + e, e);
                }
            }, r -> Thread.ofPlatform().name("cleaner").start(r));
            try {
                cleaner.get(120, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                throw new AssertionError("cleaner stuck after " + outcome.rounds + " rounds: " + log.stats() + ", open "
                        + log.openSegments() + ", sealed " + log.sealedSegments(), e);
            } catch (ExecutionException e) {
                throw new AssertionError("after " + outcome.rounds + " rounds: " + log.stats() + ", open "
                        + log.openSegments(), e.getCause());
            } finally {
                stop.set(true);
                for (Thread c : clients) {
                    c.join(30_000);
                }
            }
            assertThat(errors).isEmpty();
        }
        outcome.clientAppends = clientAppends.get();
        System.out.printf("cleaner: %d rounds, %d client appends, %d records moved, %d rounds rolled both streams,"
                + " lowest free count %d%n", outcome.rounds, outcome.clientAppends, outcome.moved,
                outcome.roundsRollingBothStreams, outcome.minFree);

        // Recovery finds every key's latest version as the highest sequence of that key.
        CollectingListener l = new CollectingListener();
        FlashLog.open(new RecordingFlashChannel(device.image()), config, l).close();
        assertThat(l.lost).isEmpty();
        assertThat(l.unreadable).isEmpty();
        assertThat(l.inSequenceOrder()).isTrue();
        Map<Integer, RecoveredRecord> newest = new HashMap<>();
        for (RecoveredRecord r : l.records) {
            newest.put((int) TestData.idOf(r), r);
        }
        assertThat(newest.keySet()).isEqualTo(model.keySet());
        byte[] image = device.image();
        for (Map.Entry<Integer, Version> e : model.entrySet()) {
            RecoveredRecord r = newest.get(e.getKey());
            Version v = e.getValue();
            assertThat(r.sequence()).as("key %d", e.getKey()).isEqualTo(v.sequence());
            assertThat(r.stream()).as("key %d", e.getKey()).isEqualTo(v.stream());
            assertThat(r.flushEpoch()).isEqualTo(v.seed());
            assertThat(r.dataCrc()).isEqualTo(v.dataCrc());
            assertThat(ByteBuffer.wrap(image, (int) (r.deviceBlock() * FlashLayout.BLOCK_SIZE), v.blocks() * FlashLayout.BLOCK_SIZE))
                    .isEqualTo(TestData.blocks(v.seed(), v.blocks()));
        }
        return outcome;
    }

    /**
     * The cleaner: while clients run, one round on the oldest sealed segment whenever the clients
     * are held at the reserve (free count at most the reserve, and no client append completed for a
     * millisecond: both streams' segments are full or reserved), which is when a round is most
     * likely to roll every stream. Clients that wait for space hold their key's lock; the cleaner
     * only tries locks, so it never waits for a client.
     */
    static void clean(FlashLog log, LogConfig config, Map<Integer, Version> model, ReentrantLock[] locks,
                      AtomicBoolean stop, AtomicInteger liveClients, AtomicInteger clientAppends, Outcome outcome)
            throws Exception {
        long seen = -1;
        while (liveClients.get() > 0) {
            if (outcome.rounds >= ROUNDS) {
                stop.set(true); // and go on cleaning until the clients' last appends are through
            }
            long appended = clientAppends.get();
            boolean stalled = appended == seen;
            seen = appended;
            if (log.freeSegmentCount() > config.reservedSegments() || !stalled && !stop.get()) {
                LockSupport.parkNanos(1_000_000);
                continue;
            }
            round(log, model, locks, outcome);
        }
    }

    static void round(FlashLog log, Map<Integer, Version> model, ReentrantLock[] locks, Outcome outcome) throws Exception {
        SegmentInfo victim = log.sealedSegments().getFirst();
        SegmentContents contents = log.readSegment(victim.segment());
        assertThat(contents.lost()).isEmpty();
        assertThat(contents.stream()).isEqualTo(victim.stream());
        Map<Integer, Integer> openBefore = openByStream(log);
        List<RecoveredRecord> live = new ArrayList<>();
        for (RecoveredRecord r : contents.records()) {
            Version v = model.get((int) TestData.idOf(r));
            if (v != null && v.sequence() == r.sequence()) {
                live.add(r);
            }
        }
        for (int stream = 0; stream < 2; stream++) {
            // Live records bound for this stream (every other one), in sequence order, packed greedily.
            List<List<RecoveredRecord>> appends = new ArrayList<>();
            List<RecoveredRecord> current = new ArrayList<>();
            int blocks = 0;
            for (int i = stream; i < live.size(); i += 2) {
                RecoveredRecord r = live.get(i);
                if (current.size() == BatchHeader.MAX_ENTRIES || blocks + r.blockCount() > log.maxAppendBlocks()) {
                    appends.add(current);
                    current = new ArrayList<>();
                    blocks = 0;
                }
                current.add(r);
                blocks += r.blockCount();
            }
            if (!current.isEmpty()) {
                appends.add(current);
            }
            for (List<RecoveredRecord> group : appends) {
                move(log, stream, group, model, locks, outcome);
            }
        }
        // Clients wait while the free count is at or below the reserve, so what rolled here, the cleaner rolled.
        Map<Integer, Integer> openAfter = openByStream(log);
        int rolled = 0;
        for (Map.Entry<Integer, Integer> e : openAfter.entrySet()) {
            if (!e.getValue().equals(openBefore.get(e.getKey()))) {
                rolled++;
            }
        }
        if (rolled == 2) {
            outcome.roundsRollingBothStreams++;
        }
        outcome.minFree = Math.min(outcome.minFree, log.freeSegmentCount());
        log.free(List.of(victim.segment()));
        outcome.rounds++;
    }

    static Map<Integer, Integer> openByStream(FlashLog log) {
        Map<Integer, Integer> open = new HashMap<>();
        for (SegmentInfo i : log.openSegments()) {
            open.put(i.stream(), i.segment());
        }
        return open;
    }

    /** One reclaim append of the records of {@code group} that are still live and not being rewritten. */
    static void move(FlashLog log, int stream, List<RecoveredRecord> group, Map<Integer, Version> model,
                     ReentrantLock[] locks, Outcome outcome) throws Exception {
        List<RecoveredRecord> live = new ArrayList<>();
        List<ReentrantLock> held = new ArrayList<>();
        try {
            for (RecoveredRecord r : group) {
                int key = (int) TestData.idOf(r);
                ReentrantLock lock = locks[key];
                if (!lock.tryLock()) {
                    continue; // a client is rewriting it: the old version dies anyway
                }
                held.add(lock);
                Version v = model.get(key);
                if (v != null && v.sequence() == r.sequence()) {
                    live.add(r);
                }
            }
            if (live.isEmpty()) {
                return;
            }
            List<Record> records = new ArrayList<>();
            for (RecoveredRecord r : live) {
                ByteBuffer data = ByteBuffer.allocate(r.blockCount() * FlashLayout.BLOCK_SIZE);
                log.readRecord(r, data);
                records.add(Record.data(r.volumeId(), r.firstBlock(), data.flip(), r.dirty(), r.flushEpoch()));
            }
            AppendResult a;
            try {
                a = log.appendReclaimAsync(stream, records).get(60, TimeUnit.SECONDS);
            } catch (ExecutionException e) {
                if (e.getCause() instanceof VolumeException v) {
                    throw new VolumeException(v.error(), "reclaim append to stream " + stream + ": " + v.getMessage(), v);
                }
                throw e;
            }
            outcome.minFree = Math.min(outcome.minFree, log.freeSegmentCount());
            for (int i = 0; i < live.size(); i++) {
                RecoveredRecord r = live.get(i);
                Version old = model.get((int) TestData.idOf(r));
                model.put((int) TestData.idOf(r), new Version(a.sequence(i), stream, old.seed(), old.blocks(), old.dataCrc()));
                outcome.moved++;
            }
        } finally {
            for (ReentrantLock lock : held) {
                lock.unlock();
            }
        }
    }
}
