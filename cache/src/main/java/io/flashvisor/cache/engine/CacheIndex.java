package io.flashvisor.cache.engine;

import io.flashvisor.cache.index.BlockIndex;
import io.flashvisor.cache.policy.BlockState;
import io.flashvisor.cache.policy.EvictionPolicy;
import io.flashvisor.cache.policy.Queue;
import io.flashvisor.common.BlockError;
import io.flashvisor.common.VolumeException;
import java.util.Arrays;
import java.util.HashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The engine's in-memory state of one flash device, all behind one lock: the {@link BlockIndex}
 * (key = volume ordinal, block → device location, state byte), the eviction policy, every volume's
 * {@link DirtyVersions}, the volume table (volume id ↔ 16-bit ordinal), per-volume counters, and
 * the cleaner's {@link InFlightMoves}.
 *
 * <p>Design notes — why one lock. Every operation under it is a few hash probes (a lookup, the
 * index update of a completed append, one block of a cleaner round's plan); nothing under it
 * does I/O or waits, so it is held for well under a microsecond per block. The index and the
 * policy are single-threaded structures, and the cross-structure invariants (a dirty entry has a
 * tracked version at its location; the cleaner's liveness check and its eviction are atomic with
 * respect to lookups) are simplest to keep under one lock. If it ever shows up in profiles, the
 * index can be striped by key hash, one lock and one {@code BlockIndex} per stripe, with the
 * policy's ghost behind its own lock.
 *
 * <p>Volume ordinals are assigned as volume ids are first seen: by recovery, in sequence order,
 * and by {@code attach}. They are not persistent (the log stores volume ids), so an ordinal only
 * means something for the life of one open {@link FlashCache}.
 *
 * <p>Not thread-safe by itself: every method requires {@link #lock}.
 */
final class CacheIndex {
    final ReentrantLock lock = new ReentrantLock();
    final BlockIndex index;
    final EvictionPolicy policy;
    final int streams;
    final InFlightMoves moves = new InFlightMoves();
    /** Sequence of a re-appended INVALIDATE or RELEASE → the sequence of the original one (which bounds what it must neutralise). */
    final HashMap<Long, Long> invalidateOrigins = new HashMap<>();
    /** Peers' replicas kept on this device. */
    final ReplicaIndex replicas = new ReplicaIndex();

    private final HashMap<Long, Integer> ordinals = new HashMap<>();
    private long[] ids = new long[8];
    private DirtyVersions[] dirty = new DirtyVersions[8];
    private long[] cached = new long[8];
    private long[] lost = new long[8];
    private long[] highestEpoch = new long[8];
    private boolean[] hasEpoch = new boolean[8];
    private int volumes;

    CacheIndex(BlockIndex index, EvictionPolicy policy, int streams) {
        this.index = index;
        this.policy = policy;
        this.streams = streams;
    }

    // ---- volumes ----

    int ordinalOf(long volumeId) {
        Integer o = ordinals.get(volumeId);
        return o == null ? -1 : o;
    }

    int ordinalFor(long volumeId) throws VolumeException {
        Integer o = ordinals.get(volumeId);
        if (o != null) {
            return o;
        }
        if (volumes >= BlockIndex.MAX_VOLUMES) {
            throw new VolumeException(BlockError.INVALID, "the flash cache holds blocks of " + volumes
                    + " volumes, the most one device can index");
        }
        int ordinal = volumes++;
        if (ordinal == ids.length) {
            int n = ids.length * 2;
            ids = Arrays.copyOf(ids, n);
            dirty = Arrays.copyOf(dirty, n);
            cached = Arrays.copyOf(cached, n);
            lost = Arrays.copyOf(lost, n);
            highestEpoch = Arrays.copyOf(highestEpoch, n);
            hasEpoch = Arrays.copyOf(hasEpoch, n);
        }
        ids[ordinal] = volumeId;
        ordinals.put(volumeId, ordinal);
        return ordinal;
    }

    int volumeCount() {
        return volumes;
    }

    long volumeId(int ordinal) {
        return ids[ordinal];
    }

    DirtyVersions dirty(int ordinal) {
        DirtyVersions d = dirty[ordinal];
        if (d == null) {
            d = new DirtyVersions();
            dirty[ordinal] = d;
        }
        return d;
    }

    /** The volume's dirty versions, or null if it never had any. */
    DirtyVersions dirtyIfAny(int ordinal) {
        return dirty[ordinal];
    }

    long cachedBlocks(int ordinal) {
        return cached[ordinal];
    }

    long lostBlocks(int ordinal) {
        return lost[ordinal];
    }

    /** Notes a dirty write's flush epoch (unsigned). */
    void noteEpoch(int ordinal, long epoch) {
        if (!hasEpoch[ordinal] || Long.compareUnsigned(epoch, highestEpoch[ordinal]) > 0) {
            highestEpoch[ordinal] = epoch;
            hasEpoch[ordinal] = true;
        }
    }

    /** The highest flush epoch of a dirty write of the volume seen so far, or {@link DirtyVersions#NO_EPOCH}. */
    long highestEpoch(int ordinal) {
        return hasEpoch[ordinal] ? highestEpoch[ordinal] : DirtyVersions.NO_EPOCH;
    }

    // ---- index entries, with the per-volume counters ----

    void put(int ordinal, long key, int location, byte state) {
        int slot = index.find(key);
        if (slot == BlockIndex.NOT_FOUND) {
            index.put(key, location, state);
            count(ordinal, state, 1);
        } else {
            count(ordinal, index.stateAt(slot), -1);
            index.setLocationAt(slot, location);
            index.setStateAt(slot, state);
            count(ordinal, state, 1);
        }
    }

    void setStateAt(int ordinal, int slot, byte state) {
        count(ordinal, index.stateAt(slot), -1);
        index.setStateAt(slot, state);
        count(ordinal, state, 1);
    }

    void removeAt(int ordinal, int slot) {
        count(ordinal, index.stateAt(slot), -1);
        index.removeAt(slot);
    }

    private void count(int ordinal, byte state, int delta) {
        if (EntryState.lost(state)) {
            lost[ordinal] += delta;
        } else {
            cached[ordinal] += delta;
        }
    }

    /** Keys of volume {@code ordinal} present in the index for blocks {@code [first, end)}. */
    LongList keysIn(int ordinal, long first, long end) {
        LongList keys = new LongList();
        if (end - first <= Math.max(4096, index.size() / 8)) {
            for (long b = first; b < end; b++) {
                long key = BlockIndex.key(ordinal, b);
                if (index.find(key) != BlockIndex.NOT_FOUND) {
                    keys.add(key);
                }
            }
        } else {
            // A huge range (a whole-volume trim): one pass over the table beats probing every block.
            index.forEach((key, location, state) -> {
                long b = BlockIndex.blockOf(key);
                if (BlockIndex.volumeOf(key) == ordinal && b >= first && b < end) {
                    keys.add(key);
                }
            });
        }
        return keys;
    }

    /** Removes the entries of blocks {@code [first, first + count)}; {@code forget} tells the policy. Returns how many. */
    int removeRange(int ordinal, long first, long count, boolean forget) {
        LongList keys = keysIn(ordinal, first, first + count);
        for (int i = 0; i < keys.size(); i++) {
            long key = keys.get(i);
            removeAt(ordinal, index.find(key));
            if (forget) {
                policy.forgotten(key);
            }
        }
        return keys.size();
    }

    // ---- queues and streams ----

    /** The append stream that holds a policy queue (with one stream, both queues share it). */
    int streamOf(Queue queue) {
        return Math.min(queue.ordinal(), streams - 1);
    }

    int streamOfState(byte state) {
        return streamOf(BlockState.queue(state));
    }

    /** The policy queue of records found in {@code stream}: 0 is SMALL; the others (also unconfigured ones) MAIN. */
    static Queue queueOfStream(int stream) {
        return stream == 0 ? Queue.SMALL : Queue.MAIN;
    }

    long dirtyBytesOfRam() {
        long bytes = 0;
        for (int i = 0; i < volumes; i++) {
            if (dirty[i] != null) {
                bytes += dirty[i].bytesOfRam();
            }
        }
        return bytes;
    }
}
