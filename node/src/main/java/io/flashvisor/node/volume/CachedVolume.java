package io.flashvisor.node.volume;

import static io.flashvisor.node.volume.LatencyComponent.FLASH_READ;
import static io.flashvisor.node.volume.LatencyComponent.FLASH_WRITE;
import static io.flashvisor.node.volume.LatencyComponent.PEER;
import static io.flashvisor.node.volume.LatencyComponent.SAN;
import static io.flashvisor.node.volume.LatencyComponent.VM_READ;
import static io.flashvisor.node.volume.LatencyComponent.VM_WRITE;

import io.flashvisor.cache.engine.VolumeCache;
import io.flashvisor.cache.policy.SequentialDetector;
import io.flashvisor.cache.sizing.Shards;
import io.flashvisor.common.BlockError;
import io.flashvisor.common.BlockVolume;
import io.flashvisor.common.Extent;
import io.flashvisor.common.RangeLock;
import io.flashvisor.common.VolumeException;
import io.flashvisor.common.VolumeFeatures;
import io.flashvisor.destage.Destager;
import io.flashvisor.destage.DestageSettings;
import io.flashvisor.node.Policy;
import io.flashvisor.replication.owner.ReplicaSet;
import io.flashvisor.replication.protocol.Replicate;
import io.flashvisor.replication.transport.PeerClient;
import java.util.List;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A volume accelerated by the node's flash device: the {@link BlockVolume} the NBD server serves,
 * applying the volume's {@link Policy} over its backing store and its {@link VolumeCache}.
 *
 * <p>The rules that keep it correct (docs/cache.md, "The cached volume"):
 * <ul>
 * <li><b>The cache is always coherent</b>: a cached block is the newest version, or absent. Reads
 *     look in the cache first under every policy; writes that bypass it invalidate it first.</li>
 * <li><b>Range locks</b> order requests on the same blocks: a read miss holds its blocks from the
 *     backing-store read until its flash insert is applied, so it cannot install old data over a
 *     write that came meanwhile; every write holds its blocks until the cache reflects it.</li>
 * <li><b>Dirty data keeps flush order.</b> A write to blocks that have a dirty version goes to flash
 *     as dirty data whatever the policy (right after leaving write-back, say): writing the backing
 *     store directly would let the destager later write the older version over it. Under
 *     write-back, requests go to the backing store directly (sequential bypass, TRIM, fast
 *     WRITE_ZEROES) only while the volume has no dirty data at all, so the backing store always
 *     holds the volume as of some FLUSH.</li>
 * <li><b>Write-through never leaves a stale copy behind a crash</b>: overwriting a cached block
 *     first makes an INVALIDATE durable, then writes the backing store, then caches the new data.</li>
 * </ul>
 *
 * <p>Only whole 4 KiB blocks are cached; a volume whose size is not a multiple of 4 KiB has its
 * last partial block served from the backing store directly.
 *
 * <p>Thread-safe; calls block.
 */
public final class CachedVolume implements BlockVolume {
    private static final Logger LOG = LoggerFactory.getLogger(CachedVolume.class);
    static final int BLOCK = 4096;
    /** Dirty ratio from which dirty writes wait for the destager (bounded by {@link #ROOM_WAIT}). */
    static final double DIRTY_LIMIT = 0.85;
    private static final Duration ROOM_WAIT = Duration.ofSeconds(2);
    private static final Duration DIRTY_BLOCK_WAIT = Duration.ofSeconds(30);
    /** How long a read waits for a lease in doubt to come back before it fails (a ZooKeeper blip is shorter). */
    private static final Duration LEASE_WAIT = Duration.ofSeconds(5);
    /** How long to wait after a failed search for a new replica peer (none live, or it did not answer). */
    private static final Duration REPAIR_BACKOFF = Duration.ofSeconds(2);
    /** Zeroes written as dirty data go to flash in chunks of this size. */
    private static final int ZERO_CHUNK = 1 << 20;
    private static final ByteBuffer ZEROES = ByteBuffer.allocateDirect(ZERO_CHUNK).asReadOnlyBuffer();
    /** An extent of the backing store is checked for dirty blocks over at most this many bytes. */
    private static final long EXTENT_CHECK = 64L << 20;

    private final String name;
    private final BlockVolume backing;
    private final FlashDevice device;
    private final VolumeCache cache;
    private final Destager destager;
    private final FlushEpochs epochs;
    private final SequentialDetector sequential;
    private final RangeLock locks = new RangeLock();
    private final long size;
    /** End of the cached part: the last whole block. */
    private final long cachedEnd;
    private final AtomicInteger foreground = new AtomicInteger();
    /** A write went to the backing store without FUA since the last backing-store flush. */
    private final AtomicBoolean backingUnflushed = new AtomicBoolean();
    private final LongAdder bypassedBytes = new LongAdder();
    private final LongAdder fallbackWrites = new LongAdder();
    /** The volume's miss-ratio curve, sampled online from its reads and writes (what flash it needs). */
    private final Shards sizing = new Shards();
    private volatile Policy policy;
    private volatile String flashFailure;
    private final VolumeReplication replication;
    private final Thread releaser;
    /** Writes waiting for the backing store because a replica copy is missing (the destager drains meanwhile). */
    private final AtomicInteger waitingForClean = new AtomicInteger();
    private final LongAdder replicaFallbacks = new LongAdder();
    /** Where this volume's I/O time goes (docs/observability.md); recorded wait-free on the I/O path. */
    private final VolumeLatency latency = new VolumeLatency();
    private volatile boolean closed;

