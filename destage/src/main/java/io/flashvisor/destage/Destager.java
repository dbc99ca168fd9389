package io.flashvisor.destage;

import io.flashvisor.cache.engine.DestageBatch;
import io.flashvisor.cache.engine.VolumeCache;
import io.flashvisor.common.BlockVolume;
import io.flashvisor.common.Failpoints;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.DoubleSupplier;
import java.util.function.IntSupplier;
import java.util.function.LongConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes one volume's dirty blocks from flash to its backing store, in flush order.
 *
 * <p>One thread takes batches from {@link VolumeCache#nextDestageBatch}: always the oldest flush
 * epoch that still has dirty versions, sorted by block and coalesced into runs of neighbouring
 * blocks. The runs of a batch are written in parallel (as many as {@link DestagePace} allows), then
 * the backing store is flushed, and only then are the versions marked clean. The engine hands out
 * the next epoch only once the oldest is clean, so the backing store receives whole epochs in order:
 * everything a client wrote before a FLUSH is durable there before anything it wrote after it. If
 * the flash device is lost, the backing store therefore holds the volume as it was at some FLUSH
 * (a crash-consistent image), not a mix.
 *
 * <p>A failed batch (backing store error, flash read error) is handed back to the engine — its data
 * stays dirty on flash — and retried after a pause that doubles up to {@link
 * DestageSettings#retryMax}; {@link #status()} reports the failures until a batch succeeds.
 *
 * <p>Thread-safe.
 */
public final class Destager implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Destager.class);
    private static final int BLOCK = 4096;
    private static final Duration IDLE_POLL = Duration.ofMillis(100);
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(30);
    /** The planted bug {@value Failpoints#DESTAGE_WITHOUT_FENCE} (off unless a negative-control test switches it on). */
    private static final boolean DESTAGE_WITHOUT_FENCE = Failpoints.active(Failpoints.DESTAGE_WITHOUT_FENCE);

    private final VolumeCache cache;
    private final BlockVolume backing;
    private final DestageSettings settings;
    private final DoubleSupplier dirtyRatio;
    private final IntSupplier foregroundInFlight;
    private final ExecutorService writers;
    /**
     * The current batch's data, run after run at {@code runStart × 4 KiB}: one buffer reused from
     * batch to batch while the destager is busy (a buffer per run was a quarter of a busy node's
     * allocations), dropped when it goes idle. Safe to reuse: every write of a batch has returned
     * before the next batch is taken.
     */
    private ByteBuffer scratch;
    private final Thread thread;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition wake = lock.newCondition();
    private final Condition progressed = lock.newCondition();
    private final AtomicInteger urgent = new AtomicInteger();
    private final AtomicLong destagedBytes = new AtomicLong();
    private final AtomicLong failedBatches = new AtomicLong();
    /** Told the duration of every backing-store write (the owner's latency breakdown: {@code san}). */
    private final LongConsumer backingWriteNanos;
    private boolean nudged;
    private volatile boolean running = true;
    private volatile boolean draining;
    private final java.util.function.BooleanSupplier mayDestage;
    private volatile double bytesPerSecond;
    private volatile long latencyNanos;
    private volatile long bestLatencyNanos;
    private volatile int pace = 1;
    private volatile DestageHealth health = DestageHealth.OK;

    /**
     * @param dirtyRatio         dirty blocks of the whole flash device / its capacity
     * @param foregroundInFlight client requests of this volume waiting on the backing store now
     */
    public Destager(VolumeCache cache, BlockVolume backing, DestageSettings settings, DoubleSupplier dirtyRatio,
                    IntSupplier foregroundInFlight) {
        this(cache, backing, settings, dirtyRatio, foregroundInFlight, () -> true);
    }

    /**
     * @param mayDestage checked before every batch and every write: false while this host may not write the volume's
     *                   backing store (its cluster lease lapsed: another host may own it now)
     */
    public Destager(VolumeCache cache, BlockVolume backing, DestageSettings settings, DoubleSupplier dirtyRatio,
                    IntSupplier foregroundInFlight, java.util.function.BooleanSupplier mayDestage) {
        this(cache, backing, settings, dirtyRatio, foregroundInFlight, mayDestage, nanos -> { });
    }

    /**
     * @param backingWriteNanos told, on the writing thread, how long each backing-store write took
     *                          (from the call to its return, failed ones too); must be cheap and not block
     */
    public Destager(VolumeCache cache, BlockVolume backing, DestageSettings settings, DoubleSupplier dirtyRatio,
                    IntSupplier foregroundInFlight, java.util.function.BooleanSupplier mayDestage, LongConsumer backingWriteNanos) {
        this.mayDestage = mayDestage;
        this.backingWriteNanos = backingWriteNanos;
        this.cache = cache;
        this.backing = backing;
        this.settings = settings;
        this.dirtyRatio = dirtyRatio;
        this.foregroundInFlight = foregroundInFlight;
        this.writers = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("destage-write-" + cache.name() + "-", 0).factory());
        this.thread = Thread.ofPlatform().daemon().name("destager-" + cache.name()).unstarted(this::run);
    }

    public Destager start() {
        thread.start();
        return this;
    }

    /** New dirty data: wake the destager if it sleeps. Cheap; call after every dirty write. */
    public void nudge() {
        lock.lock();
        try {
            nudged = true;
            wake.signal();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Destages at full speed until the volume has no dirty data, or {@code timeout} passes.
     * Returns whether it is clean. Data written meanwhile counts too: a caller that needs a range
     * clean must keep new writes out of it.
     */
    public boolean awaitClean(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        urgent.incrementAndGet();
        try {
            nudge();
            lock.lock();
            try {
                while (cache.dirtyBlocks() > 0) {
                    long left = deadline - System.nanoTime();
                    if (left <= 0 || !running) {
                        return false;
                    }
                    progressed.awaitNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(20)));
                }
                return true;
            } finally {
                lock.unlock();
            }
        } finally {
            urgent.decrementAndGet();
        }
    }

    /**
     * Draining: the volume left write-back, so its dirty data goes to the backing store at full
     * speed, whatever the watermarks say.
     */
    public void setDraining(boolean value) {
        draining = value;
        if (value) {
            nudge();
        }
    }

    public DestageStatus status() {
        long dirty = cache.dirtyBytes();
        double rate = bytesPerSecond;
        // While batches fail, the last rate says nothing about when the volume will be clean.
        double toClean = dirty == 0 ? 0 : rate > 0 && health.healthy() ? dirty / rate : -1;
        return new DestageStatus(dirty, destagedBytes.get(), rate, toClean, pace, health, failedBatches.get());
    }

    private void run() {
        Duration backoff = settings.retryMin();
        while (running) {
            // PLANTED BUG (negative controls only): with the failpoint destage-without-fence on, the lease/epoch
            // check is skipped and a fenced host destages its stale dirty data over a successor's newer writes.
            if (!DESTAGE_WITHOUT_FENCE && !mayDestage.getAsBoolean()) {
                idle(); // Fenced: not one write to the backing store until the lease is valid again.
                continue;
            }
            DestageBatch batch = cache.nextDestageBatch(settings.batchBlocks());
            if (batch.isEmpty()) {
                scratch = null; // idle volumes hold no buffer
                signalProgress();
                idle();
                continue;
            }
            long start = System.nanoTime();
            try {
                Written written = writeRuns(batch);
                if (written.failed.cardinality() == batch.runCount()) {
                    throw written.firstFailure;
                }
                backing.flush();
                cache.destaged(batch, written.failed);
                succeeded(written.bytes, System.nanoTime() - start, written.failed.isEmpty());
                backoff = settings.retryMin();
                if (!written.failed.isEmpty()) {
                    // Progress, but some runs failed: report it, and retry them after a short pause.
                    failed(batch, written.firstFailure, backoff);
                    pause(backoff);
                }
            } catch (IOException | RuntimeException e) {
                cache.releaseDestage(batch);
                failed(batch, e, backoff);
                pause(backoff);
                backoff = backoff.multipliedBy(2).compareTo(settings.retryMax()) > 0 ? settings.retryMax() : backoff.multipliedBy(2);
            } catch (InterruptedException e) {
                cache.releaseDestage(batch);
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** What {@link #writeRuns} did: the runs that failed (by index), the first failure, the bytes written. */
    private record Written(BitSet failed, IOException firstFailure, long bytes) {
    }

    /** Writes every run of {@code batch}, as many at once as the pace allows; failed runs are reported, not thrown. */
    private Written writeRuns(DestageBatch batch) throws InterruptedException {
        pace = DestagePace.writesInFlight(settings, dirtyRatio.getAsDouble(), foregroundInFlight.getAsInt(),
                latencyNanos, bestLatencyNanos, draining || urgent.get() > 0);
        Semaphore slots = new Semaphore(pace);
        if (scratch == null || scratch.capacity() < batch.blockCount() * BLOCK) {
            scratch = ByteBuffer.allocate(Math.max(batch.blockCount(), settings.batchBlocks()) * BLOCK);
        }
        ByteBuffer batchData = scratch;
        List<Future<?>> writes = new ArrayList<>(batch.runCount());
        for (int run = 0; run < batch.runCount(); run++) {
            slots.acquire();
            int r = run;
            writes.add(writers.submit(() -> {
                try {
                    writeRun(batch, r, batchData.slice(batch.runStart(r) * BLOCK, batch.runLength(r) * BLOCK));
                    return null;
                } finally {
                    slots.release();
                }
            }));
        }
        BitSet failed = new BitSet();
        IOException first = null;
        long bytes = 0;
        for (int run = 0; run < writes.size(); run++) {
            try {
                writes.get(run).get();
                bytes += (long) batch.runLength(run) * BLOCK;
            } catch (ExecutionException e) {
                failed.set(run);
                if (first == null) {
                    first = e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
                }
            }
        }
        return new Written(failed, first, bytes);
    }

    /** Reads run {@code run} of {@code batch} from flash into {@code data} (exactly its bytes) and writes it to the backing store. */
    private void writeRun(DestageBatch batch, int run, ByteBuffer data) throws IOException {
        cache.readDestageRun(batch, run, data);
        data.flip();
        // Checked before every write, not only per batch: a host stopped mid-batch (SIGSTOP, a long pause) must not
        // write the rest of its batch over a successor's newer data once it runs again (SplitBrainTest).
        if (!DESTAGE_WITHOUT_FENCE && !mayDestage.getAsBoolean()) {
            throw new IOException("fenced: this host's lease on the volume lapsed");
        }
        long start = System.nanoTime();
        try {
            backing.write(batch.runFirstBlock(run) * BLOCK, data, false);
        } catch (IOException | RuntimeException e) {
            backingWriteNanos.accept(System.nanoTime() - start);
            throw e;
        }
        long nanos = System.nanoTime() - start;
        backingWriteNanos.accept(nanos);
        noteLatency(nanos);
    }

    private synchronized void noteLatency(long nanos) {
        long mean = latencyNanos == 0 ? nanos : (latencyNanos * 7 + nanos) / 8;
        latencyNanos = mean;
        bestLatencyNanos = bestLatencyNanos == 0 ? mean : Math.min(bestLatencyNanos, mean);
    }

    private void succeeded(long bytes, long nanos, boolean whole) {
        destagedBytes.addAndGet(bytes);
        double rate = bytes * 1e9 / Math.max(1, nanos);
        bytesPerSecond = bytesPerSecond == 0 ? rate : bytesPerSecond * 0.7 + rate * 0.3;
        if (whole) {
            if (!health.healthy()) {
                LOG.info("destage of volume {} works again after {} failed batches", cache.name(), health.failures());
            }
            health = DestageHealth.OK;
        }
        signalProgress();
    }

    private void failed(DestageBatch batch, Exception e, Duration backoff) {
        failedBatches.incrementAndGet();
        DestageHealth h = health;
        int failures = h.failures() + 1;
        health = new DestageHealth(false, failures, String.valueOf(e.getMessage()), h.failingSince() == null ? Instant.now() : h.failingSince());
        // Log the first failure and then every tenth: a dead SAN would otherwise flood the log.
        if (failures == 1 || failures % 10 == 0) {
            LOG.warn("destage of volume {} failed ({} in a row; dirty data kept on flash, retry in {} ms): {}: {}",
                    cache.name(), failures, backoff.toMillis(), batch, e.toString());
        }
    }

    private void idle() {
        lock.lock();
        try {
            if (!nudged && running) {
                wake.awaitNanos(IDLE_POLL.toNanos());
            }
            nudged = false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        } finally {
            lock.unlock();
        }
    }

    private void pause(Duration d) {
        lock.lock();
        try {
            long left = d.toNanos();
            while (left > 0 && running) {
                left = wake.awaitNanos(left);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            running = false;
        } finally {
            lock.unlock();
        }
    }

    private void signalProgress() {
        lock.lock();
        try {
            progressed.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Stops after the batch in flight (waiting at most 30 s); what is still dirty stays dirty on flash. */
    @Override
    public void close() {
        running = false;
        lock.lock();
        try {
            wake.signalAll();
            progressed.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            if (thread.isAlive() && !thread.join(CLOSE_WAIT)) {
                LOG.warn("destager of volume {} did not stop within {} s; interrupting it", cache.name(), CLOSE_WAIT.toSeconds());
                thread.interrupt();
                thread.join(CLOSE_WAIT);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        writers.shutdownNow();
    }
}
