package io.flashvisor.cache.engine;

import io.flashvisor.cache.index.BlockIndex;
import io.flashvisor.cache.log.AppendResult;
import io.flashvisor.cache.log.FlashLayout;
import io.flashvisor.cache.log.Record;
import io.flashvisor.cache.policy.BlockState;
import io.flashvisor.cache.policy.Queue;
import io.flashvisor.common.BlockError;
import io.flashvisor.common.VolumeException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One volume's view of a {@link FlashCache}: lookups and reads of cached 4 KiB blocks, inserts of
 * clean or dirty data, invalidation, and the destager's hand-off (dirty versions by flush epoch).
 * Obtained with {@link FlashCache#attach}; the cache's blocks of this volume are the ones whose
 * records carry its volume id.
 *
 * <p>Contract with the volume layer above: operations on overlapping blocks are not concurrent (the
 * volume's range locks order them: an insert or invalidate of a block is issued only after the
 * previous one completed). Reads race with nothing that matters here: a location returned by
 * {@link #lookup} stays readable until {@link #readBlock} or {@link #release}, whatever the cleaner
 * does meanwhile (docs/cache.md, The engine: reads).
 *
 * <p>Thread-safe.
 */
public final class VolumeCache {
    /** {@link #lookup} of a block that is not cached. */
    public static final int NOT_FOUND = BlockIndex.NOT_FOUND;
    /** {@link #oldestDirtyEpoch} and {@link #highestFlushEpoch} when there is none; never a valid flush epoch. */
    public static final long NO_EPOCH = DirtyVersions.NO_EPOCH;

    private static final int BLOCK = FlashLayout.BLOCK_SIZE;

    private final FlashCache cache;
    private final String name;
    private final long volumeId;
    private final int ordinal;
    /** Destaged batches settled / whose CLEAN records have been issued (see {@link #cleanRecordsDurable}). */
    private final java.util.concurrent.atomic.AtomicLong batchesSettled = new java.util.concurrent.atomic.AtomicLong();
    private final java.util.concurrent.atomic.AtomicLong markersIssued = new java.util.concurrent.atomic.AtomicLong();
    // Guarded by the engine lock.
    private long hits;
    private long misses;

    VolumeCache(FlashCache cache, String name, long volumeId, int ordinal) {
        this.cache = cache;
        this.name = name;
        this.volumeId = volumeId;
        this.ordinal = ordinal;
    }

    public String name() {
        return name;
    }

    /** The id its records carry: the first 8 bytes (big-endian) of SHA-256 of its name. */
    public long volumeId() {
        return volumeId;
    }

    int ordinal() {
        return ordinal;
    }

    // ---- reads ----

    /**
     * The device location of cached {@code block}, or {@link #NOT_FOUND}. A hit counts as an
     * access for the eviction policy and <em>pins</em> the location: the caller must then call
     * {@link #readBlock} or {@link #release} with it exactly once (until then the cleaner may move
     * the block but does not reuse the space). {@link #read} does both steps in one call.
     *
     * @throws VolumeException {@code IO} if the block's newest version was lost (dirty data whose
     *                         flash copy failed its checksum): it stays unreadable until rewritten
     */
    public int lookup(long block) throws VolumeException {
        long key = key(block);
        CacheIndex ci = cache.ci;
        ci.lock.lock();
        try {
            cache.checkOpen();
            int slot = ci.index.find(key);
            if (slot == BlockIndex.NOT_FOUND) {
                misses++;
                return NOT_FOUND;
            }
            byte state = ci.index.stateAt(slot);
            if (EntryState.lost(state)) {
                throw new VolumeException(BlockError.IO, "block " + block + " of volume " + name + " is lost: its only"
                        + " copy was dirty and its flash record failed its checksum; it reads as an I/O error until"
                        + " it is rewritten or trimmed");
            }
            ci.index.setStateAt(slot, ci.policy.accessed(state));
            int location = ci.index.locationAt(slot);
            cache.pins.pin(cache.segmentOf(location));
            hits++;
            return location;
        } finally {
            ci.lock.unlock();
        }
    }

    /**
     * Reads the 4 KiB at {@code location} (from {@link #lookup}) into {@code dst} (exactly 4096
     * bytes remaining) and releases the location's pin.
     */
    public void readBlock(int location, ByteBuffer dst) throws VolumeException {
        int segment = cache.segmentOf(location);
        try {
            if (dst.remaining() != BLOCK) {
                throw new IllegalArgumentException("readBlock reads one 4096-byte block, not " + dst.remaining() + " bytes");
            }
            cache.log.read(location, dst);
        } finally {
            cache.pins.unpin(segment);
        }
    }

    /** Releases the pin of a location from {@link #lookup} that will not be read. */
    public void release(int location) {
        cache.pins.unpin(cache.segmentOf(location));
    }

    /** {@link #lookup} and {@link #readBlock} in one: returns false on a miss (dst untouched). */
    public boolean read(long block, ByteBuffer dst) throws VolumeException {
        if (dst.remaining() != BLOCK) {
            throw new IllegalArgumentException("read reads one 4096-byte block, not " + dst.remaining() + " bytes");
        }
        int location = lookup(block);
        if (location == NOT_FOUND) {
            return false;
        }
        readBlock(location, dst);
        return true;
    }

    // ---- writes ----

    /**
     * Caches {@code data} (a positive multiple of 4 KiB) as blocks {@code [firstBlock, +n)},
     * replacing any older version. The future completes when the data is durable on flash and the
     * index points at it (and fails with the log's {@link VolumeException} otherwise); {@code data}
     * must not change until then. Writes of more than the log's largest append are split into
     * several appends, each atomic by itself.
     *
     * <p>The eviction policy admits the first block (or keeps it in its queue if it is cached) and
     * that queue's stream takes the whole write.
     *
     * @param dirty      not yet on the backing store: tracked for the destager and never evicted
     * @param flushEpoch the volume's flush epoch the write belongs to (unsigned; after a restart the
     *                   volume resumes above {@link #highestFlushEpoch}). A dirty write whose blocks
     *                   already have a version in a later epoch joins that epoch instead
     */
    public CompletableFuture<Void> insert(long firstBlock, ByteBuffer data, boolean dirty, long flushEpoch) {
        int bytes = data.remaining();
        if (bytes == 0 || bytes % BLOCK != 0) {
            throw new IllegalArgumentException("insert takes whole 4096-byte blocks, not " + bytes + " bytes");
        }
        int blocks = bytes / BLOCK;
        checkRange(firstBlock, blocks);
        if (dirty && flushEpoch == NO_EPOCH) {
            throw new IllegalArgumentException("flush epoch 2^64-1 is reserved");
        }
        ByteBuffer view = data.slice();
        Queue queue;
        CacheIndex ci = cache.ci;
        ci.lock.lock();
        try {
            if (cache.isClosed()) {
                return CompletableFuture.failedFuture(cache.closedException());
            }
            if (dirty) {
                flushEpoch = effectiveEpoch(firstBlock, blocks, flushEpoch);
                ci.noteEpoch(ordinal, flushEpoch);
            }
            long key = BlockIndex.key(ordinal, firstBlock);
            int slot = ci.index.find(key);
            queue = slot != BlockIndex.NOT_FOUND && !EntryState.lost(ci.index.stateAt(slot))
                    ? BlockState.queue(ci.index.stateAt(slot))
                    : BlockState.queue(ci.policy.admitted(key));
        } finally {
            ci.lock.unlock();
        }
        int stream = ci.streamOf(queue);
        long epoch = flushEpoch;
        int max = cache.log.maxAppendBlocks();
        List<CompletableFuture<Void>> parts = new ArrayList<>();
        for (int off = 0; off < blocks; off += max) {
            int n = Math.min(max, blocks - off);
            Record record = Record.data(volumeId, firstBlock + off, view.slice(off * BLOCK, n * BLOCK), dirty, epoch);
            parts.add(new ClientAppend(cache, this, stream, record, queue).start());
        }
        return parts.size() == 1 ? parts.getFirst() : CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new));
    }

    /**
     * The flush epoch a dirty write of blocks {@code [firstBlock, +count)} issued now in
     * {@code flushEpoch} will belong to (see {@link #insert}): what a replicated write must tell its
     * peers, decided before the insert. With the blocks' range lock held, {@link #insert} then
     * uses exactly this epoch (versions of these blocks can only be destaged meanwhile, never added).
     */
    public long epochForWrite(long firstBlock, int count, long flushEpoch) {
        CacheIndex ci = cache.ci;
        ci.lock.lock();
        try {
            return effectiveEpoch(firstBlock, count, flushEpoch);
        } finally {
            ci.lock.unlock();
        }
    }

    /**
     * A dirty write joins the newest epoch any of its blocks already has a version in, if that is
     * later than {@code flushEpoch}: a write that raced a FLUSH may arrive with the epoch the FLUSH
     * closed, after a write of the same block in the new one; a block's newest version must be in
     * its newest epoch (else the destager would write the newer data first, then the older over
     * it). Counting a write into a later epoch is always allowed: it only orders it after more
     * writes. Decided before the record is built, so recovery sees the same epoch. Engine lock held.
     */
    private long effectiveEpoch(long firstBlock, int blocks, long flushEpoch) {
        CacheIndex ci = cache.ci;
        DirtyVersions versions = ci.dirtyIfAny(ordinal);
        if (versions == null || versions.isEmpty()) {
            return flushEpoch;
        }
        long epoch = flushEpoch;
        for (int i = 0; i < blocks; i++) {
            int slot = ci.index.find(BlockIndex.key(ordinal, firstBlock + i));
            if (slot != BlockIndex.NOT_FOUND && EntryState.mayHaveVersions(ci.index.stateAt(slot))) {
                long newest = versions.newestEpoch(firstBlock + i);
                if (newest != NO_EPOCH && Long.compareUnsigned(newest, epoch) > 0) {
                    epoch = newest;
                }
            }
        }
        return epoch;
    }

    /**
     * Uncaches blocks {@code [firstBlock, +count)}: an INVALIDATE record, then (once it is durable)
     * the index entries go and their dirty versions are dropped from the destager's set — the caller
     * (trim, write-zeroes, write-around) guarantees the ordering with the backing store.
     */
    public CompletableFuture<Void> invalidate(long firstBlock, int count) {
        if (count < 1) {
            throw new IllegalArgumentException("invalidate of " + count + " blocks");
        }
        checkRange(firstBlock, count);
        if (cache.isClosed()) {
            return CompletableFuture.failedFuture(cache.closedException());
        }
        Record record = Record.invalidate(volumeId, firstBlock, count);
        return new ClientAppend(cache, this, cache.markerStream(), record, null).start();
    }

    /**
     * Whether any of blocks {@code [first, +count)} has a dirty version (or lost data): the volume
     * layer must then keep writes to them in flush order through the cache instead of writing the
     * backing store directly, or the destager could later write the older version over them.
     * Not an access: counts no hit. Takes the engine lock.
     */
    public boolean hasDirty(long first, int count) {
        CacheIndex ci = cache.ci;
        ci.lock.lock();
        try {
            DirtyVersions versions = ci.dirtyIfAny(ordinal);
            return versions != null && !versions.isEmpty()
                    && anySlot(first, count, slot -> slot != BlockIndex.NOT_FOUND && EntryState.mayHaveVersions(ci.index.stateAt(slot)));
        } finally {
            ci.lock.unlock();
        }
    }

    /** Whether all of blocks {@code [first, +count)} are cached (lost ones are not). Not an access: counts no hit. Takes the engine lock. */
    public boolean allCached(long first, int count) {
        CacheIndex ci = cache.ci;
        ci.lock.lock();
        try {
            return !anySlot(first, count, slot -> slot == BlockIndex.NOT_FOUND || EntryState.lost(ci.index.stateAt(slot)));
        } finally {
            ci.lock.unlock();
        }
    }

    /** Whether any of blocks {@code [first, +count)} is cached. Not an access: counts no hit. Takes the engine lock. */
    public boolean anyCached(long first, int count) {
        CacheIndex ci = cache.ci;
        ci.lock.lock();
        try {
            return anySlot(first, count, slot -> slot != BlockIndex.NOT_FOUND);
        } finally {
            ci.lock.unlock();
        }
    }

    /** Whether {@code test} holds for the index slot (or NOT_FOUND) of any of blocks {@code [first, +count)}. Engine lock held. */
    private boolean anySlot(long first, int count, java.util.function.IntPredicate test) {
        CacheIndex ci = cache.ci;
        for (int i = 0; i < count; i++) {
            if (test.test(ci.index.find(BlockIndex.key(ordinal, first + i)))) {
                return true;
            }
        }
        return false;
    }

    /**
     * The highest sequence of any dirty version of blocks {@code [first, +count)}, or -1 if they
     * have none (what a clean write of them drops, and must CLEAN). Takes the engine lock.
     */
    long newestVersionSequence(long first, int count) {
        CacheIndex ci = cache.ci;
        ci.lock.lock();
        try {
            DirtyVersions versions = ci.dirtyIfAny(ordinal);
            if (versions == null || versions.isEmpty()) {
                return -1;
            }
            long newest = -1;
            for (int i = 0; i < count; i++) {
                int slot = ci.index.find(BlockIndex.key(ordinal, first + i));
                if (slot != BlockIndex.NOT_FOUND && EntryState.mayHaveVersions(ci.index.stateAt(slot))) {
                    newest = Math.max(newest, versions.highestSequence(first + i));
                }
            }
            return newest;
        } finally {
            ci.lock.unlock();
        }
    }

    /** Applies a durable DATA record (record {@code index} of the append) to the index and the dirty versions. Engine lock held. */
    void applyWrite(Record record, AppendResult result, int index, Queue queue) {
        CacheIndex ci = cache.ci;
        int stream = ci.streamOf(queue);
        long sequence = result.sequence(index);
        DirtyVersions versions = record.dirty() ? ci.dirty(ordinal) : ci.dirtyIfAny(ordinal);
        for (int i = 0; i < record.blockCount(); i++) {
            long block = record.firstBlock() + i;
            long key = BlockIndex.key(ordinal, block);
            int location = (int) (result.deviceBlock(index) + i);
            int slot = ci.index.find(key);
            byte state = BlockState.of(queue);
            boolean hadVersions = false;
            if (slot != BlockIndex.NOT_FOUND) {
                byte old = ci.index.stateAt(slot);
                hadVersions = EntryState.mayHaveVersions(old);
                if (!EntryState.lost(old)) {
                    state = BlockState.withQueue(ci.policy.accessed(old), queue);
                }
                // An older copy in another stream's segment may outlive this one (see EntryState).
                state = EntryState.withSplit(state, EntryState.split(old) || ci.streamOfState(old) != stream);
            }
            state = EntryState.withLost(BlockState.withDirty(state, record.dirty()), false);
            ci.put(ordinal, key, location, state);
            if (record.dirty()) {
                versions.add(block, record.flushEpoch(), location, sequence);
            } else if (hadVersions && versions != null) {
                versions.removeAll(block); // the caller says this data is on the backing store
            }
        }
    }

    /** Applies a durable INVALIDATE. Engine lock held. */
    void applyInvalidate(Record record) {
        CacheIndex ci = cache.ci;
        ci.removeRange(ordinal, record.firstBlock(), record.blockCount(), true);
        DirtyVersions versions = ci.dirtyIfAny(ordinal);
        if (versions != null) {
            versions.removeRange(record.firstBlock(), record.blockCount());
        }
    }

    // ---- destage ----

    /**
     * Up to {@code maxBlocks} dirty blocks of the oldest flush epoch that still has dirty versions,
     * sorted by block and coalesced into runs, each with the location and sequence of its newest
     * version in that epoch; an empty batch if there is nothing to hand out now (nothing dirty, or
     * every version of the oldest epoch is in a batch not yet settled: the next epoch waits until the
     * oldest is complete). Versions stay dirty until {@link #destaged}. The batch pins its locations.
     */
    public DestageBatch nextDestageBatch(int maxBlocks) {
        if (maxBlocks < 1) {
            throw new IllegalArgumentException("a destage batch of " + maxBlocks + " blocks");
        }
        CacheIndex ci = cache.ci;
        ci.lock.lock();
        try {
            DirtyVersions versions = ci.dirtyIfAny(ordinal);
            DirtyVersions.Taken taken = versions == null || cache.isClosed() ? null : versions.take(maxBlocks);
            if (taken == null) {
                return DestageBatch.empty(this);
            }
            for (int location : taken.locations()) {
                cache.pins.pin(cache.segmentOf(location));
            }
            return new DestageBatch(this, taken.epoch(), taken.blocks(), taken.locations(), taken.sequences());
        } finally {
            ci.lock.unlock();
        }
    }

    /** Reads the data of run {@code run} of {@code batch} into {@code dst} (exactly the run's bytes remaining). */
    public void readDestageRun(DestageBatch batch, int run, ByteBuffer dst) throws VolumeException {
        checkOwn(batch);
        int length = batch.runLength(run);
        if (dst.remaining() != length * BLOCK) {
            throw new IllegalArgumentException("run " + run + " of " + length + " blocks needs " + length * BLOCK
                    + " bytes, not " + dst.remaining());
        }
        int start = batch.runStart(run);
        int i = 0;
        while (i < length) {
            // Coalesce blocks whose data is contiguous on flash into one read.
            int j = i + 1;
            while (j < length && batch.location(start + j) == batch.location(start + j - 1) + 1
                    && cache.segmentOf(batch.location(start + j)) == cache.segmentOf(batch.location(start + i))) {
                j++;
            }
            ByteBuffer part = dst.slice(dst.position() + i * BLOCK, (j - i) * BLOCK);
            cache.log.read(batch.location(start + i), part);
            i = j;
        }
        dst.position(dst.position() + length * BLOCK);
    }

    /**
     * The backing store holds {@code batch}'s data and has been flushed: its versions are clean.
     * Appends CLEAN records (not waited for: a lost one only makes a block be destaged again, with
     * the same data), marks the index entries clean where they still point at those versions, and
     * drops them from the epoch; a version rewritten in the same epoch meanwhile stays dirty.
     */
    public void destaged(DestageBatch batch) {
        destaged(batch, new BitSet());
    }

    /**
     * Settles a batch some of whose runs failed: the runs not in {@code failedRuns} reached the
     * backing store, which has been flushed since, and are clean as in {@link #destaged(DestageBatch)};
     * the failed runs' versions are handed out again as in {@link #releaseDestage}. A flaky backing
     * store then still makes progress: retrying a whole batch of hundreds of scattered runs until
     * every one succeeds at once may never happen.
     */
    public void destaged(DestageBatch batch, BitSet failedRuns) {
        checkOwn(batch);
        if (!batch.settle()) {
            throw new IllegalStateException(batch + " was settled already");
        }
        long[] all = batch.blocks();
        long[] clean = all;
        long[] failed = new long[0];
        if (!failedRuns.isEmpty()) {
            LongList ok = new LongList(all.length);
            LongList bad = new LongList(16);
            for (int run = 0; run < batch.runCount(); run++) {
                LongList to = failedRuns.get(run) ? bad : ok;
                for (int i = batch.runStart(run); i < batch.runStart(run) + batch.runLength(run); i++) {
                    to.add(all[i]);
                }
            }
            clean = ok.toArray();
            failed = bad.toArray();
        }
        List<Record> cleans = new ArrayList<>();
        CacheIndex ci = cache.ci;
        long generation = 0;
        ci.lock.lock();
        try {
            generation = batchesSettled.incrementAndGet();
            DirtyVersions versions = ci.dirtyIfAny(ordinal);
            if (versions != null) {
                versions.release(batch.flushEpoch(), failed);
                List<DirtyVersions.Cleaned> cleaned = versions.destaged(batch.flushEpoch(), clean);
                for (DirtyVersions.Cleaned c : cleaned) {
                    int slot = ci.index.find(BlockIndex.key(ordinal, c.block()));
                    if (slot != BlockIndex.NOT_FOUND && ci.index.locationAt(slot) == c.location()) {
                        byte state = ci.index.stateAt(slot);
                        ci.setStateAt(ordinal, slot, BlockState.withDirty(state, false));
                    }
                }
                cleanRecords(cleaned, versions, cleans);
            }
        } catch (RuntimeException | Error e) {
            markersIssued.accumulateAndGet(generation, Math::max); // nothing to issue: no waiter may hang on it
            throw e;
        } finally {
            ci.lock.unlock();
            unpin(batch);
        }
        try {
            cache.appendMarkers(cleans, "CLEAN records of " + batch);
        } finally {
            markersIssued.accumulateAndGet(generation, Math::max);
        }
    }

    /**
     * Completes once the CLEAN records of every batch settled so far are on flash. Only then may the
     * owner release those writes' replicas, or acknowledge a write that waited for the backing store:
     * after a crash before that, recovery would find the destaged versions dirty again and destage
     * its older flush epochs anew — over the newer data on the backing store, whose other copies
     * would be gone (simulation seed 37569).
     */
    public CompletableFuture<Void> cleanRecordsDurable() {
        long settled = batchesSettled.get();
        while (markersIssued.get() < settled) {
            Thread.onSpinWait(); // destaged() is between its index update and issuing the records: microseconds
        }
        return cache.markersDone();
    }

    /** The destage of {@code batch} failed: its versions will be handed out again. */
    public void releaseDestage(DestageBatch batch) {
        checkOwn(batch);
        if (!batch.settle()) {
            throw new IllegalStateException(batch + " was settled already");
        }
        CacheIndex ci = cache.ci;
        ci.lock.lock();
        try {
            DirtyVersions versions = ci.dirtyIfAny(ordinal);
            if (versions != null) {
                versions.release(batch.flushEpoch(), batch.blocks());
            }
        } finally {
            ci.lock.unlock();
            unpin(batch);
        }
    }

    /**
     * CLEAN records for the destaged versions, one per run of consecutive blocks that can share an
     * {@code aux}: a CLEAN cleans every record of its blocks up to {@code aux}, so {@code aux} (the
     * highest destaged sequence of the run) must stay below every remaining (newer) version of
     * every block of the run. Engine lock held.
     */
    private void cleanRecords(List<DirtyVersions.Cleaned> cleaned, DirtyVersions versions, List<Record> out) {
        int i = 0;
        while (i < cleaned.size()) {
            long first = cleaned.get(i).block();
            long aux = cleaned.get(i).sequence();
            long floor = versions.lowestSequence(first);
            int j = i + 1;
            while (j < cleaned.size()) {
                DirtyVersions.Cleaned c = cleaned.get(j);
                long nextAux = Math.max(aux, c.sequence());
                long nextFloor = Math.min(floor, versions.lowestSequence(c.block()));
                if (c.block() != cleaned.get(j - 1).block() + 1 || nextAux >= nextFloor) {
                    break;
                }
                aux = nextAux;
                floor = nextFloor;
                j++;
            }
            out.add(Record.clean(volumeId, first, j - i, aux));
            i = j;
        }
    }

    private void unpin(DestageBatch batch) {
        for (int i = 0; i < batch.blockCount(); i++) {
            cache.pins.unpin(cache.segmentOf(batch.location(i)));
        }
    }

    private void checkOwn(DestageBatch batch) {
        if (batch.volume() != this) {
            throw new IllegalArgumentException(batch + " belongs to another volume than " + name);
        }
    }

    // ---- numbers ----

    /** Dirty versions the destager still owes the backing store. */
    public long dirtyBlocks() {
        CacheIndex ci = cache.ci;
        ci.lock.lock();
        try {
            DirtyVersions versions = ci.dirtyIfAny(ordinal);
            return versions == null ? 0 : versions.count();
        } finally {
            ci.lock.unlock();
        }
    }

    public long dirtyBytes() {
        return dirtyBlocks() * BLOCK;
    }

    /** The oldest flush epoch with dirty versions (unsigned), or {@link #NO_EPOCH}. */
    public long oldestDirtyEpoch() {
        CacheIndex ci = cache.ci;
        ci.lock.lock();
        try {
            DirtyVersions versions = ci.dirtyIfAny(ordinal);
            return versions == null ? NO_EPOCH : versions.oldestEpoch();
        } finally {
            ci.lock.unlock();
        }
    }

    /**
     * The highest flush epoch of any dirty write of this volume seen since the device was formatted
     * (recovered ones included), or {@link #NO_EPOCH}: after a restart, the volume's next epoch must
     * be above it.
     */
    public long highestFlushEpoch() {
        CacheIndex ci = cache.ci;
        ci.lock.lock();
        try {
            return ci.highestEpoch(ordinal);
        } finally {
            ci.lock.unlock();
        }
    }

    public VolumeStats stats() {
        CacheIndex ci = cache.ci;
        ci.lock.lock();
        try {
            DirtyVersions versions = ci.dirtyIfAny(ordinal);
            long dirty = versions == null ? 0 : versions.count();
            return new VolumeStats(hits, misses, ci.cachedBlocks(ordinal), dirty, dirty * BLOCK, ci.lostBlocks(ordinal),
                    versions == null ? NO_EPOCH : versions.oldestEpoch(), ci.highestEpoch(ordinal));
        } finally {
            ci.lock.unlock();
        }
    }

    private long key(long block) {
        if (block < 0 || block > BlockIndex.MAX_BLOCK) {
            throw new IllegalArgumentException("block " + block + " is outside [0, 2^48)");
        }
        return BlockIndex.key(ordinal, block);
    }

    private static void checkRange(long firstBlock, long count) {
        if (firstBlock < 0 || count < 1 || firstBlock > BlockIndex.MAX_BLOCK + 1 - count) {
            throw new IllegalArgumentException("blocks [" + firstBlock + ", +" + count + ") are outside [0, 2^48)");
        }
    }

    @Override
    public String toString() {
        return "VolumeCache(" + name + ", id " + Long.toHexString(volumeId) + ")";
    }
}