    /**
     * @param sequentialCutoff run length from which a stream bypasses flash (0: never)
     */
    public CachedVolume(String name, BlockVolume backing, FlashDevice device, Policy policy, long sequentialCutoff,
                        DestageSettings destageSettings) throws IOException {
        this(name, backing, device, policy, sequentialCutoff, destageSettings, null);
    }

    /**
     * @param replication write-back with replicas: the peers every dirty write also goes to, or
     *                    null for {@code replicas = 0}
     */
    public CachedVolume(String name, BlockVolume backing, FlashDevice device, Policy policy, long sequentialCutoff,
                        DestageSettings destageSettings, VolumeReplication replication) throws IOException {
        this.name = name;
        this.replication = replication;
        this.backing = backing;
        this.device = device;
        this.cache = device.cache().attach(name);
        this.size = backing.size();
        this.cachedEnd = size / BLOCK * BLOCK;
        this.policy = policy;
        this.sequential = new SequentialDetector(sequentialCutoff);
        long highest = cache.highestFlushEpoch();
        this.epochs = new FlushEpochs(highest == VolumeCache.NO_EPOCH ? 0 : highest + 1);
        this.destager = new Destager(cache, backing, destageSettings, device::dirtyRatio, foreground::get,
                replication == null ? () -> true : replication.mayAct(), nanos -> latency.record(SAN, nanos)).start();
        this.releaser = replication == null ? null : Thread.ofVirtual().name("replica-release-" + name).start(this::releaseLoop);
        long dirty = cache.dirtyBytes();
        if (dirty > 0) {
            LOG.info("volume {}: {} bytes of dirty data recovered from flash; destaging them", name, dirty);
            if (policy != Policy.WRITE_BACK) {
                destager.setDraining(true);
            }
        }
    }

    public String name() {
        return name;
    }

    public Policy policy() {
        return policy;
    }

    /**
     * Changes the policy online; connected clients notice nothing. Leaving write-back keeps the
     * dirty data and destages it at full speed ({@link #status} shows the drain); until it is
     * destaged, writes to dirty blocks still go to flash (see the class comment).
     */
    public void setPolicy(Policy next) {
        Policy previous = policy;
        policy = next;
        destager.setDraining(next != Policy.WRITE_BACK);
        if (previous != next) {
            LOG.info("volume {}: policy {} -> {}{}", name, previous.configName(), next.configName(),
                    next != Policy.WRITE_BACK && cache.dirtyBlocks() > 0
                            ? "; draining " + cache.dirtyBytes() + " dirty bytes to the backing store" : "");
        }
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public VolumeFeatures features() {
        VolumeFeatures b = backing.features();
        // Zeroes and FUA can always be honoured here (zeroes by writing them); a flush covers every
        // connection's writes (one epoch counter and one backing store per volume).
        return new VolumeFeatures(b.readOnly(), true, true, b.trim(), true, b.fastZero(), true, true, false, 1, BLOCK);
    }

    // ---- reads ----

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        long start = System.nanoTime();
        try {
            awaitLease();
            readAt(offset, dst);
        } finally {
            latency.since(VM_READ, start);
        }
    }

    private void readAt(long offset, ByteBuffer dst) throws IOException {
        int length = dst.remaining();
        if (offset + length > cachedEnd) {
            int head = (int) Math.max(0, cachedEnd - offset);
            if (head > 0) {
                readAt(offset, dst.slice(dst.position(), head));
                dst.position(dst.position() + head);
            }
            backingRead(offset + head, dst);
            return;
        }
        long first = offset / BLOCK;
        int count = blocks(offset, length);
        accessed(first, count);
        boolean aligned = offset % BLOCK == 0 && length % BLOCK == 0;
        ByteBuffer buf = aligned ? dst.slice(dst.position(), length) : ByteBuffer.allocate(count * BLOCK);
        boolean admit = policy != Policy.PASS_THROUGH && flashFailure == null && !bypass(offset, length);
        readBlocks(first, count, buf, admit, false);
        if (!aligned) {
            dst.put(buf.slice((int) (offset - first * BLOCK), length));
        } else {
            dst.position(dst.position() + length);
        }
    }

    /**
     * The event loop's fast path: an aligned read whose blocks are all cached is served from flash
     * right here (a page-cache or SSD read of a few microseconds, cheaper than handing the request
     * to a worker thread); anything else returns null and takes {@link #read}.
     */
    @Override
    public CompletableFuture<Void> tryReadAsync(long offset, ByteBuffer dst) {
        long start = System.nanoTime();
        int length = dst.remaining();
        if (offset % BLOCK != 0 || length % BLOCK != 0 || offset + length > cachedEnd || flashFailure != null || !mayServe()) {
            return null;
        }
        long first = offset / BLOCK;
        int count = length / BLOCK;
        if (!cache.allCached(first, count)) {
            return null;
        }
        long flashStart = System.nanoTime();
        try {
            for (int i = 0; i < count; i++) {
                if (!readCached(first + i, dst.slice(dst.position() + i * BLOCK, BLOCK))) {
                    return null; // Evicted meanwhile: the slow path reads it all again (and records the VM's read).
                }
            }
        } catch (IOException e) {
            latency.since(VM_READ, start);
            return CompletableFuture.failedFuture(e);
        } finally {
            latency.since(FLASH_READ, flashStart);
        }
        accessed(first, count);
        dst.position(dst.position() + length);
        latency.since(VM_READ, start);
        return CompletableFuture.completedFuture(null);
    }

