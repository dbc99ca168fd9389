package io.flashvisor.cache.log;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Scans segments in a given order a few at a time on a small pool of platform threads, and hands
 * the scans back in that order: reads overlap each other (a queue depth above one, which SSDs
 * need for full speed) and the checksums of the segment before. Read-only. Not thread-safe: one
 * consumer calls {@link #next}; {@link #close} stops the pool without interrupting reads (an
 * interrupt would close a {@link java.nio.channels.FileChannel} under everyone).
 */
final class SegmentReadahead implements AutoCloseable {
    /** Threads reading segments; each holds one window buffer (≤ 8 MiB). */
    static final int READERS = 4;

    private final int[] order;
    private final List<SegmentScanner> scanners = new ArrayList<>();
    private final BlockingQueue<SegmentScanner> idle;
    private final ExecutorService pool;
    private final ArrayDeque<Future<SegmentScanner.Scan>> ahead = new ArrayDeque<>();
    private final int depth;
    private int submitted;

    SegmentReadahead(FlashChannel channel, FlashLayout layout, UUID uuid, int[] order) {
        this.order = order;
        int readers = Math.max(1, Math.min(READERS, order.length));
        this.depth = 2 * readers;
        this.idle = new ArrayBlockingQueue<>(readers);
        for (int i = 0; i < readers; i++) {
            SegmentScanner s = new SegmentScanner(channel, layout, uuid);
            scanners.add(s);
            idle.add(s);
        }
        this.pool = Executors.newFixedThreadPool(readers, Thread.ofPlatform().name("flash-log-recovery-", 0).daemon(true).factory());
    }

    /** The scan of the next segment in order. */
    SegmentScanner.Scan next() throws IOException {
        while (submitted < order.length && ahead.size() < depth) {
            int segment = order[submitted++];
            ahead.add(pool.submit(() -> {
                SegmentScanner s = idle.take();
                try {
                    return s.scan(segment);
                } finally {
                    idle.add(s);
                }
            }));
        }
        try {
            return ahead.removeFirst().get();
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException("recovery reader failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted during recovery");
        }
    }

    /** Bytes read so far by every reader. Call after the reads are done. */
    long bytesRead() {
        long n = 0;
        for (SegmentScanner s : scanners) {
            n += s.bytesRead();
        }
        return n;
    }

    @Override
    public void close() {
        for (Future<?> f : ahead) {
            f.cancel(false);
        }
        pool.shutdown();
    }
}
