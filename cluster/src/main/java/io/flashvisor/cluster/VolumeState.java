package io.flashvisor.cluster;

/**
 * Where a volume stands in the write-back protocol (docs/cluster.md, "Volume states").
 *
 * <ul>
 *   <li>{@link #CLEAN} — the backing store holds every acknowledged write; no host needs to
 *       destage anything and no replicas are held. Any host may claim it and serve at once.</li>
 *   <li>{@link #ACTIVE} — the owner serves the volume; its dirty data is on its own flash and on
 *       every host of the replica set ({@code replicaSet.size() == replicas}).</li>
 *   <li>{@link #DEGRADED} — the owner serves, but fewer than {@code replicas} peers hold its dirty
 *       data (a peer was lost): it re-replicates or has fallen back to write-through, per policy.</li>
 *   <li>{@link #TAKEOVER} — the previous owner failed; {@code owner} is the replica holder that won
 *       the new epoch and destages what it holds (newest version per block); {@code replicaSet}
 *       lists the other hosts still holding the failed owner's writes. Ends in CLEAN (or ACTIVE
 *       when the new owner also serves the VM).</li>
 * </ul>
 */
public enum VolumeState {
    CLEAN, ACTIVE, DEGRADED, TAKEOVER;

    /** Every state but CLEAN has a host responsible for dirty data. */
    public boolean needsOwner() {
        return this != CLEAN;
    }
}