    private boolean mayServe() {
        return replication == null || replication.mayAct().getAsBoolean();
    }

    /**
     * A replicated volume is served only under this host's lease: once it has lapsed another host may
     * own the volume and hold newer data, so a read here could return a stale block (I3), and a write
     * could not be acknowledged. A lease in doubt (a ZooKeeper blip) is waited for a few seconds —
     * rather than failing the VM's I/O at once — and a lapsed one fails the request.
     */
    private void awaitLease() throws IOException {
        long deadline = System.nanoTime() + LEASE_WAIT.toNanos();
        while (!mayServe()) {
            if (System.nanoTime() > deadline) {
                throw new Fenced(name, "the request is refused (a read could return stale data, a write could not be acknowledged)");
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted waiting for this host's lease");
            }
        }
    }

    /**
     * Reads blocks {@code [first, +count)} into {@code buf} (count × 4 KiB, from position 0): hits
     * from flash, misses from the backing store, admitted to flash if {@code admit}.
     *
     * @param locked the caller holds the range lock of these blocks (a write's read-modify-write)
     */
    private void readBlocks(long first, int count, ByteBuffer buf, boolean admit, boolean locked) throws IOException {
        int missStart = -1;
        int hits = 0;
        long flashNanos = 0; // time in reads of cached blocks: one flash sample per call that had hits
        for (int i = 0; i <= count; i++) {
            long t = System.nanoTime();
            boolean hit = i < count && readCached(first + i, buf.slice(i * BLOCK, BLOCK));
            if (hit) {
                hits++;
                flashNanos += System.nanoTime() - t;
            }
            if (!hit && i < count && missStart < 0) {
                missStart = i;
            } else if ((hit || i == count) && missStart >= 0) {
                ByteBuffer part = buf.slice(missStart * BLOCK, (i - missStart) * BLOCK);
                if (locked) {
                    backingRead((first + missStart) * BLOCK, part.duplicate());
                } else {
                    fill(first + missStart, i - missStart, part, admit);
                }
                missStart = -1;
            }
        }
        if (hits > 0) {
            latency.record(FLASH_READ, flashNanos);
        }
    }

    /** One block from flash, if cached and readable; false sends it to the backing store. */
    private boolean readCached(long block, ByteBuffer dst) throws IOException {
        if (flashFailure != null && !cache.hasDirty(block, 1)) {
            return false; // Clean copies may be stale now: writes no longer invalidate them.
        }
        int location = cache.lookup(block);
        if (location == VolumeCache.NOT_FOUND) {
            return false;
        }
        try {
            cache.readBlock(location, dst);
            return true;
        } catch (VolumeException e) {
            if (cache.hasDirty(block, 1)) {
                throw new VolumeException(BlockError.IO, "volume " + name + ": block " + block
                        + " is dirty and its flash copy cannot be read: " + e.getMessage(), e);
            }
            LOG.warn("volume {}: flash read of clean block {} failed, reading the backing store instead: {}", name, block, e.getMessage());
            return false;
        }
    }

    /**
     * A run of read misses: under the range lock (so no write interleaves), re-checks the cache,
     * reads what is still missing from the backing store and admits it to flash. The lock is
     * released when the flash insert is applied, not before.
     */
    private void fill(long first, int count, ByteBuffer into, boolean admit) throws IOException {
        RangeLock.Held held = acquire(first, count);
        CompletableFuture<?> inserted = CompletableFuture.completedFuture(null);
        try {
            int start = -1;
            for (int i = 0; i <= count; i++) {
                // A write may have cached these blocks since the unlocked lookup: the cache wins.
                boolean cached = i < count && cache.anyCached(first + i, 1) && readCached(first + i, into.slice(i * BLOCK, BLOCK));
                if (!cached && i < count && start < 0) {
                    start = i;
                } else if ((cached || i == count) && start >= 0) {
                    ByteBuffer part = into.slice(start * BLOCK, (i - start) * BLOCK);
                    backingRead((first + start) * BLOCK, part.duplicate());
                    if (admit) {
                        inserted = CompletableFuture.allOf(inserted, admitClean(first + start, part));
                    }
                    start = -1;
                }
            }
        } finally {
            inserted.whenComplete((ok, e) -> held.close());
        }
    }

    /** Caches a copy of clean data; a failure only means it is not cached (and is logged once). */
    private CompletableFuture<Void> admitClean(long first, ByteBuffer data) {
        ByteBuffer copy = ByteBuffer.allocate(data.remaining()).put(data.duplicate()).flip();
        return flashTimed(System.nanoTime(), cache.insert(first, copy, false, 0)).exceptionally(e -> {
            noteFlashError(e);
            return null;
        });
    }

