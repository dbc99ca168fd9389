package io.flashvisor.node.volume;

import io.flashvisor.replication.owner.ReleaseTracker;
import io.flashvisor.replication.owner.ReplicaSet;
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
 */
public record VolumeReplication(long hostId, LongSupplier ownerEpoch, ReplicaSet peers, ReleaseTracker releases,
                                BooleanSupplier mayAct) {
}
