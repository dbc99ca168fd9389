package io.flashvisor.cluster;

import java.util.List;
import java.util.Objects;

/**
 * The cluster-wide record of one volume. Ownership, epoch and replica set change only by
 * {@link Cluster#compareAndSet compare-and-set} against {@link #version()}.
 *
 * @param name         volume name (a path element)
 * @param policy       {@code pass-through}, {@code write-through}, {@code write-back}, {@code write-around}
 * @param replicas     peers that must hold each dirty write before it is acknowledged (0, 1 or 2)
 * @param owner        host that serves and destages the volume; {@code null} when none
 * @param ownerSession coordination session under which {@code owner} claimed it (0 when none):
 *                     the claim is void once that session is gone
 * @param epoch        grows by exactly one at every change of (owner, ownerSession); fences
 *                     stale owners — peers and destagers reject older epochs
 * @param replicaSet   peers holding the owner's dirty writes (never contains the owner)
 * @param state        see {@link VolumeState}
 * @param version      the store's version of this record (ZooKeeper's stat version); -1 if the
 *                     record has not been stored. Not part of the stored data.
 * @param backing      the backing store every host reaches the volume's data at (a shared SAN path
 *                     or NBD URI), so that a replica holder can destage a dead owner's writes; null
 *                     when unknown
 */
public record VolumeRecord(String name, String policy, int replicas, String owner, long ownerSession, long epoch,
                           List<String> replicaSet, VolumeState state, long version, String backing) {
    public static final long NOT_STORED = -1;

    public VolumeRecord {
        HostInfo.requireName("volume name", name);
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(state, "state");
        replicaSet = List.copyOf(replicaSet);
        if (replicas < 0 || replicas > 2) {
            throw new IllegalArgumentException("volume " + name + ": replicas must be 0, 1 or 2, not " + replicas);
        }
        if (epoch < 0) {
            throw new IllegalArgumentException("volume " + name + ": negative epoch " + epoch);
        }
        if (owner == null && ownerSession != 0) {
            throw new IllegalArgumentException("volume " + name + ": owner session without an owner");
        }
        if (state.needsOwner() && owner == null) {
            throw new IllegalArgumentException("volume " + name + ": state " + state + " needs an owner");
        }
        if (replicaSet.size() > replicas) {
            throw new IllegalArgumentException("volume " + name + ": replica set " + replicaSet + " exceeds replicas=" + replicas);
        }
        if (replicaSet.stream().distinct().count() != replicaSet.size() || (owner != null && replicaSet.contains(owner))) {
            throw new IllegalArgumentException("volume " + name + ": replica set " + replicaSet
                    + " must name distinct hosts other than the owner " + owner);
        }
    }

    /** A record without a known backing store. */
    public VolumeRecord(String name, String policy, int replicas, String owner, long ownerSession, long epoch,
                        List<String> replicaSet, VolumeState state, long version) {
        this(name, policy, replicas, owner, ownerSession, epoch, replicaSet, state, version, null);
    }

    /** The same record, naming its backing store. */
    public VolumeRecord withBacking(String uri) {
        return new VolumeRecord(name, policy, replicas, owner, ownerSession, epoch, replicaSet, state, version, uri);
    }

    /** A new, unowned, clean volume at epoch 0, ready for {@link Cluster#createVolume}. */
    public static VolumeRecord create(String name, String policy, int replicas) {
        return new VolumeRecord(name, policy, replicas, null, 0, 0, List.of(), VolumeState.CLEAN, NOT_STORED);
    }

    public boolean hasOwner() {
        return owner != null;
    }

    /** The next record after {@code host} (in {@code session}) claimed it: the epoch grows by one. */
    public VolumeRecord claimedBy(String host, long session, VolumeState newState, List<String> newReplicaSet) {
        return new VolumeRecord(name, policy, replicas, host, session, epoch + 1, newReplicaSet, newState, version, backing);
    }

    /** Same owner and epoch, new state and replica set (the owner reports degradation, repair, clean). */
    public VolumeRecord withState(VolumeState newState, List<String> newReplicaSet) {
        return new VolumeRecord(name, policy, replicas, owner, ownerSession, epoch, newReplicaSet, newState, version, backing);
    }

    /** Gives up ownership (e.g. after the VM stopped and the volume is clean): the epoch grows by one. */
    public VolumeRecord released() {
        return new VolumeRecord(name, policy, replicas, null, 0, epoch + 1, List.of(), VolumeState.CLEAN, version, backing);
    }

    public VolumeRecord withVersion(long newVersion) {
        return new VolumeRecord(name, policy, replicas, owner, ownerSession, epoch, replicaSet, state, newVersion, backing);
    }

    /** True when both records say the same thing, whatever their versions. */
    public boolean sameContent(VolumeRecord other) {
        return other != null && withVersion(NOT_STORED).equals(other.withVersion(NOT_STORED));
    }
}
