package io.flashvisor.replication.transport;

import io.flashvisor.replication.protocol.BlockRange;
import io.flashvisor.replication.protocol.FrameFormat;
import io.flashvisor.replication.protocol.NackCode;
import io.flashvisor.replication.protocol.Read;
import io.flashvisor.replication.protocol.Release;
import io.flashvisor.replication.protocol.Replicate;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;

/**
 * A {@link ReplicaSink} that keeps replicas in memory, for tests and the single-process demo. It
 * follows the replica rules the flash-log store will: per (origin, volume) it remembers the highest
 * ownership epoch seen and refuses older ones ({@code STALE_EPOCH}); per block it keeps the copy
 * with the highest origin sequence; RELEASE drops blocks by sequence and by range. Thread-safe
 * (one lock); everything completes at once.
 */
public class InMemoryReplicaSink implements ReplicaSink {
    private record Key(long origin, long volume) {
    }

    private record Block(long sequence, long epoch, byte[] data) {
    }

    private static final class VolumeReplica {
        long epoch;
        final TreeMap<Long, Block> blocks = new TreeMap<>();
    }

    private final Map<Key, VolumeReplica> volumes = new HashMap<>();
    private long replicated;

    @Override
    public synchronized CompletableFuture<Void> replicate(long peer, Replicate m) {
        VolumeReplica v = volumes.computeIfAbsent(new Key(m.originHost(), m.volumeId()), k -> new VolumeReplica());
        if (m.ownershipEpoch() < v.epoch) {
            return CompletableFuture.failedFuture(new ReplicaException(NackCode.STALE_EPOCH, "epoch " + m.ownershipEpoch()
                    + " is older than " + v.epoch + " for volume " + m.volumeId()));
        }
        v.epoch = m.ownershipEpoch();
        ByteBuffer data = m.data();
        for (int i = 0; i < m.blockCount(); i++) {
            byte[] b = new byte[FrameFormat.BLOCK_SIZE];
            data.get(b);
            long block = m.firstBlock() + i;
            Block old = v.blocks.get(block);
            if (old == null || old.sequence <= m.originSequence()) {
                v.blocks.put(block, new Block(m.originSequence(), m.ownershipEpoch(), b));
            }
        }
        replicated++;
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public synchronized CompletableFuture<Void> release(long peer, Release m) {
        VolumeReplica v = volumes.get(new Key(m.originHost(), m.volumeId()));
        if (v == null) {
            return CompletableFuture.completedFuture(null);
        }
        if (m.epoch() < v.epoch) {
            return CompletableFuture.failedFuture(new ReplicaException(NackCode.STALE_EPOCH, "epoch " + m.epoch()
                    + " is older than " + v.epoch + " for volume " + m.volumeId()));
        }
        v.blocks.values().removeIf(b -> b.sequence <= m.upToSequence());
        for (BlockRange r : m.ranges()) {
            v.blocks.subMap(r.firstBlock(), r.endBlock()).clear();
        }
        return CompletableFuture.completedFuture(null);
    }

    /** Serves a block from whichever origin holds it with the highest epoch, then sequence. */
    @Override
    public synchronized CompletableFuture<ByteBuffer> read(long peer, Read m) {
        ByteBuffer out = ByteBuffer.allocate((int) m.byteLength());
        for (int i = 0; i < m.blockCount(); i++) {
            Block best = null;
            for (Map.Entry<Key, VolumeReplica> e : volumes.entrySet()) {
                if (e.getKey().volume == m.volumeId()) {
                    Block b = e.getValue().blocks.get(m.firstBlock() + i);
                    if (b != null && (best == null || b.epoch > best.epoch || (b.epoch == best.epoch && b.sequence > best.sequence))) {
                        best = b;
                    }
                }
            }
            if (best == null) {
                return CompletableFuture.failedFuture(new ReplicaException(NackCode.NOT_FOUND, "block " + (m.firstBlock() + i)
                        + " of volume " + m.volumeId() + " is not held here"));
            }
            out.put(best.data);
        }
        return CompletableFuture.completedFuture(out.flip());
    }

    /** The data held for a block of an origin's volume, or null. */
    public synchronized byte[] block(long origin, long volume, long block) {
        VolumeReplica v = volumes.get(new Key(origin, volume));
        Block b = v == null ? null : v.blocks.get(block);
        return b == null ? null : b.data.clone();
    }

    /** Blocks held, over all origins and volumes. */
    public synchronized long blockCount() {
        return volumes.values().stream().mapToLong(v -> v.blocks.size()).sum();
    }

    /** REPLICATE messages accepted so far. */
    public synchronized long replicateCount() {
        return replicated;
    }
}
