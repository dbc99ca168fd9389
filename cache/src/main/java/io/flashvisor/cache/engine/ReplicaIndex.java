package io.flashvisor.cache.engine;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Peers' replicas on this device: per (origin host, volume), the newest replica version of each
 * block that the origin has not released yet. Built by recovery from replica DATA and RELEASE
 * records, kept up to date by replica appends and releases, consulted by the cleaner (a segment
 * with a live replica is held, not reclaimed) and read by a takeover destage.
 *
 * <p>Rules, the same at run time and in recovery (so a restart rebuilds exactly this state):
 * versions of a block are ordered by the origin's sequence, not by arrival; a release is a
 * threshold — everything of that origin and volume with an origin sequence at most its bound goes,
 * and a replica arriving later at or below the bound is ignored.
 *
 * <p>RAM: one map entry per replicated block (tens of bytes). Replicas live only until the origin
 * destages, so this is bounded by the peers' dirty data, not by the cache size.
 *
 * <p>Guarded by the engine lock.
 */
final class ReplicaIndex {
    /** One replica version of a block: where its data is here, and the origin's ordering facts. */
    record Version(long block, int location, long originSequence, long flushEpoch, int ownerEpoch) {
    }

    private record Key(long origin, long volumeId) {
    }

    private static final class Replicas {
        final Map<Long, Version> blocks = new HashMap<>();
        long releasedUpTo = -1;
    }

    private final Map<Key, Replicas> volumes = new HashMap<>();
    /** Volume id → the highest ownership epoch any of its replicas carried: older owners are stale. */
    private final Map<Long, Integer> epochs = new HashMap<>();
    private final Set<Integer> liveLocations = new HashSet<>();

    /** A durable replica DATA record; returns the number of its blocks that became the newest version. */
    int data(long origin, long volumeId, int ownerEpoch, long flushEpoch, long firstBlock, int count, int firstLocation,
             long originSequence) {
        Replicas r = volumes.computeIfAbsent(new Key(origin, volumeId), k -> new Replicas());
        epochs.merge(volumeId, ownerEpoch, Math::max);
        if (originSequence <= r.releasedUpTo) {
            return 0;
        }
        int applied = 0;
        for (int i = 0; i < count; i++) {
            long block = firstBlock + i;
            Version old = r.blocks.get(block);
            if (old != null && old.originSequence() >= originSequence) {
                continue;
            }
            if (old != null) {
                liveLocations.remove(old.location());
            }
            r.blocks.put(block, new Version(block, firstLocation + i, originSequence, flushEpoch, ownerEpoch));
            liveLocations.add(firstLocation + i);
            applied++;
        }
        return applied;
    }

    /** A RELEASE: drops every version of that origin and volume with origin sequence ≤ {@code upTo}. */
    void release(long origin, long volumeId, long upTo) {
        Replicas r = volumes.computeIfAbsent(new Key(origin, volumeId), k -> new Replicas());
        r.releasedUpTo = Math.max(r.releasedUpTo, upTo);
        r.blocks.values().removeIf(v -> {
            if (v.originSequence() <= upTo) {
                liveLocations.remove(v.location());
                return true;
            }
            return false;
        });
    }

    /** Raises the highest ownership epoch known for {@code volumeId} (a takeover here won {@code epoch}). */
    void noteEpoch(long volumeId, int epoch) {
        epochs.merge(volumeId, epoch, Math::max);
    }

    /** The highest ownership epoch seen in replicas of {@code volumeId}, or -1. */
    int highestEpoch(long volumeId) {
        return epochs.getOrDefault(volumeId, -1);
    }

    /** Whether any of {@code [firstLocation, +count)} holds a live replica version. */
    boolean anyLive(int firstLocation, int count) {
        for (int i = 0; i < count; i++) {
            if (liveLocations.contains(firstLocation + i)) {
                return true;
            }
        }
        return false;
    }

    /** The live versions of one origin's volume, sorted by block. */
    List<Version> versions(long origin, long volumeId) {
        Replicas r = volumes.get(new Key(origin, volumeId));
        List<Version> out = r == null ? new ArrayList<>() : new ArrayList<>(r.blocks.values());
        out.sort((a, b) -> Long.compare(a.block(), b.block()));
        return out;
    }

    /** The origins with live replicas of {@code volumeId}. */
    List<Long> origins(long volumeId) {
        List<Long> out = new ArrayList<>();
        volumes.forEach((k, r) -> {
            if (k.volumeId() == volumeId && !r.blocks.isEmpty()) {
                out.add(k.origin());
            }
        });
        return out;
    }

    long liveBlocks() {
        return liveLocations.size();
    }
}
