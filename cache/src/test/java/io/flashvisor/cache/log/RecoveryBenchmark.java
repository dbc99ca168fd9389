package io.flashvisor.cache.log;

import io.flashvisor.common.BlockError;
import io.flashvisor.common.VolumeException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;

/**
 * Times recovery of a full flash log: formats a file of N GiB under {@code cache/target} (not
 * {@code /tmp}, which may be tmpfs), fills it with 4 KiB DATA records in appends of 1 to 63
 * records (so batches of every size) spread over two append streams, then recovers it through the page cache and with
 * {@code O_DIRECT} (cold reads from the disk), and deletes the file. Not a test; it only reports.
 *
 * <pre>
 * cd /work/main && JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 mvn -B -o -q -pl cache test \
 *     -Dtest=RecoveryBenchmark -Dflashvisor.benchmark=true -Dflashvisor.benchmark.gib=1
 * </pre>
 */
@Tag("benchmark")
@EnabledIfSystemProperty(named = "flashvisor.benchmark", matches = "true")
class RecoveryBenchmark {

    @Test
    void recoveryTime() throws Exception {
        main(new String[] {System.getProperty("flashvisor.benchmark.gib", "1")});
    }

    public static void main(String[] args) throws Exception {
        long gib = Long.parseLong(args.length > 0 ? args[0] : "1");
        Path file = Path.of("target", "recovery-benchmark.img").toAbsolutePath();
        Files.createDirectories(file.getParent());
        long free = Files.getFileStore(file.getParent()).getUsableSpace();
        if (free < (gib << 30) + (4L << 30)) {
            throw new IllegalStateException("need " + gib + " GiB + 4 GiB spare on " + file.getParent() + ", have " + (free >> 30) + " GiB");
        }
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(gib << 30);
        }
        try {
            LogConfig config = LogConfig.defaults().withDurability(Durability.NONE).withFreeSegmentWait(Duration.ZERO);
            long start = System.nanoTime();
            long[] filled = fill(file, config);
            double fillSeconds = (System.nanoTime() - start) / 1e9;
            System.out.printf(Locale.ROOT, "filled %d GiB: %d records in %d batches (%.1f records/batch), %.1f s%n",
                    gib, filled[0], filled[1], (double) filled[0] / filled[1], fillSeconds);
            for (boolean direct : new boolean[] {false, true}) {
                for (int round = 0; round < 2; round++) {
                    FileFlashChannel channel;
                    try {
                        channel = FileFlashChannel.open(file, direct);
                    } catch (IOException e) {
                        System.out.println("O_DIRECT unavailable: " + e.getMessage());
                        continue;
                    }
                    AtomicLong records = new AtomicLong();
                    try (FlashLog log = FlashLog.open(channel, config, r -> records.incrementAndGet())) {
                        RecoverySummary s = log.recovery();
                        double seconds = s.nanos() / 1e9;
                        System.out.printf(Locale.ROOT,
                                "recovery %s round %d: %d records, %d batches, %d segments, %.0f MiB read in %.2f s"
                                        + " = %.0f MiB/s, %.2f s per GiB of device%n",
                                direct ? "O_DIRECT" : "buffered", round, s.records(), s.batches(), s.liveSegments(),
                                s.bytesRead() / 1048576.0, seconds, s.bytesRead() / 1048576.0 / seconds, seconds / gib);
                    }
                }
            }
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** Fills the log until it refuses appends; returns {records, batches}. */
    private static long[] fill(Path file, LogConfig config) throws Exception {
        ByteBuffer[] pool = new ByteBuffer[256];
        for (int i = 0; i < pool.length; i++) {
            pool[i] = TestData.blocks(i, 1);
        }
        try (FlashLog log = FlashLog.format(FileFlashChannel.open(file, false), config, true)) {
            AtomicBoolean full = new AtomicBoolean();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int thread = t;
                threads.add(Thread.ofPlatform().start(() -> {
                    SplittableRandom r = new SplittableRandom(thread);
                    long block = (long) thread << 40;
                    List<CompletableFuture<AppendResult>> inFlight = new ArrayList<>();
                    while (!full.get()) {
                        int n = 1 + r.nextInt(63);
                        List<Record> records = new ArrayList<>(n);
                        for (int i = 0; i < n; i++) {
                            records.add(Record.data(1 + thread, block++, pool[r.nextInt(pool.length)], r.nextBoolean()));
                        }
                        inFlight.add(log.appendAsync(thread % 2, records)); // both streams: recovery merges them
                        if (inFlight.size() >= 8) {
                            await(inFlight.removeFirst(), full);
                        }
                    }
                    inFlight.forEach(f -> await(f, full));
                }));
            }
            for (Thread t : threads) {
                t.join();
            }
            LogStats stats = log.stats();
            return new long[] {stats.records(), stats.batches()};
        }
    }

    private static void await(CompletableFuture<AppendResult> f, AtomicBoolean full) {
        try {
            f.get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof VolumeException v && v.error() == BlockError.NO_SPACE) {
                full.set(true);
                return;
            }
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
