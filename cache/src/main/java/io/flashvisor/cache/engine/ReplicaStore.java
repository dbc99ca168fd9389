package io.flashvisor.cache.engine;

import io.flashvisor.cache.log.AppendResult;
import io.flashvisor.cache.log.FlashLayout;
import io.flashvisor.cache.log.Record;
import io.flashvisor.common.VolumeException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The replicas this host keeps for its peers' write-back volumes, in the same flash log as its own
 * cache (records tagged with origin host, volume and ownership epoch; docs/cache.md, Replicas).
 * A replica is durable when its append's future completes — that is when a peer may count this
 * copy. Replicas stay (the cleaner holds their segments) until the origin releases them after
 * destaging; if the origin dies, the host that takes its volume over reads the newest version of
 * every block from here ({@link #versions}, {@link #read}) and destages them.
 *
 * <p>Thread-safe. Obtained from {@link FlashCache#replicas()}.
 */
public final class ReplicaStore {
    private static final int BLOCK = FlashLayout.BLOCK_SIZE;

    private final FlashCache cache;

    ReplicaStore(FlashCache cache) {
        this.cache = cache;
    }

    /**
     * Appends a replica of the origin's write of blocks {@code [firstBlock, +n)} ({@code data}: a
     * positive multiple of 4 KiB, unchanged until the future completes). Completes when durable;
     * an older version (lower origin sequence) never replaces a newer one, and a write at or below
     * what the origin already released is ignored.
     */
    public CompletableFuture<Void> append(long originHost, long volumeId, int ownerEpoch, long flushEpoch, long firstBlock,
                                          ByteBuffer data, long originSequence) {
        int max = cache.log.maxAppendBlocks();
        int blocks = data.remaining() / BLOCK;
        List<CompletableFuture<Void>> parts = new ArrayList<>();
        for (int off = 0; off < blocks; off += max) {
            int n = Math.min(max, blocks - off);
            Record record = Record.replica(originHost, ownerEpoch, volumeId, firstBlock + off,
                    data.slice(data.position() + off * BLOCK, n * BLOCK), flushEpoch, originSequence);
            CompletableFuture<Void> part = new CompletableFuture<>();
            try {
                // Applied on the appender thread before its segment can be sealed and reclaimed (FlashLog.appendThen).
                cache.log.appendThen(cache.replicaStream(), List.of(record), (r, failure) -> {
                    if (failure != null) {
                        part.completeExceptionally(failure);
                        return;
                    }
                    try {
                        applied(record, r);
                        part.complete(null);
                    } catch (RuntimeException e) {
                        part.completeExceptionally(e);
                    }
                });
            } catch (RuntimeException e) {
                part.completeExceptionally(e);
            }
            parts.add(part);
        }
        return parts.size() == 1 ? parts.getFirst() : CompletableFuture.allOf(parts.toArray(CompletableFuture[]::new));
    }

    private void applied(Record record, AppendResult result) {
        CacheIndex ci = cache.ci;
        ci.lock.lock();
        try {
            ci.replicas.data(record.originHost(), record.volumeId(), record.epoch(), record.flushEpoch(), record.firstBlock(),
                    record.blockCount(), (int) result.deviceBlock(0), record.aux());
        } finally {
            ci.lock.unlock();
        }
    }

    /**
     * The origin destaged everything of {@code volumeId} up to {@code upToOriginSequence}: those
     * replicas go. Applied now; the RELEASE record that makes it survive a restart completes the
     * future (until then a restart may bring the released replicas back, which is safe: they are
     * released again, and a takeover would only rewrite data the origin had destaged).
     */
    public CompletableFuture<Void> release(long originHost, long volumeId, long upToOriginSequence) {
        CacheIndex ci = cache.ci;
        ci.lock.lock();
        try {
            ci.replicas.release(originHost, volumeId, upToOriginSequence);
        } finally {
            ci.lock.unlock();
        }
        try {
            return cache.log.appendAsync(cache.markerStream(), List.of(Record.release(originHost, volumeId, upToOriginSequence)))
                    .thenApply(r -> null);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** One live replica version: block, where its data is (for {@link #read}), and the origin's ordering facts. */
    public record Version(long block, int location, long originSequence, long flushEpoch, int ownerEpoch) {
    }

    /** The newest unreleased replica version of every block of one origin's volume, sorted by block. */
    public List<Version> versions(long originHost, long volumeId) {
        CacheIndex ci = cache.ci;
        ci.lock.lock();
        try {
            List<Version> out = new ArrayList<>();
            for (ReplicaIndex.Version v : ci.replicas.versions(originHost, volumeId)) {
                out.add(new Version(v.block(), v.location(), v.originSequence(), v.flushEpoch(), v.ownerEpoch()));
            }
            return out;
        } finally {
            ci.lock.unlock();
        }
    }

    /** The origin hosts that have live replicas of {@code volumeId} here. */
    public List<Long> origins(long volumeId) {
        CacheIndex ci = cache.ci;
        ci.lock.lock();
        try {
            return ci.replicas.origins(volumeId);
        } finally {
            ci.lock.unlock();
        }
    }

    /** Reads one replica block (4 KiB) at {@code location} from {@link #versions}. */
    public void read(int location, ByteBuffer dst) throws VolumeException {
        if (dst.remaining() != BLOCK) {
            throw new IllegalArgumentException("read reads one 4096-byte block, not " + dst.remaining() + " bytes");
        }
        cache.log.read(location, dst);
    }

    /**
     * The highest ownership epoch any replica of {@code volumeId} carried (from any origin), or -1:
     * a replica or release from an older epoch comes from a fenced owner and must be refused.
     */
    public int highestEpoch(long volumeId) {
        CacheIndex ci = cache.ci;
        ci.lock.lock();
        try {
            return ci.replicas.highestEpoch(volumeId);
        } finally {
            ci.lock.unlock();
        }
    }

    /**
     * This host won {@code epoch} of {@code volumeId} (a takeover): from now on replicas and
     * releases of older epochs are refused here too, even from an origin this host never heard
     * from at that epoch. Kept in memory (the cluster's lease is the fence that survives restarts).
     */
    public void noteEpoch(long volumeId, int epoch) {
        CacheIndex ci = cache.ci;
        ci.lock.lock();
        try {
            ci.replicas.noteEpoch(volumeId, epoch);
        } finally {
            ci.lock.unlock();
        }
    }

    /** Live replica blocks of all origins. */
    public long liveBlocks() {
        CacheIndex ci = cache.ci;
        ci.lock.lock();
        try {
            return ci.replicas.liveBlocks();
        } finally {
            ci.lock.unlock();
        }
    }
}
