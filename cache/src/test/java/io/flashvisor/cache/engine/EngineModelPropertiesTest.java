package io.flashvisor.cache.engine;

import static io.flashvisor.cache.engine.TestBlocks.BLOCK;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

/**
 * Random interleavings of the engine's operations on a tiny device (8 segments of 64 blocks, two
 * volumes, so the cleaner reclaims all the time), checked against a model after every step:
 *
 * <ul>
 * <li>a hit returns exactly the newest acknowledged version of the block (never an older one, never
 *     another block's data), across reclaim, crashes and restarts;</li>
 * <li>every acknowledged dirty write stays readable, with its data, until destaged — after any crash
 *     too (the crash image keeps only what was forced, plus a random subset, maybe torn, of the rest);</li>
 * <li>destage batches come from the oldest epoch with dirty data, and carry, per block, the newest
 *     version the model says that epoch owes (or, after a crash, one that was destaged already and
 *     whose CLEAN record was lost);</li>
 * <li>after a full destage nothing is dirty and the backing store holds every owed version;</li>
 * <li>the engine's internal invariants hold ({@code checkInvariants}).</li>
 * </ul>
 */
class EngineModelPropertiesTest {
    static final int SEGMENTS = 8;
    /** Dirty blocks per volume above which the test destages first (the volume layer's dirty ratio). */
    static final int DIRTY_LIMIT = 50;
    static final int BLOCKS = 120;
    static final String[] NAMES = {"a", "b"};

    sealed interface Action permits Write, Read, Invalidate, Flush, Destage, Clean, Crash, CrashDuringWrite, DuringReclaim {
    }

    record Write(int volume, int block, int count, boolean dirty) implements Action {
    }

    record Read(int volume, int block) implements Action {
    }

    record Invalidate(int volume, int block, int count) implements Action {
    }

    record Flush(int volume) implements Action {
    }

    record Destage(int volume, int maxBlocks) implements Action {
    }

    record Clean(int rounds) implements Action {
    }

    record Crash(long seed) implements Action {
    }

    record CrashDuringWrite(Write write, long seed) implements Action {
    }

    /** A write or invalidate submitted, then a reclaim round run while it is in flight, then awaited. */
    record DuringReclaim(Action client) implements Action {
    }

