package io.flashvisor.cache.engine;

import io.flashvisor.common.Threads;
import io.flashvisor.cache.log.FlashLog;
import io.flashvisor.cache.log.SegmentInfo;
import io.flashvisor.cache.policy.Queue;
import io.flashvisor.common.VolumeException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The agent that keeps free segments on the flash device: one platform thread, "flash-cleaner",
 * per {@link FlashCache}. When free segments drop below the low watermark it reclaims victims
 * (one {@link ReclaimRound} at a time, the log's rule (a)) until they reach the high watermark.
 *
 * <p>Victims: segments of streams no longer configured first (they are older than everything
 * else), then the oldest sealed segment of the stream whose queue the eviction policy names
 * ({@code queueToReclaim} over the blocks each stream's segments hold), then the other stream's.
 * A victim that cannot move now is passed over: {@code HELD} ones (lost data) for a while,
 * {@code TOO_BIG} ones for this attempt; passing over breaks a stream's FIFO order, which the
 * round then makes up for with INVALIDATE records for what it evicts.
 *
 * <p>A reclaimed victim is freed only once no reader holds a location in it ({@link SegmentPins});
 * the cleaner waits briefly for that and otherwise frees it later (it stays sealed and counted as
 * live meanwhile, so nothing depends on it being gone).
 *
 * <p>Thread-safe: the work methods are synchronized (the thread, or a test driving reclaim with the
 * thread off).
 */
final class Cleaner implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Cleaner.class);
    static final String THREAD_NAME = "flash-cleaner";
    private static final long HOLD_NANOS = TimeUnit.SECONDS.toNanos(5);
    private static final long UNPIN_WAIT_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    private static final int ATTEMPTS = 8;

    private final FlashCache cache;
    private final FlashLog log;
    private final int low;
    private final int high;
    private final List<Integer> draining = new ArrayList<>();
    /** Segment → when to try it again; read by stats() without the cleaner's monitor. */
    private final Map<Integer, Long> held = new ConcurrentHashMap<>();
    private final Thread thread;
    private final ReclaimBuffers buffers;
    private volatile boolean closed;
    private boolean cleaning;
    /** Rounds in a row that did not raise the free count: the live data does not shrink by moving it. */
    private int fruitless;
    private long backoffUntil;
    private long lastStuckLog;

    final AtomicLong rounds = new AtomicLong();
    final AtomicLong moved = new AtomicLong();
    final AtomicLong evicted = new AtomicLong();
    final AtomicLong freed = new AtomicLong();

    Cleaner(FlashCache cache, boolean background) {
        this.cache = cache;
        this.log = cache.log;
        int segments = log.layout().segmentCount();
        this.low = cache.config.lowWatermark(segments);
        this.high = cache.config.highWatermark(segments);
        this.buffers = new ReclaimBuffers(log.layout().segmentSize()); // rounds never overlap: reclaimOnce is synchronized
        this.thread = background ? Thread.ofPlatform().name(THREAD_NAME).daemon(true).unstarted(this::run) : null;
    }

    void start() {
        if (thread != null) {
            thread.start();
        }
    }

    /** The thread is alive (tests). */
    boolean isRunning() {
        return thread != null && thread.isAlive();
    }

    int lowWatermark() {
        return low;
    }

    int highWatermark() {
        return high;
    }

    int heldSegments() {
        return held.size();
    }

    private void run() {
        while (!closed) {
            boolean progress;
            try {
                progress = step();
            } catch (Throwable t) {
                if (closed) {
                    return;
                }
                LOG.error("flash cleaner round failed; retrying", t);
                progress = false;
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
            }
            if (!progress && !closed) {
                // Polling is enough: the low watermark leaves several segments of slack.
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(cleaning ? 2 : 1));
            }
        }
    }

    /**
     * Frees what drained; reclaims one victim if below the low watermark (or still on the way to
     * the high one). Returns whether it reclaimed one. When a whole device's worth of rounds has
     * not raised the free count, the victims are as live as the data that replaces them (dirty
     * data waiting for destage, or a hot set as large as the device): it stops for a while rather
     * than copy the same data around.
     */
    synchronized boolean step() throws VolumeException {
        freeDrained();
        if (log.isFailed() || cache.isClosed()) {
            return false;
        }
        int free = log.freeSegmentCount();
        if (free >= high || !cleaning && free >= low) {
            cleaning = false;
            fruitless = 0;
            return false;
        }
        if (fruitless >= log.layout().segmentCount()) {
            if (System.nanoTime() - backoffUntil < 0) {
                return false;
            }
            fruitless = log.layout().segmentCount() / 2; // try a few more, then back off again
        }
        cleaning = true;
        boolean progress = reclaimOnce();
        int after = log.freeSegmentCount();
        fruitless = after > free ? 0 : fruitless + 1;
        if (fruitless >= log.layout().segmentCount()) {
            backoffUntil = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(50);
            progress = false;
        }
        if (!progress && after < low && System.nanoTime() - lastStuckLog > TimeUnit.SECONDS.toNanos(10)) {
            lastStuckLog = System.nanoTime();
            LOG.warn("flash cleaner makes no headway: {} free segments (low watermark {}), {} held; the cache is full"
                    + " of live data (dirty data waits for destage)", after, low, held.size());
        }
        return progress;
    }

    /** Reclaims one victim whatever the watermarks; returns whether one was reclaimed. */
    synchronized boolean reclaimOnce() throws VolumeException {
        freeDrained();
        Set<Integer> passed = new HashSet<>();
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            SegmentInfo victim = chooseVictim(passed);
            if (victim == null) {
                return false;
            }
            ReclaimRound round = new ReclaimRound(cache, victim, isFifo(victim), buffers);
            ReclaimRound.Outcome outcome = round.run();
            moved.addAndGet(round.movedBlocks);
            evicted.addAndGet(round.evictedBlocks);
            switch (outcome) {
                case RECLAIMED -> {
                    rounds.incrementAndGet();
                    draining.add(victim.segment());
                    awaitUnpinned(victim.segment());
                    freeDrained();
                    return true;
                }
                case HELD -> {
                    LOG.warn("flash cleaner passes segment {} over for now: {}", victim.segment(), round.reason());
                    held.put(victim.segment(), System.nanoTime() + HOLD_NANOS);
                    passed.add(victim.segment());
                }
                case TOO_BIG -> {
                    LOG.debug("flash cleaner passes segment {} over: {}", victim.segment(), round.reason());
                    passed.add(victim.segment());
                }
                case FAILED -> {
                    LOG.warn("flash cleaner round on segment {} failed: {}", victim.segment(), round.reason());
                    return false;
                }
            }
        }
        return false;
    }

    private SegmentInfo chooseVictim(Set<Integer> passed) {
        List<SegmentInfo> sealed = log.sealedSegments();
        long now = System.nanoTime();
        held.values().removeIf(until -> until - now <= 0);
        int streams = cache.ci.streams;
        for (SegmentInfo s : sealed) {
            if (s.stream() >= streams && eligible(s, passed)) {
                return s;
            }
        }
        long[] blocks = new long[streams];
        for (SegmentInfo s : sealed) {
            if (s.stream() < streams) {
                blocks[s.stream()] += s.usedBlocks();
            }
        }
        for (SegmentInfo s : log.openSegments()) {
            if (s.stream() < streams) {
                blocks[s.stream()] += s.usedBlocks();
            }
        }
        CacheIndex ci = cache.ci;
        int first;
        ci.lock.lock();
        try {
            Queue q = ci.policy.queueToReclaim(blocks[ci.streamOf(Queue.SMALL)],
                    streams > 1 ? blocks[ci.streamOf(Queue.MAIN)] : 0);
            first = ci.streamOf(q);
        } finally {
            ci.lock.unlock();
        }
        for (int i = 0; i < streams; i++) {
            int stream = (first + i) % streams;
            for (SegmentInfo s : sealed) {
                if (s.stream() == stream && eligible(s, passed)) {
                    return s;
                }
            }
        }
        return null;
    }

    private boolean eligible(SegmentInfo s, Set<Integer> passed) {
        return !passed.contains(s.segment()) && !held.containsKey(s.segment()) && !draining.contains(s.segment());
    }

    /** The victim is its stream's oldest sealed segment, and no segment of an unconfigured stream is older. */
    private boolean isFifo(SegmentInfo victim) {
        for (SegmentInfo s : log.sealedSegments()) {
            if (s.segment() == victim.segment()) {
                return true;
            }
            if (s.stream() == victim.stream() || s.stream() >= cache.ci.streams) {
                return false;
            }
        }
        return false;
    }

    private void awaitUnpinned(int segment) {
        long deadline = System.nanoTime() + UNPIN_WAIT_NANOS;
        while (cache.pins.count(segment) > 0 && System.nanoTime() - deadline < 0 && !closed) {
            LockSupport.parkNanos(50_000);
        }
    }

    /** Frees reclaimed victims no reader holds any more. */
    synchronized void freeDrained() throws VolumeException {
        if (draining.isEmpty() || log.isFailed()) {
            return;
        }
        List<Integer> ready = new ArrayList<>();
        for (Iterator<Integer> it = draining.iterator(); it.hasNext(); ) {
            int s = it.next();
            if (cache.pins.count(s) == 0) {
                ready.add(s);
                it.remove();
            }
        }
        if (!ready.isEmpty()) {
            log.free(ready);
            freed.addAndGet(ready.size());
        }
    }

    /** Stops the thread after its current round. Idempotent. */
    @Override
    public void close() {
        closed = true;
        if (thread != null && thread.isAlive() && Thread.currentThread() != thread) {
            LockSupport.unpark(thread);
            Threads.joinUninterruptibly(thread);
        }
    }
}
