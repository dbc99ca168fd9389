package io.flashvisor.cache.engine;

import io.flashvisor.cache.index.BlockIndex;
import io.flashvisor.cache.log.RecordType;
import io.flashvisor.cache.log.RecoveredRecord;
import io.flashvisor.cache.log.RecoveryListener;
import io.flashvisor.cache.policy.BlockState;
import io.flashvisor.cache.policy.Queue;
import io.flashvisor.common.VolumeException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Rebuilds the index and every volume's dirty versions from the records recovery delivers, in
 * sequence order, into an empty {@link CacheIndex} (docs/cache.md, Recovery, step 5; the engine's
 * rules are in its section "The engine"):
 *
 * <ul>
 * <li>DATA sets each block's location and state (queue = its segment's stream, dirty flag);
 *     a dirty record adds a version in its flush epoch and drops the block's versions of that
 *     epoch and later ones (a later record supersedes them); a clean one drops them all.</li>
 * <li>CLEAN drops the versions with a sequence at most {@code aux}; the entry turns clean if its
 *     own version was one of them.</li>
 * <li>INVALIDATE removes the entries and versions (every record before it has a lower sequence).</li>
 * <li>A lost dirty record makes the block LOST (reads fail with EIO until it is rewritten); a lost
 *     clean one removes it, and is remembered so that {@link FlashCache} can write an INVALIDATE
 *     for it once the log is open (the lost record's segment will be reclaimed one day, and an
 *     older copy elsewhere must not come back).</li>
 * <li>An entry whose copies span two streams is marked split (see {@link EntryState}).</li>
 * </ul>
 *
 * Peers' replica records (origin host ≠ 0) and their RELEASEs go to the {@link ReplicaIndex}; a
 * corrupt replica record is simply not a replica (the origin still has its own copy). Deterministic: recovering the same device twice gives the same index. Runs on the thread
 * that opens the log; not thread-safe.
 */
final class RecoveryApplier implements RecoveryListener {
    private final CacheIndex ci;
    /** Key → sequence of the lost dirty record that is the block's newest version. */
    private final Map<Long, Long> lostSequences = new HashMap<>();
    final List<RecoveredRecord> lostClean = new ArrayList<>();
    long replicaRecords;
    long unreadableRuns;
    long lostRecords;

    RecoveryApplier(CacheIndex ci) {
        this.ci = ci;
    }

    @Override
    public void onRecord(RecoveredRecord r) {
        if (r.originHost() != 0) {
            replica(r);
            return;
        }
        switch (r.type()) {
            case DATA -> data(r, false);
            case CLEAN -> clean(r);
            case INVALIDATE -> invalidate(r);
            case RELEASE -> { } // only ever written with an origin
        }
    }

    /** A peer's replica or its release: the replica index applies the same rules as at run time. */
    private void replica(RecoveredRecord r) {
        replicaRecords++;
        switch (r.type()) {
            case DATA -> ci.replicas.data(r.originHost(), r.volumeId(), r.epoch(), r.flushEpoch(), r.firstBlock(),
                    r.blockCount(), (int) r.deviceBlock(), r.aux());
            case RELEASE -> ci.replicas.release(r.originHost(), r.volumeId(), r.aux());
            default -> { } // CLEAN and INVALIDATE are never written for replicas
        }
    }

    @Override
    public void onLost(RecoveredRecord r) {
        lostRecords++;
        if (r.originHost() == 0 && r.type() == RecordType.DATA) {
            data(r, true);
        }
    }

    @Override
    public void onUnreadable(int segment, long firstSequence, long lastSequence) {
        unreadableRuns++;
    }

    private void data(RecoveredRecord r, boolean lost) {
        int ordinal;
        try {
            ordinal = ci.ordinalFor(r.volumeId());
        } catch (VolumeException e) {
            throw new UncheckedIOException(e);
        }
        Queue queue = CacheIndex.queueOfStream(r.stream());
        DirtyVersions versions = ci.dirty(ordinal);
        boolean lostCleanNoted = false;
        for (int i = 0; i < r.blockCount(); i++) {
            long block = r.firstBlock() + i;
            long key = BlockIndex.key(ordinal, block);
            int location = (int) (r.deviceBlock() + i);
            int slot = ci.index.find(key);
            boolean split = false;
            if (slot != BlockIndex.NOT_FOUND) {
                byte old = ci.index.stateAt(slot);
                split = EntryState.split(old) || BlockState.queue(old) != queue;
                if (EntryState.mayHaveVersions(old)) {
                    if (r.dirty()) {
                        versions.removeFrom(block, r.flushEpoch());
                    } else {
                        versions.removeAll(block);
                    }
                }
            }
            lostSequences.remove(key);
            byte state = EntryState.withSplit(BlockState.withDirty(BlockState.of(queue), r.dirty()), split);
            if (!lost) {
                ci.put(ordinal, key, location, state);
                if (r.dirty()) {
                    versions.add(block, r.flushEpoch(), location, r.sequence());
                    ci.noteEpoch(ordinal, r.flushEpoch());
                }
            } else if (r.dirty()) {
                ci.put(ordinal, key, location, EntryState.withLost(state, true));
                lostSequences.put(key, r.sequence());
                ci.noteEpoch(ordinal, r.flushEpoch());
            } else {
                if (slot != BlockIndex.NOT_FOUND) {
                    ci.removeAt(ordinal, ci.index.find(key));
                }
                if (!lostCleanNoted) {
                    lostClean.add(r);
                    lostCleanNoted = true;
                }
            }
        }
    }

    private void clean(RecoveredRecord r) {
        int ordinal = ci.ordinalOf(r.volumeId());
        if (ordinal < 0) {
            return;
        }
        DirtyVersions versions = ci.dirtyIfAny(ordinal);
        for (int i = 0; i < r.blockCount(); i++) {
            long block = r.firstBlock() + i;
            long key = BlockIndex.key(ordinal, block);
            int slot = ci.index.find(key);
            if (slot == BlockIndex.NOT_FOUND) {
                continue;
            }
            byte state = ci.index.stateAt(slot);
            if (EntryState.lost(state)) {
                Long lostSequence = lostSequences.get(key);
                if (lostSequence != null && lostSequence <= r.aux()) {
                    // The lost version reached the backing store after all: nothing is lost, nothing cached.
                    lostSequences.remove(key);
                    ci.removeAt(ordinal, slot);
                    if (versions != null) {
                        versions.removeUpTo(block, r.aux(), -1);
                    }
                }
            } else if (BlockState.isDirty(state) && versions != null
                    && versions.removeUpTo(block, r.aux(), ci.index.locationAt(slot))) {
                ci.setStateAt(ordinal, slot, BlockState.withDirty(state, false));
            }
        }
    }

    private void invalidate(RecoveredRecord r) {
        int ordinal = ci.ordinalOf(r.volumeId());
        if (ordinal < 0) {
            return;
        }
        ci.removeRange(ordinal, r.firstBlock(), r.blockCount(), false);
        DirtyVersions versions = ci.dirtyIfAny(ordinal);
        if (versions != null) {
            versions.removeRange(r.firstBlock(), r.blockCount());
        }
        if (!lostSequences.isEmpty()) {
            long end = r.firstBlock() + r.blockCount();
            for (Iterator<Long> it = lostSequences.keySet().iterator(); it.hasNext(); ) {
                long key = it.next();
                long b = BlockIndex.blockOf(key);
                if (BlockIndex.volumeOf(key) == ordinal && b >= r.firstBlock() && b < end) {
                    it.remove();
                }
            }
        }
    }
}
