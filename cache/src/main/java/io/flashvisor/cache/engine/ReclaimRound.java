package io.flashvisor.cache.engine;

import io.flashvisor.cache.index.BlockIndex;
import io.flashvisor.cache.log.AppendResult;
import io.flashvisor.cache.log.FlashLayout;
import io.flashvisor.cache.log.FlashLog;
import io.flashvisor.cache.log.Record;
import io.flashvisor.cache.log.RecordType;
import io.flashvisor.cache.log.RecoveredRecord;
import io.flashvisor.cache.log.SegmentContents;
import io.flashvisor.cache.log.SegmentInfo;
import io.flashvisor.cache.policy.BlockState;
import io.flashvisor.cache.policy.EvictionPolicy;
import io.flashvisor.cache.policy.Queue;
import io.flashvisor.common.VolumeException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One round of the cleaner on one victim segment: decide what in it is still live, re-append
 * that, and report whether the victim can be freed (docs/cache.md, The engine: the cleaner).
 *
 * <ol>
 * <li>Read the victim's records ({@code readSegment}, every data CRC checked).</li>
 * <li>Plan, under the engine lock, in the victim's sequence order:
 *   <ul>
 *   <li>a DATA block the index still points at (location equality is the liveness test) is the
 *       block's current version: dirty ones always stay (the policy picks the queue; if it says
 *       evict, main); clean ones stay or leave as the policy says — leaving removes the entry and
 *       tells the policy ({@code forgotten});</li>
 *   <li>a DATA block that is an older dirty version still owed to an older flush epoch stays, and
 *       so does every newer version of that block after it, in order, in the same append: the
 *       moved copy gets a higher sequence than the newer versions had, and recovery takes the
 *       highest sequence, so the block's version order must be re-established atomically;</li>
 *   <li>a CLEAN is kept if another live segment may hold a record it cleans (first sequence ≤
 *       aux), an INVALIDATE if another may hold a record it kills (first sequence below the
 *       original INVALIDATE's); a re-appended INVALIDATE leaves out the blocks that are dirty now
 *       (their newer records would die with it), clean ones may die: they are on the backing store;</li>
 *   <li>an evicted block whose older copies may outlive the victim (the victim is not its stream's
 *       oldest segment, or the entry is split across streams) gets an INVALIDATE;</li>
 *   <li>a live LOST record keeps the whole victim (held), and so does anything that cannot be
 *       moved in one append.</li>
 *   </ul>
 *   The round goes ahead only if its appends cannot wait for space: at most min(free, reserve)
 *   segments may be rolled, counting from a full open segment per stream (docs/cache.md, the
 *   cleaner's side of the contract). The moved blocks are registered in {@link InFlightMoves}.</li>
 * <li>Read the data to move, build the records, pack each stream's share greedily in order into
 *   appends (≤ 63 records, ≤ the log's largest append), append them with
 *   {@code appendReclaimAsync} and wait until they are durable.</li>
 * <li>Apply, under the lock: an entry (or dirty version) is moved only if it still points at the
 *   old location — a client write that completed meanwhile wins.</li>
 * </ol>
 *
 * Used by the cleaner's thread only; not thread-safe.
 */
final class ReclaimRound {
    private static final Logger LOG = LoggerFactory.getLogger(ReclaimRound.class);
    static final int MAX_RECORDS = 63;
    /** The most INVALIDATE fragments one re-appended INVALIDATE may become before the victim is passed over. */
    static final int MAX_FRAGMENTS = 4096;
    private static final int BLOCK = FlashLayout.BLOCK_SIZE;

    enum Outcome {
        /** Everything live moved: the victim holds nothing anyone needs and may be freed once unpinned. */
        RECLAIMED,
        /** The victim holds something that cannot move now (lost data): pass it over for a while. */
        HELD,
        /** Moving it could need more free segments than the round can count on: try another victim. */
        TOO_BIG,
        /** An append failed: the victim stays. */
        FAILED
    }

    /** One block copy to re-append. */
    static final class Item {
        final int ordinal;
        final long block;
        final int from;
        final boolean dirty;
        final long flushEpoch;
        /** The index pointed here at plan time. */
        final boolean current;
        /** It is a version in the dirty tracker. */
        final boolean tracked;
        final byte planState;
        final byte newState;
        final boolean inVictim;
        ByteBuffer data;
        int to = -1;
        long sequence;

        Item(int ordinal, long block, int from, boolean dirty, long flushEpoch, boolean current, boolean tracked,
             byte planState, byte newState, boolean inVictim) {
            this.ordinal = ordinal;
            this.block = block;
            this.from = from;
            this.dirty = dirty;
            this.flushEpoch = flushEpoch;
            this.current = current;
            this.tracked = tracked;
            this.planState = planState;
            this.newState = newState;
            this.inVictim = inVictim;
        }
    }

    enum Kind { RUN, CHAIN, MARKER }

    /** Records that go into one append together, in order. */
    static final class Unit {
        final Kind kind;
        final int stream;
        final long volumeId;
        final List<Item> items = new ArrayList<>();
        final Record marker;
        /** For a re-appended INVALIDATE: the original's sequence; -1 otherwise. */
        final long origin;
        /** A chain that moved versions from outside the victim. */
        boolean dragged;

        Unit(Kind kind, int stream, long volumeId, Record marker, long origin) {
            this.kind = kind;
            this.stream = stream;
            this.volumeId = volumeId;
            this.marker = marker;
            this.origin = origin;
        }

        int records() {
            return kind == Kind.CHAIN ? items.size() : 1;
        }

        int dataBlocks() {
            return kind == Kind.MARKER ? 0 : items.size();
        }
    }

    /** One reclaim append: its records and, for each, the unit (and chain item) it came from. */
    private record Append(int stream, List<Record> records, List<Unit> units, List<Integer> itemOf) {
    }

    private final FlashCache cache;
    private final CacheIndex ci;
    private final FlashLog log;
    private final SegmentInfo victim;
    private final boolean fifo;
    private final List<Unit> units = new ArrayList<>();
    private final Set<Long> planned = new HashSet<>();
    /** {ordinal, key, location, needs an INVALIDATE (1/0)}. */
    private final List<long[]> evictions = new ArrayList<>();
    /** {ordinal, first, end} of every INVALIDATE the round writes. */
    private final List<long[]> invalidateRanges = new ArrayList<>();
    private final LongList victimInvalidates = new LongList();
    /** CLEAN records for dirty copies this round wrote of versions that were destaged or dropped meanwhile. */
    private final List<Record> zombies = new ArrayList<>();
    private final ReclaimBuffers buffers;
    private String reason = "";
    long movedBlocks;
    long evictedBlocks;

    /**
     * @param fifo    the victim is its stream's oldest segment and no segment of an unconfigured
     *                stream is older: older copies of its blocks in that stream are gone already
     * @param buffers the cleaner's scratch memory, free again once {@link #run} has returned
     */
    ReclaimRound(FlashCache cache, SegmentInfo victim, boolean fifo, ReclaimBuffers buffers) {
        this.cache = cache;
        this.buffers = buffers;
        this.ci = cache.ci;
        this.log = cache.log;
        this.victim = victim;
        this.fifo = fifo;
    }

    String reason() {
        return reason;
    }

    Outcome run() throws VolumeException {
        SegmentContents contents = log.readSegment(victim.segment());
        long minOtherFirstSequence = minFirstSequenceOfOtherSegments();
        int free = log.freeSegmentCount();
        InFlightMoves.Round round;
        ci.lock.lock();
        try {
            Outcome refused = plan(contents, minOtherFirstSequence, free);
            if (refused != null) {
                return refused;
            }
            round = ci.moves.begin();
            try {
                register(round);
            } catch (RuntimeException e) {
                ci.moves.end(round);
                round.done.complete(Long.MIN_VALUE);
                throw e;
            }
        } finally {
            ci.lock.unlock();
        }
        List<Append> appends = new ArrayList<>();
        List<CompletableFuture<AppendResult>> futures = new ArrayList<>();
        List<AppendResult> results = new ArrayList<>();
        boolean failed = false;
        try {
            buffers.reset(); // the previous round is over: every append it made has completed
            readData();
            appends.addAll(pack());
            for (Append a : appends) {
                futures.add(log.appendReclaimAsync(a.stream(), a.records()));
            }
        } catch (VolumeException | RuntimeException e) {
            failed = true;
            reason = "could not move the live data: " + e;
        } finally {
            // Whatever happened, every submitted append is waited for (the log completes or fails
            // each one, also at close), applied, and only then is the round over: a shadowed client
            // must append after all of them, and a round left registered would shadow clients for ever.
            long max = Long.MIN_VALUE;
            for (CompletableFuture<AppendResult> f : futures) {
                AppendResult r = f.handle((ok, t) -> ok).join();
                results.add(r);
                if (r == null) {
                    failed = true;
                    if (reason.isEmpty()) {
                        reason = "a reclaim append failed: " + f.handle((ok, t) -> t).join();
                    }
                } else {
                    max = Math.max(max, r.lastSequence());
                }
            }
            failed |= futures.size() < appends.size();
            ci.lock.lock();
            try {
                complete(appends, results, failed);
            } finally {
                ci.moves.end(round);
                ci.lock.unlock();
                // Only now: a shadowed client appends again once the index and the versions point at
                // the moved copies, so what it computes from them (a clean write's CLEAN) covers them.
                round.done.complete(max);
            }
        }
        cache.appendMarkers(zombies, "CLEAN records of moved copies of versions destaged meanwhile");
        return failed ? Outcome.FAILED : Outcome.RECLAIMED;
    }

    /** Registers the round's moves and evicts what the plan evicts. Engine lock held. */
    private void register(InFlightMoves.Round round) {
        for (Unit u : units) {
            for (Item item : u.items) {
                round.keys.add(BlockIndex.key(item.ordinal, item.block));
            }
        }
        for (long[] r : invalidateRanges) {
            round.addRange((int) r[0], r[1], r[2]);
        }
        // Evicted in the same critical section as the plan: lookups see them go atomically.
        for (long[] e : evictions) {
            int ordinal = (int) e[0];
            int slot = ci.index.find(e[1]);
            ci.removeAt(ordinal, slot);
            ci.policy.forgotten(e[1]);
            evictedBlocks++;
        }
    }

    private long minFirstSequenceOfOtherSegments() {
        long min = Long.MAX_VALUE;
        for (SegmentInfo s : log.sealedSegments()) {
            if (s.segment() != victim.segment()) {
                min = Math.min(min, s.firstSequence());
            }
        }
        for (SegmentInfo s : log.openSegments()) {
            if (s.segment() != victim.segment() && s.usedBlocks() > 0) {
                min = Math.min(min, s.firstSequence());
            }
        }
        return min;
    }

    // ---- plan (engine lock held) ----

    private Outcome plan(SegmentContents contents, long minOther, int free) {
        for (RecoveredRecord r : contents.lost()) {
            int ordinal = r.originHost() == 0 ? ci.ordinalOf(r.volumeId()) : -1;
            if (ordinal >= 0 && r.type() == RecordType.DATA && holdsLiveLost(r, ordinal)) {
                reason = "it holds the only record of lost dirty block(s) of volume " + Long.toHexString(r.volumeId());
                return Outcome.HELD;
            }
        }
        for (RecoveredRecord r : contents.records()) {
            if (r.type() == RecordType.INVALIDATE || r.type() == RecordType.RELEASE) {
                victimInvalidates.add(r.sequence());
            }
            if (r.originHost() != 0) {
                Outcome held = planReplica(r, minOther);
                if (held != null) {
                    return held;
                }
                continue;
            }
            int ordinal = ci.ordinalOf(r.volumeId());
            if (ordinal < 0) {
                continue;
            }
            Outcome refused = switch (r.type()) {
                case DATA -> planData(r, ordinal);
                case CLEAN -> {
                    if (minOther <= r.aux()) {
                        units.add(new Unit(Kind.MARKER, cache.markerStream(), r.volumeId(),
                                Record.clean(r.volumeId(), r.firstBlock(), r.blockCount(), r.aux()), -1));
                    }
                    yield null;
                }
                case INVALIDATE -> {
                    long origin = ci.invalidateOrigins.getOrDefault(r.sequence(), r.sequence());
                    yield minOther < origin ? planInvalidate(r, ordinal, origin) : null;
                }
                case RELEASE -> null; // only ever written with an origin
            };
            if (refused != null) {
                return refused;
            }
        }
        planEvictionMarkers();
        int rolls = 0;
        for (int s = 0; s < ci.streams; s++) {
            int n = rolls(s);
            if (n < 0) {
                reason = "a group of records does not fit one append";
                return Outcome.HELD;
            }
            rolls += n;
        }
        int budget = Math.min(free, log.config().reservedSegments());
        if (rolls > budget) {
            reason = "moving its live data may take " + rolls + " new segments; " + budget + " are safe to count on";
            return Outcome.TOO_BIG;
        }
        return null;
    }

    /**
     * A peer's record: a live replica holds the victim (replicas are never moved: they are short-
     * lived, released once the origin destages, and moving them would need the origin's ordering
     * kept through the move); a RELEASE is re-appended while an older live segment may still hold
     * a replica it released (else a restart would bring that replica back as live), like an
     * INVALIDATE. Engine lock held.
     */
    private Outcome planReplica(RecoveredRecord r, long minOther) {
        if (r.type() == RecordType.DATA && ci.replicas.anyLive((int) r.deviceBlock(), r.blockCount())) {
            reason = "it holds live replicas of volume " + Long.toHexString(r.volumeId()) + " of peer " + r.originHost();
            return Outcome.HELD;
        }
        if (r.type() == RecordType.RELEASE) {
            long origin = ci.invalidateOrigins.getOrDefault(r.sequence(), r.sequence());
            if (minOther < origin) {
                units.add(new Unit(Kind.MARKER, cache.markerStream(), r.volumeId(),
                        Record.release(r.originHost(), r.volumeId(), r.aux()), origin));
            }
        }
        return null;
    }

    private boolean holdsLiveLost(RecoveredRecord r, int ordinal) {
        for (int i = 0; i < r.blockCount(); i++) {
            int slot = ci.index.find(BlockIndex.key(ordinal, r.firstBlock() + i));
            if (slot != BlockIndex.NOT_FOUND && EntryState.lost(ci.index.stateAt(slot))
                    && ci.index.locationAt(slot) == r.deviceBlock() + i) {
                return true;
            }
        }
        return false;
    }

    private Outcome planData(RecoveredRecord r, int ordinal) {
        for (int i = 0; i < r.blockCount(); i++) {
            long block = r.firstBlock() + i;
            long key = BlockIndex.key(ordinal, block);
            int location = (int) (r.deviceBlock() + i);
            if (planned.contains(key)) {
                continue;
            }
            int slot = ci.index.find(key);
            if (slot == BlockIndex.NOT_FOUND) {
                continue;
            }
            byte state = ci.index.stateAt(slot);
            int current = ci.index.locationAt(slot);
            if (current == location) {
                if (EntryState.lost(state)) {
                    reason = "block " + block + " is lost";
                    return Outcome.HELD;
                }
                int decision = ci.policy.reclaimed(key, state);
                if (BlockState.isDirty(state)) {
                    // Dirty blocks always stay; where the policy would evict, they wait in main.
                    byte next = decision == EvictionPolicy.EVICT
                            ? BlockState.withFreq(BlockState.withQueue(state, Queue.MAIN), 0) : (byte) decision;
                    addToRun(new Item(ordinal, block, location, true, r.flushEpoch(), true, true, state, next, true),
                            ci.streamOfState(next));
                } else if (decision == EvictionPolicy.EVICT) {
                    boolean marker = !fifo || EntryState.split(state);
                    evictions.add(new long[] {ordinal, key, location, marker ? 1 : 0});
                } else {
                    byte next = (byte) decision;
                    addToRun(new Item(ordinal, block, location, false, r.flushEpoch(), true, false, state, next, true),
                            ci.streamOfState(next));
                }
                planned.add(key);
            } else if (EntryState.mayHaveVersions(state)) {
                DirtyVersions versions = ci.dirtyIfAny(ordinal);
                DirtyVersions.Version old = versions == null ? null : versions.versionAt(block, location);
                if (old == null) {
                    continue; // dead: an older copy of a dirty block, not owed to any epoch
                }
                Outcome refused = planChain(ordinal, r.volumeId(), old, state, current, versions);
                if (refused != null) {
                    return refused;
                }
                planned.add(key);
            }
        }
        return null;
    }

    /** An older dirty version kept for its epoch, followed by every newer version of its block. */
    private Outcome planChain(int ordinal, long volumeId, DirtyVersions.Version old, byte state, int current,
                              DirtyVersions versions) {
        if (EntryState.lost(state)) {
            reason = "block " + old.block() + " has an older dirty version but its newest was lost";
            return Outcome.HELD;
        }
        List<DirtyVersions.Version> newer = versions.newerVersions(old.block(), old.epoch());
        if (newer.isEmpty() || newer.getLast().location() != current) {
            reason = "the versions of block " + old.block() + " do not end at the index's location";
            LOG.warn("cleaner: {}; passing segment {} over", reason, victim.segment());
            return Outcome.HELD;
        }
        if (1 + newer.size() > Math.min(MAX_RECORDS, log.maxAppendBlocks())) {
            reason = "block " + old.block() + " has " + (1 + newer.size()) + " dirty versions, more than one append holds";
            return Outcome.HELD;
        }
        int stream = ci.streamOf(Queue.MAIN);
        Unit chain = new Unit(Kind.CHAIN, stream, volumeId, null, -1);
        chain.items.add(new Item(ordinal, old.block(), old.location(), true, old.epoch(), false, true, (byte) 0,
                (byte) 0, true));
        for (int i = 0; i < newer.size(); i++) {
            DirtyVersions.Version v = newer.get(i);
            boolean last = i == newer.size() - 1;
            boolean inVictim = cache.segmentOf(v.location()) == victim.segment();
            chain.dragged |= !inVictim;
            chain.items.add(new Item(ordinal, v.block(), v.location(), true, v.epoch(), last, true, state,
                    last ? BlockState.withQueue(state, Queue.MAIN) : 0, inVictim));
        }
        units.add(chain);
        return null;
    }

    private void addToRun(Item item, int stream) {
        Unit last = units.isEmpty() ? null : units.getLast();
        if (last != null && last.kind == Kind.RUN && last.stream == stream && last.items.size() < log.maxAppendBlocks()) {
            Item prev = last.items.getLast();
            if (prev.ordinal == item.ordinal && prev.block + 1 == item.block && prev.dirty == item.dirty
                    && prev.flushEpoch == item.flushEpoch) {
                last.items.add(item);
                return;
            }
        }
        Unit run = new Unit(Kind.RUN, stream, ci.volumeId(item.ordinal), null, -1);
        run.items.add(item);
        units.add(run);
    }

    /**
     * Re-appends an INVALIDATE that is still needed, minus the blocks that are dirty or lost now:
     * the copy gets a higher sequence and would kill their newer records. For those blocks a CLEAN
     * up to the original INVALIDATE's sequence − 1 goes instead: it neutralises exactly the records
     * the INVALIDATE killed as far as the destager is concerned (an old dirty record must not come
     * back as owed), and their newer records win over the old ones at recovery by sequence. Their
     * entries are marked split, so that evicting them later writes a full INVALIDATE.
     */
    private Outcome planInvalidate(RecoveredRecord r, int ordinal, long origin) {
        long first = r.firstBlock();
        long end = first + r.blockCount();
        LongList excluded = new LongList();
        DirtyVersions versions = ci.dirtyIfAny(ordinal);
        if (versions != null && !versions.isEmpty()) {
            LongList dirty = versions.blocksIn(first, end);
            for (int i = 0; i < dirty.size(); i++) {
                excluded.add(dirty.get(i));
            }
        }
        if (ci.lostBlocks(ordinal) > 0) {
            LongList keys = ci.keysIn(ordinal, first, end);
            for (int i = 0; i < keys.size(); i++) {
                if (EntryState.lost(ci.index.stateAt(ci.index.find(keys.get(i))))) {
                    excluded.add(BlockIndex.blockOf(keys.get(i)));
                }
            }
        }
        excluded.sort();
        List<Record> records = new ArrayList<>();
        long from = first;
        long cleanFrom = -1;
        long cleanTo = -1;
        for (int i = 0; i <= excluded.size(); i++) {
            long to = i < excluded.size() ? excluded.get(i) : end;
            if (i < excluded.size() && to < from) {
                continue; // the same block again (versions in several epochs)
            }
            if (to > from) {
                records.add(Record.invalidate(r.volumeId(), from, (int) (to - from)));
            }
            if (i < excluded.size()) {
                if (cleanTo == to) {
                    cleanTo = to + 1;
                } else {
                    if (cleanFrom >= 0) {
                        records.add(Record.clean(r.volumeId(), cleanFrom, (int) (cleanTo - cleanFrom), origin - 1));
                    }
                    cleanFrom = to;
                    cleanTo = to + 1;
                }
            }
            if (records.size() > MAX_FRAGMENTS) {
                reason = "a needed INVALIDATE of " + r.blockCount() + " blocks would split into more than "
                        + MAX_FRAGMENTS + " records around dirty blocks";
                return Outcome.TOO_BIG;
            }
            from = Math.max(from, to + 1);
        }
        if (cleanFrom >= 0) {
            records.add(Record.clean(r.volumeId(), cleanFrom, (int) (cleanTo - cleanFrom), origin - 1));
        }
        for (Record f : records) {
            units.add(new Unit(Kind.MARKER, cache.markerStream(), r.volumeId(), f,
                    f.type() == RecordType.INVALIDATE ? origin : -1));
        }
        for (int i = 0; i < excluded.size(); i++) {
            int slot = ci.index.find(BlockIndex.key(ordinal, excluded.get(i)));
            if (slot != BlockIndex.NOT_FOUND) {
                ci.index.setStateAt(slot, EntryState.withSplit(ci.index.stateAt(slot), true));
            }
        }
        invalidateRanges.add(new long[] {ordinal, first, end});
        return null;
    }

    private void planEvictionMarkers() {
        // Evictions are collected in victim order; coalesce consecutive blocks of one volume.
        long[] run = null;
        for (long[] e : evictions) {
            if (e[3] == 0) {
                continue;
            }
            long block = BlockIndex.blockOf(e[1]);
            if (run != null && run[0] == e[0] && run[2] == block) {
                run[2]++;
                continue;
            }
            if (run != null) {
                addEvictionMarker(run);
            }
            run = new long[] {e[0], block, block + 1};
        }
        if (run != null) {
            addEvictionMarker(run);
        }
    }

    private void addEvictionMarker(long[] run) {
        long volumeId = ci.volumeId((int) run[0]);
        units.add(new Unit(Kind.MARKER, cache.markerStream(), volumeId,
                Record.invalidate(volumeId, run[1], (int) (run[2] - run[1])), -1));
        invalidateRanges.add(run);
    }

    /**
     * The segments this stream's share of the round may open, counting from a full open segment;
     * -1 if a unit does not fit one append.
     */
    private int rolls(int stream) {
        int blocksPerSegment = log.layout().blocksPerSegment();
        int maxBlocks = log.maxAppendBlocks();
        int rolls = 0;
        int room = 0;
        int records = 0;
        int blocks = 0;
        boolean open = false;
        for (Unit u : units) {
            if (u.stream != stream) {
                continue;
            }
            if (u.records() > MAX_RECORDS || u.dataBlocks() > maxBlocks) {
                return -1;
            }
            if (open && (records + u.records() > MAX_RECORDS || blocks + u.dataBlocks() > maxBlocks)) {
                if (1 + blocks > room) {
                    rolls++;
                    room = blocksPerSegment;
                }
                room -= 1 + blocks;
                records = 0;
                blocks = 0;
            }
            open = true;
            records += u.records();
            blocks += u.dataBlocks();
        }
        if (open && 1 + blocks > room) {
            rolls++;
        }
        return rolls;
    }

    // ---- move (no lock) ----

    private void readData() throws VolumeException {
        int lo = Integer.MAX_VALUE;
        int hi = Integer.MIN_VALUE;
        for (Unit u : units) {
            for (Item item : u.items) {
                if (item.inVictim) {
                    lo = Math.min(lo, item.from);
                    hi = Math.max(hi, item.from);
                }
            }
        }
        ByteBuffer span = null;
        if (lo <= hi) {
            span = buffers.span((hi - lo + 1) * BLOCK);
            log.read(lo, span);
        }
        for (Unit u : units) {
            for (Item item : u.items) {
                if (item.inVictim) {
                    item.data = span.slice((item.from - lo) * BLOCK, BLOCK);
                } else {
                    ByteBuffer one = ByteBuffer.allocate(BLOCK);
                    log.read(item.from, one);
                    item.data = one.flip();
                }
            }
        }
    }

    private List<Append> pack() {
        List<Append> appends = new ArrayList<>();
        int maxBlocks = log.maxAppendBlocks();
        for (int s = 0; s < ci.streams; s++) {
            Append current = null;
            int blocks = 0;
            for (Unit u : units) {
                if (u.stream != s) {
                    continue;
                }
                if (current == null || current.records().size() + u.records() > MAX_RECORDS
                        || blocks + u.dataBlocks() > maxBlocks) {
                    current = new Append(s, new ArrayList<>(), new ArrayList<>(), new ArrayList<>());
                    appends.add(current);
                    blocks = 0;
                }
                blocks += u.dataBlocks();
                switch (u.kind) {
                    case MARKER -> add(current, u.marker, u, -1);
                    case RUN -> {
                        Item first = u.items.getFirst();
                        ByteBuffer data = buffers.run(u.items.size() * BLOCK);
                        for (Item item : u.items) {
                            data.put(item.data.duplicate());
                        }
                        add(current, Record.data(u.volumeId, first.block, data.flip(), first.dirty, first.flushEpoch), u, -1);
                    }
                    case CHAIN -> {
                        for (int i = 0; i < u.items.size(); i++) {
                            Item item = u.items.get(i);
                            add(current, Record.data(u.volumeId, item.block, item.data.duplicate(), true, item.flushEpoch), u, i);
                        }
                    }
                }
            }
        }
        return appends;
    }

    private static void add(Append a, Record record, Unit unit, int item) {
        a.records().add(record);
        a.units().add(unit);
        a.itemOf().add(item);
    }

    // ---- apply (engine lock held) ----

    private void complete(List<Append> appends, List<AppendResult> results, boolean failed) {
        for (int k = 0; k < appends.size() && k < results.size(); k++) {
            AppendResult r = results.get(k);
            if (r == null) {
                continue;
            }
            Append a = appends.get(k);
            for (int j = 0; j < a.records().size(); j++) {
                Unit u = a.units().get(j);
                switch (u.kind) {
                    case MARKER -> {
                        if (u.origin >= 0) {
                            ci.invalidateOrigins.put(r.sequence(j), u.origin);
                        }
                    }
                    case RUN -> {
                        for (int m = 0; m < u.items.size(); m++) {
                            landed(u.items.get(m), (int) (r.deviceBlock(j) + m), r.sequence(j));
                        }
                    }
                    case CHAIN -> landed(u.items.get(a.itemOf().get(j)), (int) r.deviceBlock(j), r.sequence(j));
                }
            }
        }
        for (Unit u : units) {
            for (Item item : u.items) {
                if (item.to >= 0) {
                    apply(item, u, failed);
                }
            }
        }
        if (!failed) {
            for (int i = 0; i < victimInvalidates.size(); i++) {
                ci.invalidateOrigins.remove(victimInvalidates.get(i));
            }
        }
    }

    private static void landed(Item item, int to, long sequence) {
        item.to = to;
        item.sequence = sequence;
    }

    private void apply(Item item, Unit unit, boolean roundFailed) {
        movedBlocks++;
        if (item.current) {
            int slot = ci.index.find(BlockIndex.key(item.ordinal, item.block));
            if (slot != BlockIndex.NOT_FOUND && ci.index.locationAt(slot) == item.from) {
                byte state = ci.index.stateAt(slot);
                byte next = item.newState;
                if (BlockState.freq(state) > BlockState.freq(item.planState)) {
                    next = ci.policy.accessed(next); // read while it moved
                }
                next = EntryState.withLost(BlockState.withDirty(next, BlockState.isDirty(state)), false);
                boolean split = EntryState.split(state) || unit.dragged
                        || roundFailed && ci.streamOfState(state) != unit.stream;
                ci.index.setLocationAt(slot, item.to);
                ci.setStateAt(item.ordinal, slot, EntryState.withSplit(next, split));
            }
        }
        if (item.tracked) {
            DirtyVersions versions = ci.dirtyIfAny(item.ordinal);
            if (versions == null || !versions.moved(item.block, item.flushEpoch, item.from, item.to, item.sequence)) {
                // The version was destaged (its CLEAN is below this copy's sequence) or dropped by a
                // clean write while it moved: this dirty copy must not come back at recovery.
                zombies.add(Record.clean(unit.volumeId, item.block, 1, item.sequence));
            }
        }
    }
}
