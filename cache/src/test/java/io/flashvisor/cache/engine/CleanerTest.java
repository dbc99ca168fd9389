package io.flashvisor.cache.engine;

import static io.flashvisor.cache.engine.TestBlocks.BLOCK;
import static io.flashvisor.cache.engine.TestBlocks.data;
import static io.flashvisor.cache.engine.TestBlocks.deviceSize;
import static io.flashvisor.cache.engine.TestBlocks.read;
import static io.flashvisor.cache.engine.TestBlocks.smallConfig;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.Test;

/** The cleaner: what it keeps (hot and dirty blocks), and that readers are safe while it reuses segments. */
class CleanerTest {

    /**
     * A hot set read between long scans of one-hit blocks (each scan about half the device): with
     * S3-FIFO the hot blocks are promoted to the main stream and survive; with plain FIFO every
     * scan pushes them out.
     */
    @Test
    void theHotSetSurvivesScansWithS3FifoButNotWithFifo() throws Exception {
        double s3 = hotSetHitRatio("s3-fifo");
        double fifo = hotSetHitRatio("fifo");
        System.out.printf("hot-set hit ratio across scans: s3-fifo %.2f, fifo %.2f%n", s3, fifo);
        assertThat(s3).isGreaterThan(0.9);
        assertThat(s3).isGreaterThan(fifo + 0.3);
    }

    private static double hotSetHitRatio(String policy) throws Exception {
        CacheConfig config = smallConfig(false).withEvictionPolicy(policy);
        try (FlashCache cache = FlashCache.format(new MemoryFlashChannel(deviceSize(40)), config, false)) {
            VolumeCache v = cache.attach("vm-1");
            int hot = 150;
            long scan = 100_000;
            long hits = 0;
            long reads = 0;
            for (int round = 0; round < 12; round++) {
                for (int i = 0; i < 1000; i++) {
                    TestBlocks.clean(cache);
                    v.insert(scan, data(v.volumeId(), scan, 1, 1), false, 0).get();
                    scan++;
                }
                for (long b = 0; b < hot; b++) {
                    long got = read(v, b);
                    if (round >= 4) {
                        reads++;
                        hits += got >= 0 ? 1 : 0;
                    }
                    if (got < 0) {
                        TestBlocks.clean(cache);
                        v.insert(b, data(v.volumeId(), b, 1, 1), false, 0).get(); // the miss fills the cache
                    }
                }
            }
            assertThat(cache.stats().cleanerRounds()).isGreaterThan(50);
            cache.checkInvariants();
            return (double) hits / reads;
        }
    }

    @Test
    void dirtyBlocksAreNeverEvicted() throws Exception {
        try (FlashCache cache = FlashCache.format(new MemoryFlashChannel(deviceSize(24)), smallConfig(false), false)) {
            VolumeCache v = cache.attach("vm-1");
            for (long b = 0; b < 300; b += 3) {
                v.insert(b, data(v.volumeId(), b, 1, 3), true, 1).get();
            }
            for (long b = 10_000; b < 16_000; b++) {
                TestBlocks.clean(cache);
                v.insert(b, data(v.volumeId(), b, 2, 1), false, 0).get();
            }
            CacheStats s = cache.stats();
            assertThat(s.cleanerRounds()).isGreaterThan(100);
            assertThat(s.evictedBlocks()).isGreaterThan(4000);
            assertThat(s.movedBlocks()).isGreaterThanOrEqualTo(300);
            for (long b = 0; b < 300; b++) {
                assertThat(read(v, b)).as("dirty block %d", b).isEqualTo(1);
            }
            assertThat(v.dirtyBlocks()).isEqualTo(300);
            cache.checkInvariants();
            TestDestager d = new TestDestager();
            d.drain(v);
            assertThat(d.backing).hasSize(300).containsOnlyKeys(java.util.stream.LongStream.range(0, 300).boxed().toList());
        }
    }

