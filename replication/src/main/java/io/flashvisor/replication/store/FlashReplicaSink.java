package io.flashvisor.replication.store;

import io.flashvisor.cache.engine.ReplicaStore;
import io.flashvisor.common.BlockError;
import io.flashvisor.common.Failpoints;
import io.flashvisor.common.VolumeException;
import io.flashvisor.replication.protocol.NackCode;
import io.flashvisor.replication.protocol.Read;
import io.flashvisor.replication.protocol.Release;
import io.flashvisor.replication.protocol.Replicate;
import io.flashvisor.replication.transport.ReplicaException;
import io.flashvisor.replication.transport.ReplicaSink;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The production {@link ReplicaSink}: peers' writes go into this host's flash log
 * ({@link ReplicaStore}), so an ACK means the copy survives a crash of this host.
 *
 * <p>Fencing: a REPLICATE or RELEASE whose ownership epoch is older than the newest this host has
 * seen for the volume (from any origin) comes from an owner that lost the volume, and is refused
 * with {@code STALE_EPOCH} — that is the fence for acknowledgements that does not depend on
 * timing (docs/cluster.md). RELEASE by block range is accepted but frees nothing (the store only
 * releases by origin sequence; keeping data longer is always safe). READ answers from replicas
 * of the volume (any origin, newest version per block); blocks held only in the old owner's own
 * cache are a later step (migration).
 *
 * <p>Negative control: with the failpoint {@value Failpoints#REPLICA_ACK_BEFORE_DURABLE} on
 * ({@code -Dflashvisor.failpoints=replica-ack-before-durable}) this sink acknowledges a REPLICATE
 * at once and stores nothing — a planted bug that the multi-host integration test must catch.
 */
public final class FlashReplicaSink implements ReplicaSink {
    private static final Logger LOG = LoggerFactory.getLogger(FlashReplicaSink.class);
    private static final int BLOCK = 4096;

    private final ReplicaStore store;
    /** The planted bug {@link Failpoints#REPLICA_ACK_BEFORE_DURABLE}: off in every normal run. */
    private final boolean ackBeforeDurable;

    public FlashReplicaSink(ReplicaStore store) {
        this(store, Failpoints.active(Failpoints.REPLICA_ACK_BEFORE_DURABLE));
    }

    /** @param ackBeforeDurable plant the bug {@link Failpoints#REPLICA_ACK_BEFORE_DURABLE} (tests only) */
    FlashReplicaSink(ReplicaStore store, boolean ackBeforeDurable) {
        this.store = store;
        this.ackBeforeDurable = ackBeforeDurable;
        if (ackBeforeDurable) {
            LOG.error("PLANTED BUG {}: replicas are acknowledged and NOT stored; for negative-control tests only",
                    Failpoints.REPLICA_ACK_BEFORE_DURABLE);
        }
    }

    @Override
    public CompletableFuture<Void> replicate(long peer, Replicate m) {
        CompletableFuture<Void> refused = checkEpoch(m.volumeId(), m.ownershipEpoch());
        if (refused != null) {
            return refused;
        }
        if (ackBeforeDurable) {
            // PLANTED BUG (failpoint replica-ack-before-durable, negative control only): the ACK promises the owner a
            // durable copy that does not exist. The owner then acknowledges the VM's write with one real copy only, and
            // a takeover after the owner's death has nothing to destage: acknowledged writes are lost (I1).
            return CompletableFuture.completedFuture(null);
        }
        // The message's data is a view of the network buffer: the store may keep it until durable, so copy.
        ByteBuffer copy = ByteBuffer.allocate(m.blockCount() * BLOCK).put(m.data()).flip();
        CompletableFuture<Void> appended;
        try {
            appended = store.append(m.originHost(), m.volumeId(), (int) m.ownershipEpoch(), m.flushEpoch(), m.firstBlock(),
                    copy, m.originSequence());
        } catch (RuntimeException e) {
            appended = CompletableFuture.failedFuture(e);
        }
        return appended.exceptionallyCompose(FlashReplicaSink::nack);
    }

    @Override
    public CompletableFuture<Void> release(long peer, Release m) {
        CompletableFuture<Void> refused = checkEpoch(m.volumeId(), m.epoch());
        if (refused != null) {
            return refused;
        }
        if (!m.ranges().isEmpty()) {
            LOG.debug("release by block range from peer {} ignored (only releases by sequence free replicas): {}", peer, m);
        }
        if (m.upToSequence() == 0) {
            return CompletableFuture.completedFuture(null);
        }
        return store.release(m.originHost(), m.volumeId(), m.upToSequence()).exceptionallyCompose(FlashReplicaSink::nack);
    }

    @Override
    public CompletableFuture<ByteBuffer> read(long peer, Read m) {
        ByteBuffer out = ByteBuffer.allocate(m.blockCount() * BLOCK);
        long end = m.firstBlock() + m.blockCount();
        // Newest version per block over every origin of this volume.
        ReplicaStore.Version[] newest = new ReplicaStore.Version[m.blockCount()];
        for (long origin : store.origins(m.volumeId())) {
            for (ReplicaStore.Version v : store.versions(origin, m.volumeId())) {
                if (v.block() >= m.firstBlock() && v.block() < end) {
                    int i = (int) (v.block() - m.firstBlock());
                    if (newest[i] == null || v.ownerEpoch() > newest[i].ownerEpoch()
                            || v.ownerEpoch() == newest[i].ownerEpoch() && v.originSequence() > newest[i].originSequence()) {
                        newest[i] = v;
                    }
                }
            }
        }
        try {
            for (int i = 0; i < newest.length; i++) {
                if (newest[i] == null) {
                    return CompletableFuture.failedFuture(new ReplicaException(NackCode.NOT_FOUND,
                            "block " + (m.firstBlock() + i) + " of volume " + m.volumeId() + " is not held here"));
                }
                store.read(newest[i].location(), out.slice(i * BLOCK, BLOCK));
            }
        } catch (VolumeException e) {
            return CompletableFuture.failedFuture(new ReplicaException(NackCode.IO, e.getMessage()));
        }
        return CompletableFuture.completedFuture(out);
    }

    private CompletableFuture<Void> checkEpoch(long volumeId, long epoch) {
        if (epoch < 0 || epoch > Integer.MAX_VALUE) {
            return CompletableFuture.failedFuture(new ReplicaException(NackCode.BAD_REQUEST, "ownership epoch " + epoch + " is out of range"));
        }
        int seen = store.highestEpoch(volumeId);
        if (epoch < seen) {
            return CompletableFuture.failedFuture(new ReplicaException(NackCode.STALE_EPOCH, "ownership epoch " + epoch
                    + " of volume " + Long.toHexString(volumeId) + " is older than " + seen + ", seen here: that owner is fenced"));
        }
        return null;
    }

    private static <T> CompletableFuture<T> nack(Throwable failure) {
        Throwable t = failure instanceof CompletionException && failure.getCause() != null ? failure.getCause() : failure;
        NackCode code = t instanceof VolumeException v && v.error() == BlockError.NO_SPACE ? NackCode.NO_SPACE
                : t instanceof VolumeException v2 && v2.error() == BlockError.SHUTDOWN ? NackCode.SHUTTING_DOWN : NackCode.IO;
        return CompletableFuture.failedFuture(new ReplicaException(code, String.valueOf(t.getMessage())));
    }
}
