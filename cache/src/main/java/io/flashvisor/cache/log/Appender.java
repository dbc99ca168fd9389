package io.flashvisor.cache.log;

import io.flashvisor.common.BlockError;
import io.flashvisor.common.VolumeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The group-commit agent of a {@link FlashLog}: one platform thread, "flash-log-appender", that
 * drains the queues of pending appends, packs as many as fit into one batch, writes it with one
 * {@code pwrite}, forces once, and then completes every append in it.
 *
 * <p>Design notes. Exactly one batch is ever written but not yet forced: that is what lets
 * recovery call a checksum failure in any but the newest batch corruption rather than a torn
 * write. Appends never span segments; a segment that cannot take the next append is sealed and the
 * longest-free segment opened (generation = max + 1, a fresh random salt). Reclaim appends (the
 * cleaner's) go first and may open the last {@code reservedSegments} free segments, which client
 * appends may not; a segment opened from that reserve takes only reclaim appends, so the cleaner
 * can always move a segment's live data and free it. With no segment to open, appends wait for
 * the cleaner up to {@link LogConfig#freeSegmentWait} and then fail with {@code NO_SPACE}. An I/O
 * error fails the batch and the log for good: after a failed {@code fdatasync} nobody knows what is
 * durable, and retrying could acknowledge data the kernel has already dropped. Futures are
 * completed on this thread: dependants should be quick or use the {@code *Async} variants.
 */
final class Appender implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(Appender.class);
    static final String THREAD_NAME = "flash-log-appender";

    private final FlashChannel channel;
    private final FlashLayout layout;
    private final UUID uuid;
    private final LogConfig config;
    private final ReentrantLock lock;
    private final Condition work;
    private final SegmentTable segments;
    private final SplittableRandom random = new SplittableRandom(new SecureRandom().nextLong());
    private final ArrayDeque<PendingAppend> reclaimQueue = new ArrayDeque<>();
    private final ArrayDeque<PendingAppend> clientQueue = new ArrayDeque<>();
    private final Batch batch;
    private final Thread thread;

    // Guarded by lock.
    private long nextSequence;
    private long maxGeneration;
    private int current = -1;
    private long currentSalt;
    private int currentNext;
    private boolean currentReclaimOnly;
    private VolumeException failure;
    private boolean closing;

    /** Bumped by every failed force (the appender's or a free's): a force that returns after one cannot be trusted. */
    private final AtomicLong forceFailures = new AtomicLong();

    // Written by the appender thread only.
    private volatile long appends;
    private volatile long records;
    private volatile long batches;
    private volatile long forces;
    private volatile long bytesWritten;

    Appender(FlashChannel channel, FlashLayout layout, UUID uuid, LogConfig config, ReentrantLock lock,
             SegmentTable segments, long nextSequence, long maxGeneration) {
        this.channel = channel;
        this.layout = layout;
        this.uuid = uuid;
        this.config = config;
        this.lock = lock;
        this.work = lock.newCondition();
        this.segments = segments;
        this.nextSequence = nextSequence;
        this.maxGeneration = maxGeneration;
        this.batch = new Batch(config.maxBatchDataBlocks());
        this.thread = Thread.ofPlatform().name(THREAD_NAME).daemon(true).unstarted(this);
    }

    void start() {
        thread.start();
    }

    boolean isAppenderThread() {
        return Thread.currentThread() == thread;
    }

    CompletableFuture<AppendResult> submit(List<Record> records, int dataBlocks, boolean reclaim) {
        PendingAppend a = new PendingAppend(records, reclaim, dataBlocks,
                System.nanoTime() + config.freeSegmentWait().toNanos());
        lock.lock();
        try {
            if (closing) {
                a.future.completeExceptionally(new VolumeException(BlockError.SHUTDOWN, "flash log is closed"));
            } else if (failure != null) {
                a.future.completeExceptionally(failedEarlier());
            } else {
                (reclaim ? reclaimQueue : clientQueue).add(a);
                work.signal();
            }
        } finally {
            lock.unlock();
        }
        return a.future;
    }

    /** Segments were freed: wake the appender if it waits for one. Call with the lock held. */
    void segmentsFreed() {
        work.signal();
    }

    /** Puts the log in the failed state (first failure wins). Call with the lock held. */
    void fail(VolumeException e) {
        if (failure == null) {
            failure = e;
            LOG.error("flash log on {} failed; appends are refused until the node restarts", channel, e);
        }
        work.signal();
    }

    void forceFailed() {
        forceFailures.incrementAndGet();
    }

    long forceFailures() {
        return forceFailures.get();
    }

    /** The failure, or null. Call with the lock held. */
    VolumeException failure() {
        return failure;
    }

    /** A fresh exception for a call refused because the log failed earlier. Call with the lock held. */
    VolumeException failedEarlier() {
        return new VolumeException(failure.error(), "flash log failed earlier and refuses appends until the node"
                + " restarts (recovery then finds every acknowledged record): " + failure.getMessage(), failure);
    }

    LogStats stats() {
        lock.lock();
        try {
            return new LogStats(appends, records, batches, forces, bytesWritten, segments.freeCount(),
                    segments.sealedCount(), failure != null);
        } finally {
            lock.unlock();
        }
    }

    /** Stops after the batch in flight; queued appends fail with SHUTDOWN. Idempotent. */
    void close() {
        lock.lock();
        try {
            closing = true;
            work.signal();
        } finally {
            lock.unlock();
        }
        if (thread.isAlive() && !isAppenderThread()) {
            boolean interrupted = false;
            while (thread.isAlive()) {
                try {
                    thread.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    @Override
    public void run() {
        List<AppendResult> results = new ArrayList<>();
        List<PendingAppend> refused = new ArrayList<>();
        List<VolumeException> reasons = new ArrayList<>();
        try {
            while (true) {
                boolean more;
                lock.lock();
                try {
                    more = nextBatch(refused, reasons);
                } finally {
                    lock.unlock();
                }
                for (int i = 0; i < refused.size(); i++) {
                    refused.get(i).future.completeExceptionally(reasons.get(i));
                }
                refused.clear();
                reasons.clear();
                if (!more) {
                    return;
                }
                if (!batch.appends.isEmpty()) {
                    writeBatch(results);
                }
            }
        } catch (Throwable t) {
            lock.lock();
            try {
                fail(new VolumeException(BlockError.IO, "flash log appender died: " + t, t));
                drain(refused, reasons);
            } finally {
                lock.unlock();
            }
            for (int i = 0; i < refused.size(); i++) {
                refused.get(i).future.completeExceptionally(reasons.get(i));
            }
            for (PendingAppend a : batch.appends) {
                a.future.completeExceptionally(new VolumeException(BlockError.IO, "flash log appender died: " + t, t));
            }
            if (t instanceof Error e) {
                throw e;
            }
        }
    }

    /**
     * Fills {@link #batch} (possibly with nothing, after failing expired appends), or returns false
     * when the appender must stop. Appends to fail go to {@code refused}, to be failed outside the lock.
     */
    private boolean nextBatch(List<PendingAppend> refused, List<VolumeException> reasons) throws InterruptedException {
        batch.appends.clear();
        while (true) {
            if (failure != null || closing) {
                drain(refused, reasons);
                return false;
            }
            PendingAppend head = reclaimQueue.isEmpty() ? clientQueue.peek() : reclaimQueue.peek();
            if (head == null) {
                work.await();
                continue;
            }
            if (!fitsCurrent(head)) {
                int free = segments.freeCount();
                boolean mayOpen = head.reclaim ? free > 0 : free > config.reservedSegments();
                if (!mayOpen) {
                    long now = System.nanoTime();
                    if (expire(now, refused, reasons)) {
                        return true; // fail those outside the lock, then look again
                    }
                    long wait = Math.min(deadline(reclaimQueue), deadline(clientQueue)) - now;
                    work.awaitNanos(Math.max(wait, 1));
                    continue;
                }
                openSegment(head.reclaim && free <= config.reservedSegments());
            }
            pack();
            return true;
        }
    }

    private boolean fitsCurrent(PendingAppend head) {
        return current >= 0 && (head.reclaim || !currentReclaimOnly)
                && 1 + head.dataBlocks <= layout.blocksPerSegment() - currentNext;
    }

    private void openSegment(boolean reclaimOnly) {
        if (current >= 0) {
            segments.seal(current, currentNext);
        }
        long generation = maxGeneration + 1;
        current = segments.open(generation);
        maxGeneration = generation;
        currentSalt = random.nextLong();
        currentNext = 0;
        currentReclaimOnly = reclaimOnly;
        LOG.debug("opened segment {} (generation {}{})", current, generation, reclaimOnly ? ", reserve" : "");
    }

    private void pack() {
        batch.reset(current, currentNext, maxGeneration, currentSalt);
        int room = Math.min(config.maxBatchDataBlocks(), layout.blocksPerSegment() - currentNext - 1);
        take(reclaimQueue, room);
        if (!currentReclaimOnly) {
            take(clientQueue, room);
        }
        batch.firstSequence = nextSequence;
        nextSequence += batch.entries;
        currentNext += batch.blocks();
    }

    private void take(ArrayDeque<PendingAppend> queue, int room) {
        PendingAppend a;
        while ((a = queue.peek()) != null && batch.fits(a, room)) {
            batch.add(queue.poll());
        }
    }

    private boolean expire(long now, List<PendingAppend> refused, List<VolumeException> reasons) {
        boolean any = false;
        for (ArrayDeque<PendingAppend> queue : List.of(reclaimQueue, clientQueue)) {
            while (!queue.isEmpty() && queue.peek().deadlineNanos - now <= 0) {
                refused.add(queue.poll());
                reasons.add(new VolumeException(BlockError.NO_SPACE, "flash log is full: no free segment came within "
                        + config.freeSegmentWait().toMillis() + " ms (" + segments.sealedCount()
                        + " sealed segments wait for the cleaner)"));
                any = true;
            }
        }
        return any;
    }

    private static long deadline(ArrayDeque<PendingAppend> queue) {
        return queue.isEmpty() ? Long.MAX_VALUE : queue.peek().deadlineNanos;
    }

    private void drain(List<PendingAppend> refused, List<VolumeException> reasons) {
        for (ArrayDeque<PendingAppend> queue : List.of(reclaimQueue, clientQueue)) {
            while (!queue.isEmpty()) {
                refused.add(queue.poll());
                reasons.add(failure != null ? failedEarlier() : new VolumeException(BlockError.SHUTDOWN, "flash log is closed"));
            }
        }
    }

    private void writeBatch(List<AppendResult> results) {
        results.clear();
        ByteBuffer bytes = batch.encode(uuid, layout, results);
        int length = bytes.remaining();
        long position = layout.segmentOffset(batch.segment) + (long) batch.block * FlashLayout.BLOCK_SIZE;
        long failuresBefore = forceFailures.get();
        try {
            channel.write(bytes, position);
            if (config.durability() != Durability.NONE) {
                try {
                    channel.force(config.durability() == Durability.DATA_AND_METADATA);
                } catch (IOException | RuntimeException e) {
                    forceFailed();
                    throw e;
                }
                forces++;
                if (forceFailures.get() != failuresBefore) {
                    throw new IOException("another fdatasync on the flash device failed while this batch was written");
                }
            }
        } catch (IOException | RuntimeException e) {
            VolumeException v = FlashLog.ioFailure("write of a batch of " + batch.entries + " records at offset "
                    + position + " of " + channel, e);
            lock.lock();
            try {
                fail(v);
            } finally {
                lock.unlock();
            }
            for (PendingAppend a : batch.appends) {
                a.future.completeExceptionally(v);
            }
            batch.appends.clear();
            return;
        }
        batches++;
        bytesWritten += length;
        records += batch.entries;
        appends += batch.appends.size();
        for (int i = 0; i < batch.appends.size(); i++) {
            batch.appends.get(i).future.complete(results.get(i));
        }
        batch.appends.clear();
    }
}