    // ---- writes ----

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        long start = System.nanoTime();
        try {
            awaitLease();
            writeAt(offset, src, fua);
        } finally {
            latency.since(VM_WRITE, start);
        }
    }

    private void writeAt(long offset, ByteBuffer src, boolean fua) throws IOException {
        int length = src.remaining();
        if (offset + length > cachedEnd) {
            int head = (int) Math.max(0, cachedEnd - offset);
            if (head > 0) {
                writeAt(offset, src.slice(src.position(), head), fua);
                src.position(src.position() + head);
            }
            backingWrite(offset + head, src, fua);
            return;
        }
        long first = offset / BLOCK;
        int count = blocks(offset, length);
        accessed(first, count);
        RangeLock.Held held = acquire(first, count);
        CompletableFuture<?> release = CompletableFuture.completedFuture(null);
        try {
            Policy p = policy;
            boolean dirtyRange = cache.hasDirty(first, count);
            if (p == Policy.WRITE_BACK || dirtyRange) {
                if (!dirtyRange && bypass(offset, length) && cache.dirtyBlocks() == 0) {
                    bypassedBytes.add(length);
                    writeAround(first, count, offset, src, fua);
                } else {
                    writeDirty(first, count, offset, src, fua, dirtyRange);
                }
            } else {
                boolean admit = p == Policy.WRITE_THROUGH && flashFailure == null && !bypass(offset, length);
                release = writeThrough(first, count, offset, src, fua, admit);
            }
        } finally {
            release.whenComplete((ok, e) -> held.close());
        }
    }

    /**
     * The event loop's fast path for write-back: an aligned write whose blocks no other request
     * holds is queued for the flash log's group commit here, and acknowledged from the log's
     * completion — no worker thread. Sequential bypass, unaligned writes, a busy range, flash
     * nearly full of dirty data or failed: null, and {@link #write} decides.
     */
    @Override
    public CompletableFuture<Void> tryWriteAsync(long offset, ByteBuffer src, boolean fua) {
        long start = System.nanoTime();
        CompletableFuture<Void> done = tryWriteFast(offset, src, fua);
        if (done != null) {
            done.whenComplete((ok, e) -> latency.since(VM_WRITE, start));
        }
        return done;
    }

    private CompletableFuture<Void> tryWriteFast(long offset, ByteBuffer src, boolean fua) {
        int length = src.remaining();
        if (policy != Policy.WRITE_BACK || offset % BLOCK != 0 || length % BLOCK != 0 || offset + length > cachedEnd
                || flashFailure != null || device.dirtyRatio() >= DIRTY_LIMIT || !mayServe()) {
            return null;
        }
        long first = offset / BLOCK;
        int count = length / BLOCK;
        RangeLock.Held held = locks.tryAcquire(first * BLOCK, (long) length);
        if (held == null) {
            return null;
        }
        accessed(first, count);
        if (bypass(offset, length) && cache.dirtyBlocks() == 0 && !cache.anyCached(first, count)) {
            // A sequential stream goes around flash: a blocking backing write, so not on this thread.
            bypassedBytes.add(length);
            return offTheLoop("bypass", held, () -> backingWrite(offset, src, fua));
        }
        CompletableFuture<Void> done = new CompletableFuture<>();
        ByteBuffer data = src.slice();
        dirtyInsert(first, count, data).whenComplete((ok, failure) -> {
            if (failure == null) {
                held.close();
                destager.nudge();
                src.position(src.limit());
                done.complete(null);
                return;
            }
            Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
            if (cause instanceof Fenced) {
                held.close();
                done.completeExceptionally(cause);
                return;
            }
            if (cause instanceof MissingReplica) {
                // Durable here but a peer failed: the backing store takes the second copy (blocking: off the loop).
                offTheLoop("replica-fallback", held, () -> writeThroughForMissingReplica(first, data, (MissingReplica) cause))
                        .whenComplete((ignored, e) -> {
                            if (e == null) {
                                src.position(src.limit());
                                done.complete(null);
                            } else {
                                done.completeExceptionally(e);
                            }
                        });
                return;
            }
            // Flash full or failed: the slow path's fallback may block, so it runs on its own thread.
            // The range lock is still held, so whether the blocks have dirty data is the same as before the insert.
            offTheLoop("fallback", held, () -> afterFailedDirtyInsert(cause, first, count, offset, src, fua, cache.hasDirty(first, count)))
                    .whenComplete((ignored, e) -> {
                        if (e == null) {
                            done.complete(null);
                        } else {
                            done.completeExceptionally(e);
                        }
                    });
        });
        return done;
    }

    /** Blocking I/O of a fast-path request, on a virtual thread of its own; releases {@code held} after. */
    private CompletableFuture<Void> offTheLoop(String what, RangeLock.Held held, BlockingIo io) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Thread.ofVirtual().name(what + "-" + name).start(() -> {
            try {
                io.run();
                done.complete(null);
            } catch (Throwable t) {
                done.completeExceptionally(t);
            } finally {
                held.close();
            }
        });
        return done;
    }

    private interface BlockingIo {
        void run() throws IOException;
    }

    /**
     * Write-back: the blocks go to flash as dirty data of the current flush epoch; acknowledged when
     * durable there (so FUA costs nothing more). A partial block is read, merged and rewritten.
     */
    private void writeDirty(long first, int count, long offset, ByteBuffer src, boolean fua, boolean dirtyRange) throws IOException {
        ByteBuffer data;
        if (offset % BLOCK == 0 && src.remaining() % BLOCK == 0) {
            data = src.slice(); // Safe without a copy: the client's buffer is not reused until we return.
        } else {
            data = ByteBuffer.allocate(count * BLOCK);
            readEdges(first, count, offset, src.remaining(), data);
            data.put((int) (offset - first * BLOCK), src, src.position(), src.remaining());
        }
        if (flashFailure == null && awaitDirtyRoom(first, count, dirtyRange)) {
            try {
                await(dirtyInsert(first, count, data));
                destager.nudge();
                src.position(src.limit());
                return;
            } catch (MissingReplica e) {
                writeThroughForMissingReplica(first, data, e);
                src.position(src.limit());
                return;
            } catch (Fenced e) {
                throw e;
            } catch (VolumeException e) {
                afterFailedDirtyInsert(e, first, count, offset, src, fua, dirtyRange);
                return;
            }
        }
        afterFailedDirtyInsert(null, first, count, offset, src, fua, cache.hasDirty(first, count));
    }

    /**
     * A dirty write: to flash and, with replicas, to every peer in parallel (the same flush epoch,
     * decided first, and the next origin sequence). Completes when every copy is durable; fails
     * with {@link MissingReplica} when only the local one is, and with the flash's error when the
     * local append failed. With a lapsed lease it fails: a fenced owner acknowledges nothing.
     */
    private CompletableFuture<Void> dirtyInsert(long first, int count, ByteBuffer data) {
        if (replication == null) {
            return flashTimed(System.nanoTime(), cache.insert(first, data, true, epochs.forWrite()));
        }
        long epoch = cache.epochForWrite(first, count, epochs.forWrite());
        long sequence = replication.releases().assign(epoch);
        CompletableFuture<Void> local = flashTimed(System.nanoTime(), cache.insert(first, data, true, epoch));
        local.whenComplete((ok, e) -> replication.releases().landed(epoch));
        CompletableFuture<Void> remote;
        long sent = System.nanoTime();
        try {
            remote = replication.peers().replicate(new Replicate(replication.hostId(), cache.volumeId(),
                    replication.ownerEpoch().getAsLong(), epoch, first, count, sequence, data.duplicate()));
        } catch (RuntimeException e) {
            remote = CompletableFuture.failedFuture(e);
        }
        remote.whenComplete((ok, e) -> {
            if (e == null || peerWasAsked(e)) {
                latency.since(PEER, sent);
            }
        });
        CompletableFuture<Void> peers = remote;
        return local.thenCompose(v -> peers.handle((ok, e) -> {
            if (!replication.mayAct().getAsBoolean()) {
                throw new CompletionException(new Fenced(name, "the write is not acknowledged"));
            }
            if (e != null) {
                throw new CompletionException(new MissingReplica(e));
            }
            return null;
        }));
    }

    /**
     * A peer did not take a write: the write is on local flash only. Its acknowledgement waits until
     * the whole volume is clean on the backing store — every older epoch, then this write — because
     * the failed peer's replicas now miss this write: were it to take the volume over later, it
     * would write its older versions of these blocks over the newer one. Once the volume is clean
     * nothing it holds is needed, so it leaves the replica set (by compare-and-set, before the
     * acknowledgement) and releases its copy; until then its replicas of the earlier writes are
     * still their second copy. Degraded, the destager runs at full speed.
     */
    private void writeThroughForMissingReplica(long first, ByteBuffer data, MissingReplica missing) throws IOException {
        replicaFallbacks.increment();
        // Full speed while any write waits for the backing store; back to write-back pacing once none does (the set
        // was repaired, or the writes stopped) — else the cache would stop absorbing writes for good.
        waitingForClean.incrementAndGet();
        destager.setDraining(true);
        int count = data.remaining() / BLOCK;
        try {
            if (!destager.awaitClean(DIRTY_BLOCK_WAIT) || !cleanRecordsDurable()) {
                throw new VolumeException(BlockError.IO, "volume " + name + ": a replica is missing and the volume did not"
                        + " reach the backing store within " + DIRTY_BLOCK_WAIT.toSeconds() + " s; blocks " + first + "+" + count
                        + " are on this host's flash only and are not acknowledged");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted waiting for the destager");
        } finally {
            if (waitingForClean.decrementAndGet() == 0 && policy == Policy.WRITE_BACK) {
                destager.setDraining(false);
            }
        }
        if (missing.getCause() instanceof ReplicaSet.MissingCopies copies && !copies.missingHostIds().isEmpty()) {
            List<Long> ids = copies.missingHostIds();
            replication.peerLost().lost(ids);
            if (replication.peers().drop(copies)) {
                LOG.warn("volume {}: replica peer(s) {} missed a write and left the replica set; running degraded", name,
                        ids.stream().map(Long::toHexString).toList());
            }
        }
    }

    /**
     * A failed replicate counts as a peer round trip only if a peer failed it (or timed out): not when it
     * failed at once because the replica set had no live peer to send to (degraded), which took no time.
     */
    private static boolean peerWasAsked(Throwable failure) {
        Throwable cause = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
        return !(cause instanceof ReplicaSet.MissingCopies m) || !m.failed().isEmpty();
    }

    /**
     * {@code append}, a flash-log operation submitted at {@code start} (taken before the call: Java
     * evaluates it first), timed to its completion ({@code flash}).
     */
    private <T> CompletableFuture<T> flashTimed(long start, CompletableFuture<T> append) {
        append.whenComplete((ok, e) -> latency.since(FLASH_WRITE, start));
        return append;
    }

    /** This host's lease on the volume lapsed: nothing may be acknowledged. */
    static final class Fenced extends VolumeException {
        private static final long serialVersionUID = 1L;

        Fenced(String volume, String outcome) {
            super(BlockError.IO, "volume " + volume + ": this host's lease lapsed (another host may own the volume now); "
                    + outcome);
        }
    }

    /** Only the local copy of a write is durable: a peer failed it. */
    static final class MissingReplica extends IOException {
        private static final long serialVersionUID = 1L;

        MissingReplica(Throwable cause) {
            super("a replica write failed: " + cause.getMessage(), unwrap(cause));
        }

        private static Throwable unwrap(Throwable t) {
            return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
        }
    }

    /**
     * Tells the peers what the destager has written, a few times a second; and once a second, while
     * a lost peer has left the replica set, looks for a new one (re-replication).
     */
    private void releaseLoop() {
        long nextRepair = 0;
        for (long tick = 1; !closed; tick++) {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                return;
            }
            if (!replication.mayAct().getAsBoolean()) {
                continue;
            }
            if (tick % 10 == 0) {
                // Replicas are released by whole flush epochs; a client that never FLUSHes would keep one epoch open
                // forever and fill its peers' flash. An epoch boundary is always allowed (it only orders more), so
                // one is made every second.
                epochs.flush();
            }
            long bound = replication.releases().releasable(cache.oldestDirtyEpoch(), VolumeCache.NO_EPOCH);
            if (bound > 0 && cleanRecordsDurable()) {
                replication.peers().release(replication.hostId(), cache.volumeId(), replication.ownerEpoch().getAsLong(), bound);
            }
            if (replication.peers().missing() > 0 && System.nanoTime() - nextRepair > 0) {
                nextRepair = System.nanoTime() + (repair() ? 0 : REPAIR_BACKOFF.toNanos());
            }
        }
    }

    /** The destaged writes' CLEAN records are on flash (see {@link VolumeCache#cleanRecordsDurable}). */
    private boolean cleanRecordsDurable() {
        try {
            cache.cleanRecordsDurable().get(DIRTY_BLOCK_WAIT.toSeconds(), TimeUnit.SECONDS);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (ExecutionException | TimeoutException e) {
            return false;
        }
    }

    /**
     * Finds a new peer for a lost one. Its copies count for writes numbered after the join; the writes
     * before it that missed a copy are acknowledged only once on the backing store, as before.
     */
    private boolean repair() {
        long upTo = replication.releases().lastSequence();
        try {
            PeerClient peer = replication.repair().addPeer(upTo);
            if (peer == null) {
                return false;
            }
            replication.peers().add(peer, upTo);
            LOG.info("volume {}: replica peer {} joined; copies are complete again for new writes", name,
                    Long.toHexString(peer.peerHostId()));
            return true;
        } catch (IOException | RuntimeException e) {
            LOG.warn("volume {}: no new replica peer yet: {}", name, e.getMessage());
            return false;
        }
    }

    /**
     * A dirty insert failed ({@code failure}; null: flash had failed before). Flash full or failed:
     * blocks without dirty data can still go straight to the backing store; blocks with dirty data
     * cannot (the destager would write the older version over them). Range lock held.
     */
    private void afterFailedDirtyInsert(Throwable failure, long first, int count, long offset, ByteBuffer src, boolean fua,
                                        boolean dirtyRange) throws IOException {
        if (failure instanceof VolumeException e && e.error() == BlockError.SHUTDOWN) {
            throw e;
        }
        if (failure instanceof VolumeException e && e.error() == BlockError.NO_SPACE) {
            LOG.warn("volume {}: flash is full of dirty data; writing around it until the destager catches up: {}", name, e.getMessage());
        } else if (failure != null) {
            noteFlashError(failure);
        }
        if (dirtyRange && !awaitDestaged(first, count)) {
            throw new VolumeException(BlockError.IO, "volume " + name + ": flash cannot take this write ("
                    + (flashFailure != null ? flashFailure : "full") + ") and its blocks hold data not yet destaged after "
                    + DIRTY_BLOCK_WAIT.toSeconds() + " s");
        }
        fallbackWrites.increment();
        writeAround(first, count, offset, src, fua);
    }

    /** Waits up to {@link #DIRTY_BLOCK_WAIT} for the destager to clean these blocks; whether it did. */
    private boolean awaitDestaged(long first, int count) throws IOException {
        long deadline = System.nanoTime() + DIRTY_BLOCK_WAIT.toNanos();
        while (cache.hasDirty(first, count)) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            destager.nudge();
            sleepMillis(1);
        }
        return true;
    }

    /**
     * Whether flash has room for more dirty data: below {@link #DIRTY_LIMIT} of the device. Above
     * it, a write waits for the destager — up to {@link #ROOM_WAIT} (not at all while destage is
     * failing), then it goes around flash; a write to blocks that are dirty cannot go around, so it
     * waits up to {@link #DIRTY_BLOCK_WAIT} for room or for its blocks to be destaged. Waiting here,
     * not in the flash log, keeps the log's own "no free segment" wait for real emergencies.
     */
    private boolean awaitDirtyRoom(long first, int count, boolean dirtyRange) throws IOException {
        if (device.dirtyRatio() < DIRTY_LIMIT) {
            return true;
        }
        long deadline = System.nanoTime() + (dirtyRange ? DIRTY_BLOCK_WAIT : ROOM_WAIT).toNanos();
        while (device.dirtyRatio() >= DIRTY_LIMIT) {
            if (dirtyRange ? !cache.hasDirty(first, count) : !destager.status().health().healthy()) {
                return false; // It can go around now, or waiting would not help.
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            destager.nudge();
            sleepMillis(1);
        }
        return true;
    }

    private static void sleepMillis(long millis) throws InterruptedIOException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted waiting for the destager");
        }
    }

    /**
     * Write-through (and write-around, pass-through): make any cached copy go away durably, write
     * the backing store, then — if {@code admit} — cache the whole blocks of the new data. Returns
     * when the range lock may be released.
     */
    private CompletableFuture<?> writeThrough(long first, int count, long offset, ByteBuffer src, boolean fua, boolean admit)
            throws IOException {
        int length = src.remaining();
        ByteBuffer data = admit ? src.duplicate() : null;
        writeAround(first, count, offset, src, fua);
        if (!admit) {
            return CompletableFuture.completedFuture(null);
        }
        long firstWhole = (offset + BLOCK - 1) / BLOCK;
        long endWhole = (offset + length) / BLOCK;
        if (endWhole <= firstWhole) {
            return CompletableFuture.completedFuture(null);
        }
        data.position(data.position() + (int) (firstWhole * BLOCK - offset)).limit(data.position() + (int) ((endWhole - firstWhole) * BLOCK));
        return admitClean(firstWhole, data);
    }

    /** Invalidates cached copies (durably) and writes the backing store. Range lock held. */
    private void writeAround(long first, int count, long offset, ByteBuffer src, boolean fua) throws IOException {
        invalidateCached(first, count);
        backingWrite(offset, src, fua);
    }

    private void invalidateCached(long first, int count) throws IOException {
        if (flashFailure != null || !cache.anyCached(first, count)) {
            return;
        }
        try {
            await(flashTimed(System.nanoTime(), cache.invalidate(first, count)));
        } catch (VolumeException e) {
            if (e.error() != BlockError.IO) {
                throw e; // Nothing changed yet: the request fails whole.
            }
            noteFlashError(e); // From now on clean copies are never read, so this one cannot be served stale.
        }
    }

    /** The head and tail blocks of an unaligned write, read into {@code data} before the merge. Range lock held. */
    private void readEdges(long first, int count, long offset, int length, ByteBuffer data) throws IOException {
        if (offset % BLOCK != 0) {
            readBlocks(first, 1, data.slice(0, BLOCK), false, true);
        }
        long last = first + count - 1;
        if ((offset + length) % BLOCK != 0 && (last != first || offset % BLOCK == 0)) {
            readBlocks(last, 1, data.slice((count - 1) * BLOCK, BLOCK), false, true);
        }
    }

    // ---- flush, trim, zeroes, prefetch ----

    @Override
    public void flush() throws IOException {
        epochs.flush();
        if (backingUnflushed.getAndSet(false) || policy != Policy.WRITE_BACK) {
            foreground.incrementAndGet();
            try {
                backing.flush();
            } catch (IOException e) {
                backingUnflushed.set(true);
                throw e;
            } finally {
                foreground.decrementAndGet();
            }
        }
    }

    /**
     * TRIM is advisory: passed down (after invalidating flash) only when that cannot reorder data —
     * no dirty data in the range, or in the whole volume under write-back; otherwise ignored.
     */
    @Override
    public void trim(long offset, long length, boolean fua) throws IOException {
        if (!backing.features().trim()) {
            return;
        }
        long first = (offset + BLOCK - 1) / BLOCK;
        long end = Math.min(offset + length, cachedEnd) / BLOCK;
        if (end <= first) {
            return;
        }
        int count = (int) Math.min(end - first, Integer.MAX_VALUE);
        RangeLock.Held held = acquire(first, count);
        try {
            if (mayBypassFlash(first, count)) {
                invalidateCached(first, count);
                foreground.incrementAndGet();
                try {
                    backing.trim(first * BLOCK, (long) count * BLOCK, fua);
                } finally {
                    foreground.decrementAndGet();
                }
            }
        } finally {
            held.close();
        }
    }

    @Override
    public void writeZeroes(long offset, long length, boolean mayTrim, boolean fastOnly, boolean fua) throws IOException {
        if (offset + length > cachedEnd) {
            long head = Math.max(0, cachedEnd - offset);
            if (head > 0) {
                writeZeroes(offset, head, mayTrim, fastOnly, fua);
            }
            zeroBacking(offset + head, length - head, mayTrim, fastOnly, fua);
            return;
        }
        long first = offset / BLOCK;
        long count = (offset + length + BLOCK - 1) / BLOCK - first;
        if (count > Integer.MAX_VALUE) {
            throw new VolumeException(BlockError.INVALID, "write-zeroes of " + length + " bytes is too large");
        }
        RangeLock.Held held = acquire(first, (int) count);
        try {
            if (mayBypassFlash(first, (int) count)) {
                invalidateCached(first, (int) count);
                zeroBacking(offset, length, mayTrim, fastOnly, fua);
                return;
            }
            if (fastOnly) {
                throw new VolumeException(BlockError.NOT_SUPPORTED, "volume " + name
                        + " has dirty data in this range: zeroes must be written through flash, which is not fast");
            }
            // Zeroes become dirty data in flush order, a chunk at a time.
            for (long done = 0; done < length; ) {
                int n = (int) Math.min(ZERO_CHUNK, length - done);
                long at = offset + done;
                writeDirty(at / BLOCK, blocks(at, n), at, ZEROES.slice(0, n), fua, cache.hasDirty(at / BLOCK, blocks(at, n)));
                done += n;
            }
        } finally {
            held.close();
        }
    }

    private void zeroBacking(long offset, long length, boolean mayTrim, boolean fastOnly, boolean fua) throws IOException {
        if (length <= 0) {
            return;
        }
        if (!fua) {
            backingUnflushed.set(true);
        }
        foreground.incrementAndGet();
        try {
            backing.writeZeroes(offset, length, mayTrim, fastOnly, fua);
        } finally {
            foreground.decrementAndGet();
        }
    }

    /**
     * Whether a request on these blocks may go to the backing store directly without reordering it
     * with dirty data: not if the blocks are dirty; under write-back, not if anything is dirty.
     */
    private boolean mayBypassFlash(long first, int count) {
        return policy == Policy.WRITE_BACK ? cache.dirtyBlocks() == 0 : !cache.hasDirty(first, count);
    }

    /** NBD CACHE: reads the range into flash (nothing under pass-through; bypass rules do not apply). */
    @Override
    public void prefetch(long offset, long length) throws IOException {
        if (policy == Policy.PASS_THROUGH || flashFailure != null) {
            return;
        }
        long end = Math.min(offset + length, cachedEnd);
        long first = offset / BLOCK;
        long stop = (end + BLOCK - 1) / BLOCK;
        int chunk = 256;
        ByteBuffer buf = ByteBuffer.allocate(chunk * BLOCK);
        for (long b = first; b < stop; b += chunk) {
            int n = (int) Math.min(chunk, stop - b);
            readBlocks(b, n, buf.clear().limit(n * BLOCK).slice(), true, false);
        }
    }

    /**
     * The backing store's allocation, except that a range with dirty blocks is data: the backing
     * store may still hold a hole there.
     */
    @Override
    public Extent extentAt(long offset, long length) throws IOException {
        Extent e = backing.extentAt(offset, length);
        if (!e.hole() && !e.zero()) {
            return e;
        }
        long span = Math.min(e.length(), EXTENT_CHECK);
        long first = offset / BLOCK;
        long end = Math.min((offset + span + BLOCK - 1) / BLOCK, cachedEnd / BLOCK);
        if (end > first && cache.hasDirty(first, (int) (end - first))) {
            return new Extent(span, false, false);
        }
        return e;
    }

    // ---- status, close ----

    public VolumeStatus status() {
        var s = cache.stats();
        var d = destager.status();
        Policy p = policy;
        String health = flashFailure != null ? "flash-failed"
                : !mayServe() ? "fenced"
                : !d.health().healthy() ? "destage-failing"
                : replication != null && replication.peers().degraded() ? "degraded"
                : p != Policy.WRITE_BACK && s.dirtyBlocks() > 0 ? "draining" : "ok";
        return new VolumeStatus(name, p.configName(), health, size, s.hits(), s.misses(),
                s.cachedBlocks() * BLOCK, s.dirtyBytes(), d.destagedBytes(), d.bytesPerSecond(), d.secondsToClean(),
                d.writesInFlight(), d.health().lastError(), flashFailure, bypassedBytes.sum(), fallbackWrites.sum(),
                s.lostBlocks(), Sizing.of(sizing.curve()), !mayServe(), replication != null && replication.peers().degraded(),
                replication == null ? 0 : replication.peers().promised(), replication == null ? 0 : replication.peers().live(),
                replicaFallbacks.sum(), d.failedBatches(), latency.byLabel());
    }

    /** This volume's latency breakdown (also in {@link #status}); the node harvests it once a second. */
    public VolumeLatency latency() {
        return latency;
    }

    /** The ownership epoch this host holds the volume at, or -1 without replicas (no cluster record to keep). */
    public long ownerEpoch() {
        return replication == null ? -1 : replication.ownerEpoch().getAsLong();
    }

    /** Waits until the destager has written every dirty block (a test and drain aid). */
    public boolean awaitClean(Duration timeout) throws InterruptedException {
        return destager.awaitClean(timeout);
    }

    @Override
    public void close() throws IOException {
        closed = true;
        if (releaser != null) {
            releaser.interrupt();
        }
        destager.close();
        backing.close();
    }

    @Override
    public String toString() {
        return "volume " + name;
    }

    // ---- helpers ----

    /** Feeds the online miss-ratio curve: reads and writes are both accesses, as in the simulator. */
    private void accessed(long first, int count) {
        for (int i = 0; i < count; i++) {
            sizing.record(first + i);
        }
    }

    private boolean bypass(long offset, int length) {
        return sequential.isSequential(offset, length);
    }

    private RangeLock.Held acquire(long first, int count) throws IOException {
        try {
            return locks.acquire(first * BLOCK, (long) count * BLOCK);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted waiting for a range lock of volume " + name);
        }
    }

    private void backingRead(long offset, ByteBuffer dst) throws IOException {
        if (!dst.hasRemaining()) {
            return;
        }
        foreground.incrementAndGet();
        long start = System.nanoTime();
        try {
            backing.read(offset, dst);
        } finally {
            latency.since(SAN, start);
            foreground.decrementAndGet();
        }
    }

    private void backingWrite(long offset, ByteBuffer src, boolean fua) throws IOException {
        if (!src.hasRemaining()) {
            return;
        }
        if (!fua) {
            backingUnflushed.set(true);
        }
        foreground.incrementAndGet();
        long start = System.nanoTime();
        try {
            backing.write(offset, src, fua);
        } finally {
            latency.since(SAN, start);
            foreground.decrementAndGet();
        }
    }

    /** A flash append failed for another reason than space: the cache is out of service for this volume. */
    private void noteFlashError(Throwable e) {
        Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
        if (cause instanceof VolumeException v && (v.error() == BlockError.NO_SPACE || v.error() == BlockError.SHUTDOWN)) {
            return;
        }
        if (flashFailure == null) {
            flashFailure = String.valueOf(cause.getMessage());
            LOG.error("volume {}: the flash device failed ({}); serving from the backing store (pass-through) from now on;"
                    + " {} dirty bytes stay on flash and the destager keeps writing them back", name, flashFailure, cache.dirtyBytes());
        }
    }

    private static int blocks(long offset, long length) {
        return (int) ((offset + length + BLOCK - 1) / BLOCK - offset / BLOCK);
    }

    private static void await(CompletableFuture<?> f) throws IOException {
        try {
            f.get();
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            throw new VolumeException(BlockError.IO, String.valueOf(c), c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted waiting for flash");
        }
    }
}