    /**
     * Writers rewrite (clean and dirty) a range of blocks several times larger than the device, a
     * destager keeps the dirty set small, and the background cleaner reclaims constantly; readers
     * use lookup + readBlock with a pause in between. A read must return the block it asked for,
     * intact, and never a version older than the one acknowledged before the lookup.
     */
    @Test
    void concurrentReadersNeverSeeAnotherBlocksDataOrAStaleVersionWhileTheCleanerReusesSegments() throws Exception {
        int blocks = 2000;
        AtomicLongArray acked = new AtomicLongArray(blocks);
        AtomicBoolean stop = new AtomicBoolean();
        List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
        AtomicLong reads = new AtomicLong();
        AtomicLong hits = new AtomicLong();
        AtomicLong epoch = new AtomicLong(1);
        try (FlashCache cache = FlashCache.format(new MemoryFlashChannel(deviceSize(16)), smallConfig(true), false)) {
            VolumeCache v = cache.attach("vm-1");
            List<Thread> threads = new ArrayList<>();
            for (int w = 0; w < 2; w++) {
                int writer = w;
                threads.add(Thread.ofPlatform().name("writer-" + w).start(() -> {
                    SplittableRandom r = new SplittableRandom(writer);
                    try {
                        for (long n = 1; !stop.get(); n++) {
                            if (v.dirtyBlocks() > 150) {
                                Thread.sleep(1);
                                continue;
                            }
                            int b = r.nextInt(blocks / 2) * 2 + writer; // each block has one writer
                            long version = n * 2 + writer;
                            boolean dirty = r.nextInt(3) == 0;
                            if (r.nextInt(50) == 0) {
                                epoch.incrementAndGet(); // a FLUSH
                            }
                            v.insert(b, data(v.volumeId(), b, version, 1), dirty, epoch.get()).get(30, TimeUnit.SECONDS);
                            acked.set(b, version);
                        }
                    } catch (Throwable t) {
                        errors.add(t);
                    }
                }));
            }
            threads.add(Thread.ofPlatform().name("destager").start(() -> {
                TestDestager d = new TestDestager(false);
                try {
                    while (!stop.get()) {
                        if (d.step(v, 32) == null) {
                            Thread.sleep(1);
                        }
                    }
                } catch (Throwable t) {
                    errors.add(t);
                }
            }));
            for (int rd = 0; rd < 2; rd++) {
                int reader = rd;
                threads.add(Thread.ofPlatform().name("reader-" + rd).start(() -> {
                    SplittableRandom r = new SplittableRandom(100 + reader);
                    ByteBuffer dst = ByteBuffer.allocate(BLOCK);
                    try {
                        while (!stop.get()) {
                            int b = r.nextInt(blocks);
                            long before = acked.get(b);
                            int location = v.lookup(b);
                            reads.incrementAndGet();
                            if (location == VolumeCache.NOT_FOUND) {
                                continue;
                            }
                            if (r.nextInt(4) == 0) {
                                Thread.sleep(0, 200_000); // widen the window between lookup and read
                            }
                            dst.clear();
                            v.readBlock(location, dst);
                            long version = TestBlocks.versionOf(dst.flip(), v.volumeId(), b);
                            assertThat(version).as("block %d: version read vs acknowledged before the lookup", b)
                                    .isGreaterThanOrEqualTo(before);
                            hits.incrementAndGet();
                        }
                    } catch (Throwable t) {
                        errors.add(t);
                    }
                }));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (cache.stats().cleanerRounds() < 300 && System.nanoTime() < deadline && errors.isEmpty()) {
                Thread.sleep(20);
            }
            stop.set(true);
            for (Thread t : threads) {
                t.join(30_000);
            }
            CacheStats s = cache.stats();
            System.out.printf("concurrent: %d reads, %d hits, %d cleaner rounds, %d moved, %d evicted, %d shadowed appends%n",
                    reads.get(), hits.get(), s.cleanerRounds(), s.movedBlocks(), s.evictedBlocks(), s.shadowedAppends());
            assertThat(errors).isEmpty();
            assertThat(s.cleanerRounds()).isGreaterThan(50);
            assertThat(hits.get()).isGreaterThan(100);
            cache.checkInvariants();
        }
    }
}
