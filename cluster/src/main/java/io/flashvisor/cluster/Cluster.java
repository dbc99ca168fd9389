package io.flashvisor.cluster;

import java.util.List;
import java.util.Optional;

/**
 * One host's connection to the cluster's coordination service: membership, volume records,
 * ownership, and the lease that fences a host whose session is in doubt.
 *
 * <p>Reads see a consistent, possibly slightly old state that never goes backwards for this
 * client. Writes to volume records are {@link #compareAndSet compare-and-set} on the record's
 * version: that is the only way owner, epoch and replica set change. Operations throw {@link
 * ClusterException} ({@code UNAVAILABLE} while disconnected). Implementations are thread-safe.
 */
public interface Cluster extends AutoCloseable {
    /** The host this client acts for. */
    String hostId();

    /**
     * Announces this host: creates its ephemeral membership record, which disappears when the
     * session ends, and is re-created automatically when the client gets a new session. Waits
     * while a previous incarnation's session still holds the record (at most one session timeout),
     * then fails with {@code HOST_ID_TAKEN}. On return this host holds a valid {@link #lease()}.
     */
    void register(HostInfo self);

    /** Replaces this host's announcement (e.g. free flash changed). */
    void updateHost(HostInfo self);

    /** Live hosts, sorted by host id. */
    List<Member> hosts();

    /** Stores a new record ({@code initial.version()} is ignored); {@code ALREADY_EXISTS} if the name is taken. */
    VolumeRecord createVolume(VolumeRecord initial);

    Optional<VolumeRecord> volume(String name);

    /** All volume records, sorted by name. */
    List<VolumeRecord> volumes();

    /**
     * Stores {@code next} if the record is still at {@code expected.version()}. {@code next} must
     * obey {@link RecordRules#checkUpdate} against {@code expected} ({@code INVALID_UPDATE}
     * otherwise). Losing the race returns the current record; it is not an error.
     */
    CasOutcome compareAndSet(VolumeRecord expected, VolumeRecord next);

    /** Deletes the record if still at {@code expected.version()}; false if it changed or is gone. */
    boolean deleteVolume(VolumeRecord expected);

    /** The current state of this client's session. */
    SessionState sessionState();

    /** The lease of the current session (see {@link Lease}); hold on to it while acting as owner. */
    Lease lease();

    /** Shorthand: may this host act (acknowledge, destage) right now under its current session? */
    default boolean mayAct() {
        return lease().isValid();
    }

    /** Adds a listener; closing the returned handle removes it. */
    AutoCloseable addListener(ClusterListener listener);

    /**
     * Makes this host the owner of {@code name} in a new epoch, if {@link RecordRules#mayClaim}
     * allows: the volume is unowned, owned by this host's previous incarnation, or its owner's
     * session is gone (takeover). Returns the lost outcome (with the current record) when a live
     * owner holds it or another claimant won the race; returns a won outcome without writing if
     * this session already owns it. Requires a valid lease and a registered host.
     */
    default CasOutcome claimOwnership(String name, VolumeState state, List<String> replicaSet) {
        requireLease(name);
        return claimOwnership(volume(name).orElseThrow(() ->
                new ClusterException(ClusterException.Reason.NO_SUCH_VOLUME, "no volume named " + name)), state, replicaSet);
    }

    /**
     * {@link #claimOwnership(String, VolumeState, List)} against the record as the caller saw it: lost
     * (with the current record) if it has changed since — the caller decided on that record.
     */
    default CasOutcome claimOwnership(VolumeRecord current, VolumeState state, List<String> replicaSet) {
        String name = current.name();
        Lease lease = requireLease(name);
        List<Member> live = hosts(); // after the record: see RecordRules.mayClaim
        if (live.stream().noneMatch(m -> m.hostId().equals(hostId()) && m.sessionId() == lease.sessionId())) {
            throw new ClusterException(ClusterException.Reason.NOT_ACTING,
                    "host " + hostId() + " cannot claim volume " + name + ": it is not registered in its current session");
        }
        if (hostId().equals(current.owner()) && current.ownerSession() == lease.sessionId()) {
            return CasOutcome.won(current);
        }
        if (!RecordRules.mayClaim(current, hostId(), lease.sessionId(), live)) {
            return CasOutcome.lost(current);
        }
        return compareAndSet(current, current.claimedBy(hostId(), lease.sessionId(), state, replicaSet));
    }

    private Lease requireLease(String volume) {
        Lease lease = lease();
        if (!lease.isValid()) {
            throw new ClusterException(ClusterException.Reason.NOT_ACTING,
                    "host " + hostId() + " cannot claim volume " + volume + ": its session is in doubt or its lease lapsed");
        }
        return lease;
    }

    /** Takeover after the owner failed: claim in state {@link VolumeState#TAKEOVER} with the other holders. */
    default CasOutcome takeOver(String name, List<String> otherHolders) {
        return claimOwnership(name, VolumeState.TAKEOVER, otherHolders);
    }

    /** A snapshot of hosts and volumes for status commands. */
    default ClusterView view() {
        List<VolumeRecord> vols = volumes();
        return new ClusterView(hosts(), vols);
    }

    /** Ends the session (its ephemeral records vanish at once) and stops callbacks. Idempotent. */
    @Override
    void close();
}
