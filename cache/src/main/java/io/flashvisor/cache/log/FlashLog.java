package io.flashvisor.cache.log;

import io.flashvisor.common.BlockError;
import io.flashvisor.common.VolumeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The flash log: a log-structured store of checksummed records in fixed-size segments of the flash
 * device, with group commit, crash recovery and segment reclaim (format: docs/cache.md).
 * Thread-safe.
 *
 * <p>Lifecycle: {@link #format} a new device (explicitly; never implied), or {@link #open} one,
 * which runs recovery and hands every record found to a {@link RecoveryListener}; then append,
 * read and free segments; then {@link #close} (idempotent). The log owns the channel once
 * {@code format} or {@code open} succeeds; if they fail the caller still owns it.
 *
 * <p>Appends go to one of {@link LogConfig#streams} append streams (the eviction policy's queues),
 * each with its own open segment, so a stream's sealed segments, oldest generation first, are its
 * FIFO. {@link #appendAsync(int, List)} queues records for the appender thread, which writes them
 * with others of the same stream in one batch and one {@code fdatasync} (group commit) and
 * completes the future when they are durable; it serves the streams round-robin, one batch at a
 * time. The records of one append land in one batch, in order, and get consecutive sequences;
 * appends to one stream submitted one after the other by one thread are sequenced in that order
 * (appends to different streams are sequenced in the order the appender serves them: a caller that
 * needs an order across streams waits for the first append). One append holds at most 63 records
 * and {@link #maxAppendBlocks} data blocks (256 blocks = 1 MiB by default); bigger ones are
 * refused, not split, since splitting would make them non-atomic.
 *
 * <p>Errors are {@link VolumeException}s: an I/O error while appending or freeing is {@code IO}
 * ({@code ENOSPC}: {@code NO_SPACE}) and fails the log: appends are refused from then on (reads go
 * on) until the node restarts and recovery sorts out what is durable. No free segment within
 * {@link LogConfig#freeSegmentWait} is {@code NO_SPACE} for the appends that waited, and the log
 * goes on. Refused devices at open (not ours, another format version, another segment size) are
 * {@code INVALID} with a message that says what to do.
 */
public final class FlashLog implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FlashLog.class);

    private final FlashChannel channel;
    private final Superblock superblock;
    private final FlashLayout layout;
    private final LogConfig config;
    private final ReentrantLock lock = new ReentrantLock();
    private final SegmentTable segments;
    private final Appender appender;
    private final RecoverySummary recovery;
    private final ByteBuffer zeroBlock = Buffers.alignedDirect(FlashLayout.BLOCK_SIZE).asReadOnlyBuffer();
    /** Guards {@link #segmentScanner}. */
    private final Object scanLock = new Object();
    /**
     * Scans sealed segments for {@link #readSegment} (the cleaner, one victim at a time), made on
     * first use and kept: its window is a direct buffer, and allocating (and zeroing) one per call
     * was 4.5 % of a busy owner's CPU.
     */
    private SegmentScanner segmentScanner;
    private volatile boolean closed;

    private FlashLog(FlashChannel channel, Superblock superblock, LogConfig config, SegmentTable segments,
                     RecoverySummary recovery) {
        this.channel = channel;
        this.superblock = superblock;
        this.layout = superblock.layout();
        this.config = config;
        this.segments = segments;
        this.recovery = recovery;
        this.appender = new Appender(channel, layout, superblock.deviceUuid(), config, lock, segments,
                recovery.maxSequence() + 1, recovery.maxGeneration());
        appender.start();
    }

    /** Formats {@code channel} as an empty flash log; refuses a device that already holds one. */
    public static FlashLog format(FlashChannel channel, LogConfig config) throws VolumeException {
        return format(channel, config, false);
    }

    /**
     * Formats {@code channel} as an empty flash log with a new device uuid; everything cached on it
     * is lost. Segments are not touched: batches of an earlier format carry another uuid and are
     * never read as ours.
     *
     * @param overwrite format even if the device holds a Flashvisor superblock (of any version)
     */
    public static FlashLog format(FlashChannel channel, LogConfig config, boolean overwrite) throws VolumeException {
        Objects.requireNonNull(config, "config");
        try {
            long size = channel.size();
            long count = FlashLayout.segmentCountFor(size, config.segmentSize());
            if (count < config.minSegments()) {
                throw new VolumeException(BlockError.INVALID, "flash device " + channel + " of " + size + " bytes holds "
                        + count + " segments of " + config.segmentSize() + " bytes; it needs at least "
                        + config.minSegments() + " (one open per stream, the " + config.reservedSegments()
                        + " reserved and one more; 1 MiB + that many segments): use a bigger device or smaller segments");
            }
            ByteBuffer blocks = Buffers.alignedDirect(2 * FlashLayout.BLOCK_SIZE);
            channel.read(blocks, FlashLayout.SUPERBLOCK_A);
            for (int copy = 0; copy < 2; copy++) {
                ByteBuffer block = blocks.slice(copy * FlashLayout.BLOCK_SIZE, FlashLayout.BLOCK_SIZE);
                if (Superblock.looksOurs(block) && !overwrite) {
                    String what;
                    try {
                        Superblock old = Superblock.decode(block);
                        what = "device " + old.deviceUuid() + ", formatted " + Instant.ofEpochMilli(old.createdMillis());
                    } catch (FormatException e) {
                        what = e.getMessage();
                    }
                    throw new VolumeException(BlockError.INVALID, "flash device " + channel + " already holds a Flashvisor"
                            + " flash log (" + what + "); formatting it would drop everything cached on it, including"
                            + " dirty data: format with overwrite only if that is intended");
                }
            }
            Superblock sb = new Superblock(UUID.randomUUID(), System.currentTimeMillis(), config.segmentSize(),
                    (int) Math.min(count, Integer.MAX_VALUE), FlashLayout.FIRST_SEGMENT_OFFSET);
            // Invalidate both copies first: a crash half-way through leaves no superblock or the new
            // one, never the old one next to a half-written new one.
            blocks.clear();
            for (int i = 0; i < blocks.capacity(); i += Long.BYTES) {
                blocks.putLong(i, 0);
            }
            channel.write(blocks.duplicate(), FlashLayout.SUPERBLOCK_A);
            channel.force(true);
            sb.encode(blocks.slice(0, FlashLayout.BLOCK_SIZE));
            sb.encode(blocks.slice(FlashLayout.BLOCK_SIZE, FlashLayout.BLOCK_SIZE));
            channel.write(blocks.slice(0, FlashLayout.BLOCK_SIZE), FlashLayout.SUPERBLOCK_A);
            channel.write(blocks.slice(FlashLayout.BLOCK_SIZE, FlashLayout.BLOCK_SIZE), FlashLayout.SUPERBLOCK_B);
            channel.force(true);
            LOG.info("formatted flash device {}: {} ({}), uuid {}", channel, sb.layout(), size, sb.deviceUuid());
            return new FlashLog(channel, sb, config, SegmentTable.allFree(sb.segmentCount()), RecoverySummary.EMPTY);
        } catch (IOException e) {
            throw ioFailure("format of flash device " + channel, e);
        }
    }

    /**
     * Opens a formatted device: reads the superblock, runs recovery (records go to
     * {@code listener} in sequence order, from this thread), discards a torn tail and rewrites a
     * bad superblock copy, then starts the appender. Appending resumes in a newly opened segment.
     */
    public static FlashLog open(FlashChannel channel, LogConfig config, RecoveryListener listener) throws VolumeException {
        Objects.requireNonNull(config, "config");
        Objects.requireNonNull(listener, "listener");
        try {
            ByteBuffer blocks = Buffers.alignedDirect(2 * FlashLayout.BLOCK_SIZE);
            long size = channel.size();
            if (size < 2L * FlashLayout.BLOCK_SIZE) {
                throw new VolumeException(BlockError.INVALID, "flash device " + channel + " of " + size
                        + " bytes is too small to hold a flash log");
            }
            channel.read(blocks, FlashLayout.SUPERBLOCK_A);
            Superblock sb = null;
            int good = -1;
            String[] problems = new String[2];
            boolean foreign = true;
            for (int copy = 0; copy < 2; copy++) {
                ByteBuffer block = blocks.slice(copy * FlashLayout.BLOCK_SIZE, FlashLayout.BLOCK_SIZE);
                foreign &= !Superblock.looksOurs(block);
                try {
                    Superblock s = Superblock.decode(block);
                    if (sb == null) {
                        sb = s;
                        good = copy;
                    }
                } catch (FormatException e) {
                    problems[copy] = e.getMessage();
                }
            }
            if (sb == null) {
                throw new VolumeException(BlockError.INVALID, foreign
                        ? "flash device " + channel + " holds no Flashvisor flash log (no superblock); it is never"
                        + " formatted implicitly: format it explicitly if it may be overwritten"
                        : "flash device " + channel + " has no usable superblock: copy A: " + problems[0]
                        + "; copy B: " + problems[1] + ". It is not formatted implicitly");
            }
            if (sb.segmentSize() != config.segmentSize()) {
                throw new VolumeException(BlockError.INVALID, "flash device " + channel + " was formatted with segments of "
                        + sb.segmentSize() + " bytes, but the configuration says " + config.segmentSize()
                        + ": set the segment size to " + sb.segmentSize() + ", or reformat the device");
            }
            FlashLayout layout = sb.layout();
            if (size < layout.end()) {
                throw new VolumeException(BlockError.INVALID, "flash device " + channel + " has " + size
                        + " bytes but its superblock says " + layout + " (" + layout.end() + " bytes): has it shrunk?");
            }
            if (layout.segmentCount() < config.minSegments()) {
                throw new VolumeException(BlockError.INVALID, "flash device " + channel + " has " + layout.segmentCount()
                        + " segments; " + config.streams() + " streams and " + config.reservedSegments()
                        + " reserved segments need at least " + config.minSegments());
            }
            LogRecovery.Result result = LogRecovery.run(channel, sb, listener);
            repair(channel, layout, sb, good, problems, blocks, result.tornTail());
            RecoverySummary s = result.summary();
            LOG.info("recovered flash device {} ({}): {} records in {} batches in {} segments, {} lost, {} unreadable runs,"
                            + " torn tail {}, {} MiB read in {} ms", channel, sb.deviceUuid(), s.records(), s.batches(),
                    s.liveSegments(), s.lostRecords(), s.unreadableRuns(), s.tornTail(), s.bytesRead() >> 20, s.nanos() / 1_000_000);
            return new FlashLog(channel, sb, config, result.segments(), s);
        } catch (IOException e) {
            throw ioFailure("recovery of flash device " + channel, e);
        }
    }

    /** The writes recovery asked for, made durable before anything is appended. */
    private static void repair(FlashChannel channel, FlashLayout layout, Superblock sb, int good, String[] problems,
                               ByteBuffer blocks, LogRecovery.TornTail torn) throws IOException {
        boolean wrote = false;
        if (torn != null) {
            // Zeroing the torn batch's header keeps it torn for good: once later batches exist, a
            // checksum failure there would read as corruption of an acknowledged batch.
            LOG.warn("discarding the torn tail of flash device {}: sequences {}..{} in segment {} (never acknowledged)",
                    channel, torn.firstSequence(), torn.lastSequence(), torn.segment());
            channel.write(Buffers.alignedDirect(FlashLayout.BLOCK_SIZE),
                    layout.segmentOffset(torn.segment()) + (long) torn.block() * FlashLayout.BLOCK_SIZE);
            wrote = true;
        }
        int bad = 1 - good;
        if (problems[bad] != null && !problems[bad].contains("version")) {
            LOG.warn("superblock copy {} of flash device {} is bad ({}); rewriting it from copy {}",
                    bad == 0 ? "A" : "B", channel, problems[bad], good == 0 ? "A" : "B");
            ByteBuffer copy = blocks.slice(bad * FlashLayout.BLOCK_SIZE, FlashLayout.BLOCK_SIZE);
            sb.encode(copy);
            channel.write(copy, bad * (long) FlashLayout.BLOCK_SIZE);
            wrote = true;
        }
        if (wrote) {
            channel.force(true);
        }
    }

    /** The largest number of data blocks one append may carry. */
    public int maxAppendBlocks() {
        return config.maxBatchDataBlocks();
    }

    /**
     * Appends {@code records} (1 to 63, at most {@link #maxAppendBlocks} data blocks in all) as one
     * unit to append stream {@code stream}. The future completes when they are durable, or fails
     * with a {@link VolumeException}. DATA buffers must not change until then.
     *
     * @throws IllegalArgumentException if the append is empty or too big (it is never split), or
     *                                  the stream is not one of {@link LogConfig#streams}
     */
    public CompletableFuture<AppendResult> appendAsync(int stream, List<Record> records) {
        return submit(stream, records, false, new CompletableFuture<>());
    }

    /**
     * {@link #appendAsync(int, List)} with {@code whenDone} attached before the append is queued, so
     * that it runs on the appender thread as the append completes — before the appender packs its
     * next batch, which is what seals the segment the records went to. Use it when the completion
     * publishes the records' locations (an index update): until it has run the cleaner cannot take
     * that segment for a victim, judge the records dead (nothing points at them yet) and free it.
     * A dependent attached to {@link #appendAsync}'s future may come too late for that: if the
     * append had completed already, it runs on the caller's thread whenever that gets to it — on a
     * busy machine after the segment was reclaimed and reused, leaving an index entry that points
     * at another block's data (CleanerTest's concurrent readers caught one in CI). {@code whenDone}
     * may also run on the caller's thread, at once, if the log refuses the append (closed, failed).
     */
    public void appendThen(int stream, List<Record> records, BiConsumer<AppendResult, Throwable> whenDone) {
        CompletableFuture<AppendResult> f = new CompletableFuture<>();
        f.whenComplete(whenDone);
        submit(stream, records, false, f);
    }

    /** {@link #appendAsync(int, List)} to stream 0. */
    public CompletableFuture<AppendResult> appendAsync(List<Record> records) {
        return appendAsync(0, records);
    }

    /**
     * Like {@link #appendAsync(int, List)}, for the cleaner moving live data out of segments it will
     * free: served first within its stream, and allowed into the reserved segments so that reclaim
     * can always progress. To be sure never to wait for space it cannot get, the cleaner follows the
     * rules of docs/cache.md (Appending, Space: the reserve and the cleaner): one victim segment at a time, at least as many free
     * segments as streams it writes to when it starts, and each victim's live records packed in
     * sequence order into as few appends as fit.
     */
    public CompletableFuture<AppendResult> appendReclaimAsync(int stream, List<Record> records) {
        return submit(stream, records, true, new CompletableFuture<>());
    }

    /**
     * {@link #appendAsync(int, List)}, waiting for the result. Not to be called from a future's
     * callback on the appender thread.
     */
    public AppendResult append(int stream, List<Record> records) throws VolumeException {
        if (appender.isAppenderThread()) {
            throw new IllegalStateException("a blocking append from the appender thread would wait for itself");
        }
        CompletableFuture<AppendResult> f = appendAsync(stream, records);
        try {
            return f.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof VolumeException v) {
                throw new VolumeException(v.error(), v.getMessage(), v);
            }
            throw new VolumeException(BlockError.IO, "append failed: " + cause, cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new VolumeException(BlockError.IO, "interrupted while waiting for an append, which may yet become durable", e);
        }
    }

    /** {@link #append(int, List)} to stream 0. */
    public AppendResult append(List<Record> records) throws VolumeException {
        return append(0, records);
    }

    private CompletableFuture<AppendResult> submit(int stream, List<Record> records, boolean reclaim,
                                                   CompletableFuture<AppendResult> future) {
        if (stream < 0 || stream >= config.streams()) {
            throw new IllegalArgumentException("stream " + stream + " is not one of the " + config.streams()
                    + " configured append streams [0, " + config.streams() + ")");
        }
        List<Record> list = List.copyOf(records);
        if (list.isEmpty() || list.size() > BatchHeader.MAX_ENTRIES) {
            throw new IllegalArgumentException("an append holds 1 to 63 records, not " + list.size());
        }
        long dataBlocks = 0;
        for (Record r : list) {
            dataBlocks += r.dataBlocks();
        }
        if (dataBlocks > maxAppendBlocks()) {
            throw new IllegalArgumentException("an append of " + dataBlocks + " data blocks exceeds the limit of "
                    + maxAppendBlocks() + " (max batch bytes " + config.maxBatchBytes() + "); split it into several"
                    + " appends, knowing that each is atomic only by itself");
        }
        return appender.submit(stream, list, (int) dataBlocks, reclaim, future);
    }

    /**
     * Reads {@code dst.remaining()} bytes (whole blocks) from {@code deviceBlock} on. No checksum
     * is checked: use {@link #readRecord} for that. Works in the failed state too.
     */
    public void read(long deviceBlock, ByteBuffer dst) throws VolumeException {
        int bytes = dst.remaining();
        if (bytes == 0 || bytes % FlashLayout.BLOCK_SIZE != 0) {
            throw new IllegalArgumentException("reads are whole 4 KiB blocks, not " + bytes + " bytes");
        }
        if (layout.segmentOf(deviceBlock) < 0 || layout.segmentOf(deviceBlock + bytes / FlashLayout.BLOCK_SIZE - 1) < 0) {
            throw new IllegalArgumentException("device blocks [" + deviceBlock + ", +" + bytes / FlashLayout.BLOCK_SIZE
                    + ") are outside the segments of " + layout);
        }
        checkNotClosed();
        try {
            channel.read(dst, deviceBlock * FlashLayout.BLOCK_SIZE);
        } catch (IOException e) {
            checkNotClosed();
            // A failed read says nothing about durability: the log goes on.
            throw ioFailure("read of device block " + deviceBlock + " of " + channel, e);
        }
    }

    /**
     * Reads a DATA record's {@code blockCount} blocks from {@code deviceBlock} into {@code dst} and
     * checks them against {@code dataCrc}; a mismatch is an {@code IO} error (the data is corrupt).
     */
    public void readRecord(long deviceBlock, int blockCount, int dataCrc, ByteBuffer dst) throws VolumeException {
        if (dst.remaining() != blockCount * FlashLayout.BLOCK_SIZE) {
            throw new IllegalArgumentException("a record of " + blockCount + " blocks needs a buffer of exactly "
                    + blockCount * FlashLayout.BLOCK_SIZE + " bytes, not " + dst.remaining());
        }
        int start = dst.position();
        read(deviceBlock, dst);
        CRC32C crc = new CRC32C();
        crc.update(dst.duplicate().position(start).limit(dst.position()));
        if ((int) crc.getValue() != dataCrc) {
            throw new VolumeException(BlockError.IO, "data of the record at device block " + deviceBlock + " (+"
                    + blockCount + ") of " + channel + " failed its CRC: it is corrupt");
        }
    }

    /** {@link #readRecord(long, int, int, ByteBuffer)} for a record found by recovery or {@link #readSegment}. */
    public void readRecord(RecoveredRecord record, ByteBuffer dst) throws VolumeException {
        if (record.type() != RecordType.DATA) {
            throw new IllegalArgumentException(record.type() + " records have no data");
        }
        readRecord(record.deviceBlock(), record.blockCount(), record.dataCrc(), dst);
    }

    /** Sealed segments of every stream, oldest generation first: the candidates for reclaim. */
    public List<SegmentInfo> sealedSegments() {
        return sealedSegments(-1);
    }

    /**
     * Sealed segments of {@code stream} (of every stream if negative), oldest generation first: the
     * stream's FIFO, minus its open segment. Recovered segments keep the stream they were written
     * to, even one no longer configured.
     */
    public List<SegmentInfo> sealedSegments(int stream) {
        if (stream >= LogConfig.MAX_STREAMS) {
            throw new IllegalArgumentException("stream " + stream + " is not in [0, " + LogConfig.MAX_STREAMS + ")");
        }
        lock.lock();
        try {
            return segments.sealed(stream);
        } finally {
            lock.unlock();
        }
    }

    /**
     * The open segment of each stream that has one (a stream opens its first on its first append),
     * by stream: the newest end of each FIFO, not yet reclaimable. Its {@code usedBlocks} counts
     * blocks written or being written.
     */
    public List<SegmentInfo> openSegments() {
        lock.lock();
        try {
            return appender.openSegments();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Re-reads the records of a sealed segment from flash, checking every data CRC. The caller
     * must not free the segment while this runs.
     */
    public SegmentContents readSegment(int segment) throws VolumeException {
        layout.checkSegment(segment);
        long generation;
        int stream;
        lock.lock();
        try {
            if (segments.state(segment) != SegmentTable.SEALED) {
                throw new IllegalStateException("segment " + segment + " is " + SegmentTable.name(segments.state(segment))
                        + "; only sealed segments can be read");
            }
            generation = segments.generation(segment);
            stream = segments.stream(segment);
        } finally {
            lock.unlock();
        }
        checkNotClosed();
        try {
            SegmentScanner.Scan scan;
            synchronized (scanLock) {
                if (segmentScanner == null) {
                    segmentScanner = new SegmentScanner(channel, layout, superblock.deviceUuid());
                }
                scan = segmentScanner.scan(segment);
            }
            if (scan.generation() != generation || scan.stream() != stream) {
                LOG.error("sealed segment {} of stream {}, generation {} now reads as stream {}, generation {}: its first"
                        + " header is corrupt", segment, stream, generation, scan.stream(), scan.generation());
            }
            List<RecoveredRecord> records = new ArrayList<>();
            List<RecoveredRecord> lost = new ArrayList<>();
            long unreadable = 0;
            for (SegmentScanner.Event event : scan.events()) {
                switch (event) {
                    case SegmentScanner.Gap gap -> unreadable += gap.lastSequence() - gap.firstSequence() + 1;
                    case SegmentScanner.ScannedBatch batch -> {
                        long dataBlock = layout.deviceBlock(segment, batch.block() + 1);
                        List<RecordEntry> entries = batch.header().entries();
                        for (int i = 0; i < entries.size(); i++) {
                            RecordEntry e = entries.get(i);
                            RecoveredRecord r = RecoveredRecord.of(e, stream, segment, dataBlock);
                            ((batch.badData() & (1L << i)) != 0 ? lost : records).add(r);
                            if (e.type() == RecordType.DATA) {
                                dataBlock += e.blockCount();
                            }
                        }
                    }
                }
            }
            return new SegmentContents(segment, stream, scan.generation(), records, lost, unreadable);
        } catch (IOException e) {
            throw ioFailure("read of segment " + segment + " of " + channel, e);
        }
    }

    /**
     * Frees sealed segments whose live records have been re-appended: zeroes each one's first
     * block, forces once (unless durability is NONE), and only then makes them available for
     * appending. A failure fails the log, and the segments stay out of use.
     */
    public void free(Collection<Integer> segmentIds) throws VolumeException {
        List<Integer> ids = new ArrayList<>(new LinkedHashSet<>(segmentIds));
        if (ids.isEmpty()) {
            return;
        }
        for (int s : ids) {
            layout.checkSegment(s);
        }
        lock.lock();
        try {
            checkNotClosed();
            if (appender.failure() != null) {
                throw appender.failedEarlier();
            }
            for (int s : ids) {
                if (segments.state(s) != SegmentTable.SEALED) {
                    throw new IllegalStateException("segment " + s + " is " + SegmentTable.name(segments.state(s))
                            + "; only sealed segments can be freed");
                }
            }
            for (int s : ids) {
                segments.freeing(s);
            }
        } finally {
            lock.unlock();
        }
        long failuresBefore = appender.forceFailures();
        try {
            for (int s : ids) {
                channel.write(zeroBlock.duplicate(), layout.segmentOffset(s));
            }
            if (config.durability() != Durability.NONE) {
                try {
                    channel.force(config.durability() == Durability.DATA_AND_METADATA);
                } catch (IOException | RuntimeException e) {
                    appender.forceFailed();
                    throw e;
                }
                if (appender.forceFailures() != failuresBefore) {
                    throw new IOException("another fdatasync on the flash device failed while segments were freed");
                }
            }
        } catch (IOException | RuntimeException e) {
            VolumeException v = ioFailure("free of segments " + ids + " of " + channel, e);
            lock.lock();
            try {
                appender.fail(v); // the segments stay FREEING: never reused, never read
            } finally {
                lock.unlock();
            }
            throw v;
        }
        lock.lock();
        try {
            for (int s : ids) {
                segments.freed(s);
            }
            appender.segmentsFreed();
        } finally {
            lock.unlock();
        }
    }

    public int freeSegmentCount() {
        lock.lock();
        try {
            return segments.freeCount();
        } finally {
            lock.unlock();
        }
    }

    public FlashLayout layout() {
        return layout;
    }

    public UUID deviceUuid() {
        return superblock.deviceUuid();
    }

    public LogConfig config() {
        return config;
    }

    /** What recovery found at open; all zero after format. */
    public RecoverySummary recovery() {
        return recovery;
    }

    public LogStats stats() {
        return appender.stats();
    }

    /** True once an I/O error has made the log refuse appends. */
    public boolean isFailed() {
        lock.lock();
        try {
            return appender.failure() != null;
        } finally {
            lock.unlock();
        }
    }

    private void checkNotClosed() throws VolumeException {
        if (closed) {
            throw new VolumeException(BlockError.SHUTDOWN, "flash log on " + channel + " is closed");
        }
    }

    /**
     * The one place where an {@link IOException} of the flash device becomes a domain error:
     * {@code ENOSPC} is {@code NO_SPACE}, anything else {@code IO}.
     */
    static VolumeException ioFailure(String what, Throwable e) {
        if (e instanceof VolumeException v) {
            return v;
        }
        BlockError error = e instanceof DeviceFullException ? BlockError.NO_SPACE : BlockError.IO;
        String reason = e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
        return new VolumeException(error, what + " failed: " + reason, e);
    }

    /** Stops the appender (queued appends fail with SHUTDOWN) and closes the channel. Idempotent. */
    @Override
    public void close() throws IOException {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        appender.close();
        channel.close();
    }

    @Override
    public String toString() {
        return "FlashLog(" + channel + ", " + layout + ", uuid " + superblock.deviceUuid() + ")";
    }
}
