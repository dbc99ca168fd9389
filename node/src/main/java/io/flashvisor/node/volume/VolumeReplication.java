package io.flashvisor.node.volume;

import io.flashvisor.replication.owner.ReleaseTracker;
import io.flashvisor.replication.owner.ReplicaSet;
import io.flashvisor.replication.transport.PeerClient;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.LongSupplier;

/**
 * What write-back with replicas needs from the cluster for one volume this host owns.
 *
 * @param hostId     this host's id on the peer protocol (the origin of its replicas)
 * @param ownerEpoch the volume's ownership epoch (from its volume record)
 * @param peers      the replica set, connected
 * @param releases   the origin-sequence bookkeeping for releases
 * @param mayAct     this host's lease on the volume is valid: checked before every acknowledgement
 *                   and every destage batch (docs/cluster.md, fencing)
 * @param peerLost   takes peers that failed a write out of the volume's record (replica set) — it must
 *                   succeed before that write is acknowledged, so that a peer with an incomplete copy can
 *                   never take the volume over
 * @param repair     finds a new peer for a lost one (re-replication)
 */
public record VolumeReplication(long hostId, LongSupplier ownerEpoch, ReplicaSet peers, ReleaseTracker releases,
                                BooleanSupplier mayAct, PeerLoss peerLost, PeerRepair repair) {

    /** Takes peers out of the volume's replica set (in the cluster's record). */
    public interface PeerLoss {
        void lost(List<Long> peerIds) throws java.io.IOException;
    }

    /** Adds a peer to the volume's replica set (in the cluster's record). */
    public interface PeerRepair {
        /**
         * Chooses a live host that is not in the replica set, connects, has it release this owner's
         * replicas up to {@code releaseUpTo} (durably: anything it still holds from an earlier stint
         * in the set is obsolete), and adds it to the record's replica set by compare-and-set.
         *
         * @return the connected peer, or null when no host is available
         */
        PeerClient addPeer(long releaseUpTo) throws java.io.IOException;
    }

    /** Without a cluster record to update (tests). */
    public VolumeReplication(long hostId, LongSupplier ownerEpoch, ReplicaSet peers, ReleaseTracker releases,
                             BooleanSupplier mayAct) {
        this(hostId, ownerEpoch, peers, releases, mayAct, ids -> { }, upTo -> null);
    }
}
