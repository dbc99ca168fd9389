package io.flashvisor.cache.engine;

import io.flashvisor.cache.index.BlockIndex;
import io.flashvisor.cache.log.FlashChannel;
import io.flashvisor.cache.log.FlashLayout;
import io.flashvisor.cache.log.FlashLog;
import io.flashvisor.cache.log.Record;
import io.flashvisor.cache.log.RecoveredRecord;
import io.flashvisor.cache.log.RecoverySummary;
import io.flashvisor.cache.policy.BlockState;
import io.flashvisor.cache.policy.EvictionPolicies;
import io.flashvisor.cache.policy.Queue;
import io.flashvisor.common.BlockError;
import io.flashvisor.common.VolumeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The flash cache of one flash device, shared by every volume of the node: the flash log, the
 * block index, the eviction policy, the dirty versions the destager owes each volume's backing
 * store, and the cleaner that keeps free segments (design: docs/cache.md, The engine).
 *
 * <p>Lifecycle: {@link #open} a device (recovery rebuilds the index from the log; a blank device is
 * formatted only if the configuration says so) or {@link #format} one explicitly; {@link #attach}
 * volumes by name; {@link #close} (idempotent: stops the cleaner, closes the log). Blocks of
 * volumes that are not attached stay cached — they may attach later — and a volume with dirty data
 * that nobody attaches is reported by {@link #unattachedVolumesWithDirtyData}.
 *
 * <p>Thread-safe. Locking: one engine lock guards the in-memory state (index, policy, dirty
 * versions) and is held only for in-memory work, never across I/O; the log has its own; segment
 * pins are atomic. Lock order: engine lock, then the log's.
 */
public final class FlashCache implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(FlashCache.class);
    private static final int BLOCK = FlashLayout.BLOCK_SIZE;

    final FlashLog log;
    final CacheIndex ci;
    final CacheConfig config;
    final SegmentPins pins;
    final Cleaner cleaner;
    final AtomicLong shadowedAppends = new AtomicLong();
    /** Marker appends not yet completed (not waited for by anyone but tests). */
    private final Set<CompletableFuture<?>> pendingMarkers = ConcurrentHashMap.newKeySet();
    private final FlashLayout layout;
    private final RecoverySummary recovery;
    private final boolean damaged;
    private final long replicaRecords;
    private final ReplicaStore replicaStore = new ReplicaStore(this);
    // Guarded by the engine lock.
    private final Map<String, VolumeCache> attached = new HashMap<>();
    private final BitSet attachedOrdinals = new BitSet();
    private volatile boolean closed;

    private FlashCache(FlashLog log, CacheIndex ci, CacheConfig config, RecoveryApplier recovered) {
        this.log = log;
        this.ci = ci;
        this.config = config;
        this.layout = log.layout();
        this.pins = new SegmentPins(layout.segmentCount());
        this.recovery = log.recovery();
        this.damaged = recovered != null && recovered.unreadableRuns > 0;
        this.replicaRecords = recovered == null ? 0 : recovered.replicaRecords;
        this.cleaner = new Cleaner(this, config.backgroundCleaner());
    }

    /**
     * Opens the cache on {@code channel}: recovery rebuilds the index and the dirty versions from
     * the log. A device whose superblock area is all zeroes is formatted if
     * {@link CacheConfig#formatIfBlank} says so; anything else that is not a flash log of this
     * format version is refused ({@code INVALID}), never formatted. On success the cache owns the
     * channel; on failure the caller still does.
     */
    public static FlashCache open(FlashChannel channel, CacheConfig config) throws VolumeException {
        Objects.requireNonNull(channel, "channel");
        Objects.requireNonNull(config, "config");
        long size;
        try {
            size = channel.size();
        } catch (IOException e) {
            throw new VolumeException(BlockError.IO, "flash device " + channel + ": cannot read its size: " + e, e);
        }
        if (config.formatIfBlank() && isBlank(channel, size)) {
            LOG.info("flash device {} is blank: formatting it", channel);
            return format(channel, config, false);
        }
        int segments = (int) Math.min(Integer.MAX_VALUE, FlashLayout.segmentCountFor(size, config.log().segmentSize()));
        CacheIndex ci = newIndex(config, (long) segments * (config.log().segmentSize() / BLOCK));
        RecoveryApplier applier = new RecoveryApplier(ci);
        FlashLog log;
        try {
            log = FlashLog.open(channel, config.log(), applier);
        } catch (UncheckedIOException e) {
            if (e.getCause() instanceof VolumeException v) {
                throw new VolumeException(v.error(), "recovery of flash device " + channel + ": " + v.getMessage(), v);
            }
            throw e;
        }
        FlashCache cache = new FlashCache(log, ci, config, applier);
        try {
            cache.invalidateLostClean(applier.lostClean);
        } catch (VolumeException | RuntimeException e) {
            cache.closeQuietly();
            throw e;
        }
        cache.logOpened(applier);
        cache.cleaner.start();
        return cache;
    }

    /**
     * Formats {@code channel} as an empty flash cache (a new device uuid: everything cached before is
     * gone, dirty data included). Refuses a device that already holds a Flashvisor flash log, of
     * any version, unless {@code overwrite}.
     */
    public static FlashCache format(FlashChannel channel, CacheConfig config, boolean overwrite) throws VolumeException {
        Objects.requireNonNull(config, "config");
        FlashLog log = FlashLog.format(channel, config.log(), overwrite);
        FlashLayout l = log.layout();
        FlashCache cache = new FlashCache(log, newIndex(config, (long) l.segmentCount() * l.blocksPerSegment()), config, null);
        cache.cleaner.start();
        return cache;
    }

    private static CacheIndex newIndex(CacheConfig config, long deviceBlocks) {
        return new CacheIndex(BlockIndex.withExpectedSize(deviceBlocks),
                EvictionPolicies.create(config.evictionPolicy(), Math.max(1, deviceBlocks)), config.log().streams());
    }

    private static boolean isBlank(FlashChannel channel, long size) throws VolumeException {
        if (size < 2L * BLOCK) {
            return false;
        }
        ByteBuffer head = ByteBuffer.allocate(2 * BLOCK);
        try {
            channel.read(head, 0);
        } catch (IOException e) {
            throw new VolumeException(BlockError.IO, "flash device " + channel + ": cannot read its superblock: " + e, e);
        }
        for (int i = 0; i < head.capacity(); i += Long.BYTES) {
            if (head.getLong(i) != 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * Lost clean records were removed from the index; their segments will be reclaimed one day, and
     * then an older copy of the same blocks elsewhere could win at recovery: an INVALIDATE, durable
     * before the cleaner starts, keeps those older copies dead.
     */
    private void invalidateLostClean(List<RecoveredRecord> lost) throws VolumeException {
        List<Record> markers = new ArrayList<>();
        for (RecoveredRecord r : lost) {
            markers.add(Record.invalidate(r.volumeId(), r.firstBlock(), r.blockCount()));
        }
        for (int i = 0; i < markers.size(); i += ReclaimRound.MAX_RECORDS) {
            log.append(markerStream(), markers.subList(i, Math.min(markers.size(), i + ReclaimRound.MAX_RECORDS)));
        }
    }

    private void logOpened(RecoveryApplier applier) {
        List<UnattachedVolume> dirty = unattachedVolumesWithDirtyData();
        if (applier.lostRecords > 0 || applier.unreadableRuns > 0 || applier.replicaRecords > 0) {
            LOG.warn("flash cache on {}: recovery found {} lost records ({} lost dirty blocks), {} unreadable runs{}, {}"
                            + " peer replica records", log, applier.lostRecords, stats().lostBlocks(),
                    applier.unreadableRuns, applier.unreadableRuns > 0 ? " — the device is damaged" : "",
                    applier.replicaRecords);
        }
        LOG.debug("flash cache on {}: {} volumes, {} cached blocks, {} dirty; {} volumes with dirty data not attached yet",
                log, ci.volumeCount(), stats().cachedBlocks(), stats().dirtyBlocks(), dirty.size());
    }

    /** The volume id of {@code name}: the first 8 bytes, big-endian, of SHA-256 of its UTF-8 bytes. */
    public static long volumeId(String name) {
        try {
            byte[] hash = MessageDigest.getInstance("SHA-256").digest(name.getBytes(StandardCharsets.UTF_8));
            return ByteBuffer.wrap(hash, 0, Long.BYTES).getLong();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /**
     * The cache of volume {@code name} (the same handle if it is attached already). Blocks recovered
     * for it are its from now on.
     *
     * @throws VolumeException {@code INVALID} if another attached volume's name has the same id, or
     *                         the device already indexes the most volumes it can
     */
    public VolumeCache attach(String name) throws VolumeException {
        Objects.requireNonNull(name, "name");
        if (name.isEmpty()) {
            throw new IllegalArgumentException("a volume needs a name");
        }
        long id = volumeId(name);
        ci.lock.lock();
        try {
            checkOpen();
            VolumeCache v = attached.get(name);
            if (v != null) {
                return v;
            }
            for (VolumeCache other : attached.values()) {
                if (other.volumeId() == id) {
                    throw new VolumeException(BlockError.INVALID, "volume names '" + name + "' and '" + other.name()
                            + "' have the same volume id " + Long.toHexString(id) + ": rename one of them");
                }
            }
            int ordinal = ci.ordinalFor(id);
            v = new VolumeCache(this, name, id, ordinal);
            attached.put(name, v);
            attachedOrdinals.set(ordinal);
            return v;
        } finally {
            ci.lock.unlock();
        }
    }

    /** Volumes with dirty or lost blocks on this device that no {@link #attach} has claimed. */
    public List<UnattachedVolume> unattachedVolumesWithDirtyData() {
        List<UnattachedVolume> out = new ArrayList<>();
        ci.lock.lock();
        try {
            for (int o = 0; o < ci.volumeCount(); o++) {
                DirtyVersions d = ci.dirtyIfAny(o);
                long dirty = d == null ? 0 : d.count();
                if (!attachedOrdinals.get(o) && (dirty > 0 || ci.lostBlocks(o) > 0)) {
                    out.add(new UnattachedVolume(ci.volumeId(o), dirty, ci.lostBlocks(o),
                            d == null ? DirtyVersions.NO_EPOCH : d.oldestEpoch()));
                }
            }
        } finally {
            ci.lock.unlock();
        }
        return out;
    }

    public CacheStats stats() {
        long cached = 0;
        long dirty = 0;
        long lost = 0;
        int volumes;
        long indexBytes;
        long policyBytes;
        long dirtyRam;
        ci.lock.lock();
        try {
            volumes = ci.volumeCount();
            for (int o = 0; o < volumes; o++) {
                cached += ci.cachedBlocks(o);
                lost += ci.lostBlocks(o);
                DirtyVersions d = ci.dirtyIfAny(o);
                dirty += d == null ? 0 : d.count();
            }
            indexBytes = ci.index.bytesOfRam();
            policyBytes = ci.policy.bytesOfRam();
            dirtyRam = ci.dirtyBytesOfRam();
        } finally {
            ci.lock.unlock();
        }
        return new CacheStats(cached, dirty, lost, volumes, layout.segmentCount(), log.freeSegmentCount(),
                cleaner.rounds.get(), cleaner.moved.get(), cleaner.evicted.get(), cleaner.freed.get(),
                cleaner.heldSegments(), shadowedAppends.get(), indexBytes, policyBytes, dirtyRam, damaged);
    }

    /** Dirty versions of all volumes: cheaper than {@link #stats()} (for watermarks, per write). */
    public long dirtyBlocks() {
        long dirty = 0;
        ci.lock.lock();
        try {
            for (int o = 0; o < ci.volumeCount(); o++) {
                DirtyVersions d = ci.dirtyIfAny(o);
                dirty += d == null ? 0 : d.count();
            }
        } finally {
            ci.lock.unlock();
        }
        return dirty;
    }

    /**
     * Blocks the device holds for data: the segments beyond the free ones the cleaner keeps (its
     * high watermark) and one open segment per stream. Dirty ratios are taken against this, since
     * dirty data can never use the rest.
     */
    public long capacityBlocks() {
        int segments = layout.segmentCount();
        int usable = Math.max(1, segments - config.highWatermark(segments) - config.log().streams());
        return (long) usable * layout.blocksPerSegment();
    }

    /**
     * The flash log failed (an I/O error while appending or freeing): appends are refused until the
     * node restarts; reads of what is on flash go on.
     */
    public boolean failed() {
        return log.isFailed();
    }

    /** What recovery found at open (all zero after format). */
    public RecoverySummary recovery() {
        return recovery;
    }

    /** Recovery found corrupt batch headers: records that cannot be named were lost. */
    public boolean damaged() {
        return damaged;
    }

    /** Peer replica records recovery met (live or not). */
    public long replicaRecords() {
        return replicaRecords;
    }

    public FlashLayout layout() {
        return layout;
    }

    // ---- internals for VolumeCache, Cleaner and tests ----

    /** The stream markers (CLEAN, INVALIDATE) go to: main's, the long-lived queue. */
    /** Replicas go with the long-lived data: the main queue's stream. */
    int replicaStream() {
        return ci.streamOf(io.flashvisor.cache.policy.Queue.MAIN);
    }

    /** The replicas this host keeps for peers (issue 4's write-back with replicas). */
    public ReplicaStore replicas() {
        return replicaStore;
    }

    int markerStream() {
        return ci.streamOf(Queue.MAIN);
    }

    int segmentOf(int location) {
        int segment = layout.segmentOf(location);
        if (segment < 0) {
            throw new IllegalArgumentException("device block " + location + " is in no segment of " + layout);
        }
        return segment;
    }

    /** Appends markers without waiting; a failure only costs a block being destaged again. */
    void appendMarkers(List<Record> markers, String what) {
        for (int i = 0; i < markers.size(); i += ReclaimRound.MAX_RECORDS) {
            List<Record> part = markers.subList(i, Math.min(markers.size(), i + ReclaimRound.MAX_RECORDS));
            try {
                CompletableFuture<?> f = log.appendAsync(markerStream(), part);
                pendingMarkers.add(f);
                f.whenComplete((r, t) -> {
                    pendingMarkers.remove(f);
                    if (t != null) {
                        LOG.debug("{} not written ({}); those blocks will be destaged again after a restart", what, t.toString());
                    }
                });
            } catch (RuntimeException e) {
                LOG.debug("{} not written: {}", what, e.toString());
            }
        }
    }

    /** Completes when the marker appends issued so far have completed (durable, or failed). */
    CompletableFuture<Void> markersDone() {
        return CompletableFuture.allOf(pendingMarkers.stream().map(f -> f.handle((r, t) -> null)).toArray(CompletableFuture[]::new));
    }

    /** Waits until the marker appends issued so far have completed (tests). */
    void awaitMarkers() {
        for (CompletableFuture<?> f : List.copyOf(pendingMarkers)) {
            f.handle((r, t) -> null).join();
        }
    }

    boolean isClosed() {
        return closed;
    }

    void checkOpen() throws VolumeException {
        if (closed) {
            throw closedException();
        }
    }

    VolumeException closedException() {
        return new VolumeException(BlockError.SHUTDOWN, "flash cache on " + log + " is closed");
    }

    Cleaner cleaner() {
        return cleaner;
    }

    /** The index and the dirty versions, by volume id (so two opens can be compared), sorted. For tests. */
    List<String> snapshot() {
        TreeSet<String> out = new TreeSet<>();
        ci.lock.lock();
        try {
            ci.index.forEach((key, location, state) -> out.add(String.format("%016x:%d -> %d state %02x",
                    ci.volumeId(BlockIndex.volumeOf(key)), BlockIndex.blockOf(key), location, state & 0xFF)));
            for (int o = 0; o < ci.volumeCount(); o++) {
                DirtyVersions d = ci.dirtyIfAny(o);
                long id = ci.volumeId(o);
                if (d != null) {
                    d.forEach((block, epoch, location, sequence) -> out.add(String.format(
                            "%016x:%d epoch %d version at %d seq %d", id, block, epoch, location, sequence)));
                }
            }
        } finally {
            ci.lock.unlock();
        }
        return new ArrayList<>(out);
    }

    /**
     * Checks the invariants between the index, the dirty versions and the counters; throws
     * {@link IllegalStateException} naming the first violation. For tests.
     */
    void checkInvariants() {
        ci.lock.lock();
        try {
            long[] cached = new long[ci.volumeCount()];
            long[] lost = new long[ci.volumeCount()];
            List<String> problems = new ArrayList<>();
            ci.index.forEach((key, location, state) -> {
                int o = BlockIndex.volumeOf(key);
                long block = BlockIndex.blockOf(key);
                if (EntryState.lost(state)) {
                    lost[o]++;
                } else {
                    cached[o]++;
                }
                if (layout.segmentOf(location) < 0) {
                    problems.add("entry " + o + ":" + block + " points outside the segments: " + location);
                }
                if (BlockState.isDirty(state) && !EntryState.lost(state)) {
                    DirtyVersions d = ci.dirtyIfAny(o);
                    DirtyVersions.Version v = d == null ? null : d.versionAt(block, location);
                    if (v == null) {
                        problems.add("dirty entry " + o + ":" + block + " at " + location + " has no version there");
                    } else if (!d.newerVersions(block, v.epoch()).isEmpty()) {
                        problems.add("dirty entry " + o + ":" + block + " is not its newest version");
                    }
                }
            });
            for (int o = 0; o < ci.volumeCount(); o++) {
                if (cached[o] != ci.cachedBlocks(o) || lost[o] != ci.lostBlocks(o)) {
                    problems.add("volume " + o + " counts " + ci.cachedBlocks(o) + "/" + ci.lostBlocks(o) + " but holds "
                            + cached[o] + "/" + lost[o]);
                }
                DirtyVersions d = ci.dirtyIfAny(o);
                if (d == null) {
                    continue;
                }
                int ordinal = o;
                long[] count = new long[1];
                d.forEach((block, epoch, location, sequence) -> {
                    count[0]++;
                    int slot = ci.index.find(BlockIndex.key(ordinal, block));
                    if (slot == BlockIndex.NOT_FOUND || !EntryState.mayHaveVersions(ci.index.stateAt(slot))) {
                        problems.add("version of " + ordinal + ":" + block + " (epoch " + epoch + ") but its entry is "
                                + (slot == BlockIndex.NOT_FOUND ? "gone" : "clean"));
                    }
                });
                if (count[0] != d.count()) {
                    problems.add("volume " + o + " counts " + d.count() + " versions but holds " + count[0]);
                }
            }
            if (!problems.isEmpty()) {
                throw new IllegalStateException(problems.size() + " invariant violations, first: " + problems.getFirst());
            }
        } finally {
            ci.lock.unlock();
        }
    }

    private void closeQuietly() {
        try {
            close();
        } catch (IOException | RuntimeException e) {
            LOG.debug("closing after a failed open", e);
        }
    }

    /** Stops the cleaner and closes the log (pending appends fail with {@code SHUTDOWN}). Idempotent. */
    @Override
    public void close() throws IOException {
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
        }
        try {
            cleaner.close();
        } finally {
            log.close();
        }
    }

    @Override
    public String toString() {
        return "FlashCache(" + log + ")";
    }
}