    @Provide
    Arbitrary<List<Action>> actions() {
        Arbitrary<Integer> volume = Arbitraries.integers().between(0, NAMES.length - 1);
        Arbitrary<Integer> block = Arbitraries.integers().between(0, BLOCKS - 1);
        Arbitrary<Write> write = Combinators.combine(volume, block, Arbitraries.integers().between(1, 16),
                Arbitraries.of(true, false)).as(Write::new);
        Arbitrary<Invalidate> invalidate = Combinators.combine(volume, block, Arbitraries.integers().between(1, 40))
                .as(Invalidate::new);
        Arbitrary<Action> action = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(35, write.map(w -> (Action) w)),
                net.jqwik.api.Tuple.of(15, Combinators.combine(volume, block).as(Read::new)),
                net.jqwik.api.Tuple.of(5, invalidate.map(i -> (Action) i)),
                net.jqwik.api.Tuple.of(6, write.map(w -> (Action) new DuringReclaim(w))),
                net.jqwik.api.Tuple.of(2, invalidate.map(i -> (Action) new DuringReclaim(i))),
                net.jqwik.api.Tuple.of(8, volume.map(Flush::new)),
                net.jqwik.api.Tuple.of(12, Combinators.combine(volume, Arbitraries.integers().between(1, 10)).as(Destage::new)),
                net.jqwik.api.Tuple.of(8, Arbitraries.integers().between(1, 4).map(Clean::new)),
                net.jqwik.api.Tuple.of(3, Arbitraries.longs().map(Crash::new)),
                net.jqwik.api.Tuple.of(3, Combinators.combine(write, Arbitraries.longs()).as(CrashDuringWrite::new)));
        return action.list().ofMinSize(20).ofMaxSize(150);
    }

    /** What the engine must hold for one volume. */
    static final class Model {
        final Map<Long, Long> newest = new HashMap<>();
        /** epoch → block → version the backing store is owed. */
        final TreeMap<Long, Map<Long, Long>> owed = new TreeMap<>();
        /** "block@epoch" → version destaged (after a crash its CLEAN may be lost: it may come again). */
        final Map<String, Long> destaged = new HashMap<>();
        final Map<Long, Long> backing = new HashMap<>();
        long epoch = 1;

        void write(long block, long version, boolean dirty) {
            newest.put(block, version);
            if (dirty) {
                owed.computeIfAbsent(epoch, e -> new HashMap<>()).put(block, version);
            } else {
                dropOwed(block);
            }
        }

        void invalidate(long block) {
            newest.remove(block);
            dropOwed(block);
        }

        void dropOwed(long block) {
            owed.values().forEach(m -> m.remove(block));
            owed.values().removeIf(Map::isEmpty);
        }

        boolean owes(long block) {
            for (Map<Long, Long> m : owed.values()) {
                if (m.containsKey(block)) {
                    return true;
                }
            }
            return false;
        }

        long owedCount() {
            return owed.values().stream().mapToLong(Map::size).sum();
        }
    }

    /** One run: the device, the cache, the volumes and the models. */
    static final class Run {
        final int dirtyLimit;
        MemoryFlashChannel device;
        FlashCache cache;
        VolumeCache[] volumes = new VolumeCache[NAMES.length];
        final Model[] models = new Model[NAMES.length];
        long nextVersion = 1;
        int crashes;
        long destagedBlocks;
        long rounds;
        long moved;
        long shadowed;

        Run(int segments, int dirtyLimit) throws Exception {
            this.dirtyLimit = dirtyLimit;
            device = new MemoryFlashChannel(TestBlocks.deviceSize(segments));
            cache = FlashCache.format(device, TestBlocks.smallConfig(false), false);
            for (int i = 0; i < NAMES.length; i++) {
                models[i] = new Model();
                volumes[i] = cache.attach(NAMES[i]);
            }
        }

        void reopen(byte[] image) throws Exception {
            rounds += cache.stats().cleanerRounds();
            moved += cache.stats().movedBlocks();
            shadowed += cache.stats().shadowedAppends();
            cache.close();
            device = new MemoryFlashChannel(image);
            cache = FlashCache.open(device, TestBlocks.smallConfig(false));
            for (int i = 0; i < NAMES.length; i++) {
                volumes[i] = cache.attach(NAMES[i]);
                // A restarted volume opens a new epoch above everything recovered.
                long highest = volumes[i].highestFlushEpoch();
                models[i].epoch = Math.max(models[i].epoch, highest == VolumeCache.NO_EPOCH ? 0 : highest) + 1;
            }
            crashes++;
        }
    }

    @Property(tries = 250)
    void theEngineAgreesWithTheModel(@ForAll("actions") List<Action> actions) throws Exception {
        Run run = check(actions, SEGMENTS, DIRTY_LIMIT);
        Statistics.label("cleaner rounds").collect(run.rounds == 0 ? "0" : run.rounds < 20 ? "1-19" : "20+");
        Statistics.label("crashes").collect(Math.min(run.crashes, 3));
        Statistics.label("blocks moved").collect(run.moved > 0);
        Statistics.label("shadowed appends").collect(run.shadowed > 0);
    }

    /** Runs {@code actions} on a fresh device, checking after every step, then destages everything and checks the end state. */
    static Run check(List<Action> actions, int segments, int dirtyLimit) throws Exception {
        Run run = new Run(segments, dirtyLimit);
        try {
            for (Action a : actions) {
                step(run, a);
                run.cache.checkInvariants();
            }
            // Destage everything; then the backing store holds every owed version and nothing is dirty.
            for (int i = 0; i < NAMES.length; i++) {
                while (destage(run, i, 8)) {
                    // until empty
                }
                assertThat(run.models[i].owed).as("owed by volume %s after a full destage", NAMES[i]).isEmpty();
                assertThat(run.volumes[i].dirtyBlocks()).isZero();
                for (long b = 0; b < BLOCKS + 12; b++) {
                    checkRead(run, i, b);
                }
            }
            run.cache.checkInvariants();
            CacheStats s = run.cache.stats();
            run.rounds += s.cleanerRounds();
            run.moved += s.movedBlocks();
            run.shadowed += s.shadowedAppends();
            return run;
        } finally {
            run.cache.close();
        }
    }

    private static void step(Run run, Action action) throws Exception {
        switch (action) {
            case Write w -> {
                prepareWrite(run, w);
                submit(run, w).run();
            }
            case Read r -> checkRead(run, r.volume(), r.block());
            case Invalidate inv -> submit(run, inv).run();
            case DuringReclaim d -> {
                if (d.client() instanceof Write w) {
                    prepareWrite(run, w);
                }
                Acknowledge ack = submit(run, d.client());
                run.cache.cleaner().reclaimOnce();
                ack.run();
            }
            case Flush f -> run.models[f.volume()].epoch++;
            case Destage d -> destage(run, d.volume(), d.maxBlocks());
            case Clean c -> {
                for (int i = 0; i < c.rounds(); i++) {
                    run.cache.cleaner().reclaimOnce();
                }
            }
            case Crash c -> {
                run.reopen(run.device.crashImage(new SplittableRandom(c.seed())));
                checkAll(run);
            }
            case CrashDuringWrite c -> crashDuringWrite(run, c);
        }
    }

    /** Waits for a submitted client operation and applies it to the model. */
    @FunctionalInterface
    interface Acknowledge {
        void run() throws Exception;
    }

    private static Acknowledge submit(Run run, Action action) {
        switch (action) {
            case Write w -> {
                long version = run.nextVersion++;
                VolumeCache v = run.volumes[w.volume()];
                Model m = run.models[w.volume()];
                int count = Math.min(w.count(), BLOCKS + 12 - w.block());
                long epoch = m.epoch;
                CompletableFuture<Void> f = v.insert(w.block(), TestBlocks.data(v.volumeId(), w.block(), version, count),
                        w.dirty(), epoch);
                return () -> {
                    f.get();
                    for (int i = 0; i < count; i++) {
                        m.write(w.block() + i, version, w.dirty());
                    }
                };
            }
            case Invalidate inv -> {
                CompletableFuture<Void> f = run.volumes[inv.volume()].invalidate(inv.block(), inv.count());
                return () -> {
                    f.get();
                    for (int i = 0; i < inv.count(); i++) {
                        run.models[inv.volume()].invalidate(inv.block() + i);
                    }
                };
            }
            default -> throw new IllegalArgumentException(action.toString());
        }
    }

    /** Keeps the dirty set bounded (the volume layer's dirty ratio) and the cleaner ahead (its thread). */
    private static void prepareWrite(Run run, Write w) throws Exception {
        for (int i = 0; i < NAMES.length; i++) {
            while (run.volumes[i].dirtyBlocks() > run.dirtyLimit && destage(run, i, 8)) {
                // destage down
            }
        }
        TestBlocks.clean(run.cache);
    }

    private static void crashDuringWrite(Run run, CrashDuringWrite c) throws Exception {
        Write w = c.write();
        prepareWrite(run, w);
        long version = run.nextVersion++;
        VolumeCache v = run.volumes[w.volume()];
        int count = Math.min(w.count(), BLOCKS + 12 - w.block());
        CompletableFuture<Void> f = v.insert(w.block(), TestBlocks.data(v.volumeId(), w.block(), version, count),
                w.dirty(), run.models[w.volume()].epoch);
        byte[] image = run.device.crashImage(new SplittableRandom(c.seed()));
        f.handle((x, t) -> null).get();
        Model m = run.models[w.volume()];
        long epochAtWrite = m.epoch;
        run.reopen(image);
        // The write was in flight: each block now holds either its old state or the new version.
        for (int i = 0; i < count; i++) {
            long block = w.block() + i;
            long got = TestBlocks.read(run.volumes[w.volume()], block);
            if (got == version) {
                long now = m.epoch;
                m.epoch = epochAtWrite;
                m.write(block, version, w.dirty());
                m.epoch = now;
            } else {
                checkVersion(m, block, got, NAMES[w.volume()]);
            }
        }
        checkAll(run);
    }

    private static void checkAll(Run run) throws Exception {
        for (int i = 0; i < NAMES.length; i++) {
            for (long b = 0; b < BLOCKS + 12; b++) {
                checkRead(run, i, b);
            }
        }
    }

    private static void checkRead(Run run, int volume, long block) throws Exception {
        long got = TestBlocks.read(run.volumes[volume], block);
        checkVersion(run.models[volume], block, got, NAMES[volume]);
    }

    private static void checkVersion(Model m, long block, long got, String volume) {
        Long want = m.newest.get(block);
        if (got >= 0) {
            assertThat(want).as("volume %s block %d: a hit on a block the model does not hold (got version %d)", volume,
                    block, got).isNotNull();
            assertThat(got).as("volume %s block %d: a hit must return the newest acknowledged version", volume, block)
                    .isEqualTo(want);
        } else {
            assertThat(m.owes(block)).as("volume %s block %d: a dirty block (version %s) must stay cached until destaged",
                    volume, block, want).isFalse();
        }
    }

    /** One destage batch checked against the model; false if the engine had nothing to hand out. */
    private static boolean destage(Run run, int volume, int maxBlocks) throws Exception {
        VolumeCache v = run.volumes[volume];
        Model m = run.models[volume];
        long oldest = v.oldestDirtyEpoch();
        DestageBatch batch = v.nextDestageBatch(maxBlocks);
        if (batch.isEmpty()) {
            assertThat(m.owed).as("volume %s: the engine has nothing to destage but the model owes", NAMES[volume]).isEmpty();
            return false;
        }
        long epoch = batch.flushEpoch();
        assertThat(epoch).as("a batch comes from the engine's oldest dirty epoch").isEqualTo(oldest);
        if (!m.owed.isEmpty()) {
            assertThat(epoch).as("volume %s: a batch of epoch %d while epoch %d is still owed", NAMES[volume], epoch,
                    m.owed.firstKey()).isLessThanOrEqualTo(m.owed.firstKey());
        }
        for (int run2 = 0; run2 < batch.runCount(); run2++) {
            ByteBuffer data = ByteBuffer.allocate(batch.runLength(run2) * BLOCK);
            v.readDestageRun(batch, run2, data);
            for (int i = 0; i < batch.runLength(run2); i++) {
                long block = batch.runFirstBlock(run2) + i;
                long version = TestBlocks.versionOf(data.slice(i * BLOCK, BLOCK), v.volumeId(), block);
                Map<Long, Long> owedNow = m.owed.get(epoch);
                Long expected = owedNow == null ? null : owedNow.get(block);
                if (expected != null) {
                    assertThat(version).as("volume %s block %d epoch %d: the version the epoch owes", NAMES[volume], block,
                            epoch).isEqualTo(expected);
                    owedNow.remove(block);
                    if (owedNow.isEmpty()) {
                        m.owed.remove(epoch);
                    }
                } else {
                    assertThat(m.destaged.get(block + "@" + epoch)).as("volume %s block %d epoch %d (version %d): not owed, so"
                            + " it must be one destaged before a crash", NAMES[volume], block, epoch, version).isEqualTo(version);
                }
                m.destaged.put(block + "@" + epoch, version);
                m.backing.put(block, version);
                run.destagedBlocks++;
            }
        }
        v.destaged(batch);
        return true;
    }
}
