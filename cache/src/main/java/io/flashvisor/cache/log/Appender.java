package io.flashvisor.cache.log;

import io.flashvisor.common.Threads;
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
 * serves the append streams' queues: each cycle it picks one stream, packs as many of that
 * stream's pending appends as fit into one batch, writes it with one {@code pwrite}, forces once,
 * and then completes every append in it.
 *
 * <p>Design notes. Exactly one batch is ever written but not yet forced, whatever the number of
 * streams: that is what lets recovery call a checksum failure in any but the newest batch (the one
 * with the highest sequence on the device) corruption rather than a torn write. Each stream has
 * its own open segment; appends never span segments; a segment that cannot take its stream's next
 * append is sealed and the longest-free segment opened for that stream (generation = max + 1 over
 * all streams, a fresh random salt). The stream to serve is picked round-robin among the streams
 * whose next append can be written now, so a busy stream delays another by at most one batch per
 * other stream and a stream waiting for space never holds the others up. Within a stream, reclaim
 * appends (the cleaner's) go first and may open the last {@code reservedSegments} free segments of
 * the device, which client appends may not; a segment opened from that reserve takes only reclaim
 * appends, so the cleaner can always move a segment's live data and free it (the reserve is at
 * least one segment per stream: docs/cache.md, Appending). With no segment to open, a stream's
 * appends wait for the cleaner up to {@link LogConfig#freeSegmentWait} and then fail with
 * {@code NO_SPACE}. An I/O error fails the batch and the log for good: after a failed
 * {@code fdatasync} nobody knows what is durable, and retrying could acknowledge data the kernel
 * has already dropped. Futures are completed on this thread: dependants should be quick or use the
 * {@code *Async} variants.
 */
final class Appender implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(Appender.class);
    static final String THREAD_NAME = "flash-log-appender";

    /** One append stream: its queues and its open segment. Guarded by the lock. */
    private static final class Stream {
        final int id;
        final ArrayDeque<PendingAppend> reclaimQueue = new ArrayDeque<>();
        final ArrayDeque<PendingAppend> clientQueue = new ArrayDeque<>();
        int current = -1;
        long generation;
        long salt;
        int next;
        boolean reclaimOnly;

        Stream(int id) {
            this.id = id;
        }

        /** The append to serve next: reclaim first. */
        PendingAppend head() {
            return reclaimQueue.isEmpty() ? clientQueue.peek() : reclaimQueue.peek();
        }

        long deadline() {
            return Math.min(reclaimQueue.isEmpty() ? Long.MAX_VALUE : reclaimQueue.peek().deadlineNanos,
                    clientQueue.isEmpty() ? Long.MAX_VALUE : clientQueue.peek().deadlineNanos);
        }
    }

    private final FlashChannel channel;
    private final FlashLayout layout;
    private final UUID uuid;
    private final LogConfig config;
    private final ReentrantLock lock;
    private final Condition work;
    private final SegmentTable segments;
    private final SplittableRandom random = new SplittableRandom(new SecureRandom().nextLong());
    private final Stream[] streams;
    private final Batch batch;
    private final Thread thread;

    // Guarded by lock.
    private long nextSequence;
    private long maxGeneration;
    /** Round-robin: the stream looked at first in the next cycle. */
    private int nextStream;
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
        this.streams = new Stream[config.streams()];
        for (int i = 0; i < streams.length; i++) {
            streams[i] = new Stream(i);
        }
        this.batch = new Batch(config.maxBatchDataBlocks());
        this.thread = Thread.ofPlatform().name(THREAD_NAME).daemon(true).unstarted(this);
    }

    void start() {
        thread.start();
    }

    boolean isAppenderThread() {
        return Thread.currentThread() == thread;
    }

    /** Queues the append; {@code future} (whatever depends on it already) is completed on this thread, see FlashLog#appendThen. */
    CompletableFuture<AppendResult> submit(int stream, List<Record> records, int dataBlocks, boolean reclaim,
                                           CompletableFuture<AppendResult> future) {
        PendingAppend a = new PendingAppend(stream, records, reclaim, dataBlocks,
                System.nanoTime() + config.freeSegmentWait().toNanos(), future);
        lock.lock();
        try {
            if (closing) {
                a.future.completeExceptionally(new VolumeException(BlockError.SHUTDOWN, "flash log is closed"));
            } else if (failure != null) {
                a.future.completeExceptionally(failedEarlier());
            } else {
                Stream st = streams[stream];
                (reclaim ? st.reclaimQueue : st.clientQueue).add(a);
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

    /** The open segment of each stream that has one, by stream. Call with the lock held. */
    List<SegmentInfo> openSegments() {
        List<SegmentInfo> list = new ArrayList<>();
        for (Stream st : streams) {
            if (st.current >= 0) {
                list.add(segments.info(st.current));
            }
        }
        return list;
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
            Threads.joinUninterruptibly(thread);
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
     * Fills {@link #batch} with appends of one stream (possibly with nothing, after failing expired
     * appends), or returns false when the appender must stop. Appends to fail go to
     * {@code refused}, to be failed outside the lock.
     */
    private boolean nextBatch(List<PendingAppend> refused, List<VolumeException> reasons) throws InterruptedException {
        batch.appends.clear();
        while (true) {
            if (failure != null || closing) {
                drain(refused, reasons);
                return false;
            }
            long now = System.nanoTime();
            Stream chosen = null;
            boolean pending = false;
            boolean expired = false;
            long earliest = Long.MAX_VALUE;
            for (int i = 0; i < streams.length; i++) {
                Stream st = streams[(nextStream + i) % streams.length];
                PendingAppend head = st.head();
                if (head == null) {
                    continue;
                }
                pending = true;
                if (fitsCurrent(st, head) || mayOpen(head)) {
                    if (chosen == null) {
                        chosen = st;
                    }
                } else {
                    // Waits for space: its expired appends fail now, even while other streams are served.
                    expired |= expire(st, now, refused, reasons);
                    earliest = Math.min(earliest, st.deadline());
                }
            }
            if (expired) {
                return true; // fail those outside the lock, then look again
            }
            if (chosen != null) {
                nextStream = (chosen.id + 1) % streams.length;
                PendingAppend head = chosen.head();
                if (!fitsCurrent(chosen, head)) {
                    openSegment(chosen, head.reclaim && segments.freeCount() <= config.reservedSegments());
                }
                pack(chosen);
                return true;
            }
            if (!pending) {
                work.await();
            } else {
                work.awaitNanos(Math.max(earliest - now, 1));
            }
        }
    }

    private boolean fitsCurrent(Stream st, PendingAppend head) {
        return st.current >= 0 && (head.reclaim || !st.reclaimOnly)
                && 1 + head.dataBlocks <= layout.blocksPerSegment() - st.next;
    }

    /** Whether {@code head} may open a segment: client appends leave the reserve alone. */
    private boolean mayOpen(PendingAppend head) {
        int free = segments.freeCount();
        return head.reclaim ? free > 0 : free > config.reservedSegments();
    }

    private void openSegment(Stream st, boolean reclaimOnly) {
        if (st.current >= 0) {
            segments.seal(st.current, st.next);
        }
        long generation = maxGeneration + 1;
        st.current = segments.open(generation, st.id);
        maxGeneration = generation;
        st.generation = generation;
        st.salt = random.nextLong();
        st.next = 0;
        st.reclaimOnly = reclaimOnly;
        LOG.debug("opened segment {} for stream {} (generation {}{})", st.current, st.id, generation,
                reclaimOnly ? ", reserve" : "");
    }

    private void pack(Stream st) {
        batch.reset(st.id, st.current, st.next, st.generation, st.salt);
        int room = Math.min(config.maxBatchDataBlocks(), layout.blocksPerSegment() - st.next - 1);
        take(st.reclaimQueue, room);
        if (!st.reclaimOnly) {
            take(st.clientQueue, room);
        }
        batch.firstSequence = nextSequence;
        nextSequence += batch.entries;
        st.next += batch.blocks();
        segments.packed(st.current, batch.firstSequence, st.next);
    }

    private void take(ArrayDeque<PendingAppend> queue, int room) {
        PendingAppend a;
        while ((a = queue.peek()) != null && batch.fits(a, room)) {
            batch.add(queue.poll());
        }
    }

    private boolean expire(Stream st, long now, List<PendingAppend> refused, List<VolumeException> reasons) {
        boolean any = false;
        for (ArrayDeque<PendingAppend> queue : List.of(st.reclaimQueue, st.clientQueue)) {
            while (!queue.isEmpty() && queue.peek().deadlineNanos - now <= 0) {
                refused.add(queue.poll());
                reasons.add(new VolumeException(BlockError.NO_SPACE, "flash log is full: no free segment came within "
                        + config.freeSegmentWait().toMillis() + " ms for stream " + st.id + " ("
                        + segments.sealedCount() + " sealed segments wait for the cleaner)"));
                any = true;
            }
        }
        return any;
    }

    private void drain(List<PendingAppend> refused, List<VolumeException> reasons) {
        for (Stream st : streams) {
            for (ArrayDeque<PendingAppend> queue : List.of(st.reclaimQueue, st.clientQueue)) {
                while (!queue.isEmpty()) {
                    refused.add(queue.poll());
                    reasons.add(failure != null ? failedEarlier() : new VolumeException(BlockError.SHUTDOWN, "flash log is closed"));
                }
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
