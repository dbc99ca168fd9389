package io.flashvisor.cluster;

import java.util.Collection;

/**
 * The rules every volume-record update and ownership claim obeys, shared by both implementations
 * so the in-memory cluster accepts exactly what ZooKeeper would. Pure functions.
 *
 * <p>Why these rules: the epoch is the fence. It must grow by exactly one whenever the owning
 * (host, session) pair changes, and never otherwise — so that "epoch e" names one owner
 * incarnation, and a peer or destager that has seen epoch e can refuse anything older.
 */
public final class RecordRules {
    private RecordRules() {
    }

    /** Throws {@link ClusterException.Reason#INVALID_UPDATE} unless {@code next} may follow {@code current}. */
    public static void checkUpdate(VolumeRecord current, VolumeRecord next) {
        if (!current.name().equals(next.name())) {
            throw invalid(current, "the name cannot change (to " + next.name() + ")");
        }
        boolean ownerChanged = !java.util.Objects.equals(current.owner(), next.owner())
                || current.ownerSession() != next.ownerSession();
        long expectedEpoch = ownerChanged ? current.epoch() + 1 : current.epoch();
        if (next.epoch() != expectedEpoch) {
            throw invalid(current, (ownerChanged ? "an ownership change must move the epoch from " : "the epoch must stay at ")
                    + current.epoch() + (ownerChanged ? " to " + expectedEpoch : "") + ", not " + next.epoch());
        }
        if (next.owner() != null && next.ownerSession() == 0) {
            throw invalid(current, "an owner must name the session of its claim");
        }
    }

    /**
     * May {@code host}, holding {@code session}, claim the volume now? Yes when nobody owns it, when
     * its previous incarnation owns it, or when the owner's claiming session is no longer live
     * (takeover). No when a live session owns it — then only a planned hand-over (migration, by a
     * compare-and-set the owner agrees to) moves it. When the caller already owns it in this
     * session, there is nothing to claim.
     *
     * <p>{@code live} must be read <em>after</em> {@code current}: ZooKeeper never shows a client an
     * older state than one it has seen, and the owner registered before it claimed, so a live owner
     * cannot look dead.
     */
    public static boolean mayClaim(VolumeRecord current, String host, long session, Collection<Member> live) {
        if (!current.hasOwner()) {
            return true;
        }
        if (current.owner().equals(host)) {
            return current.ownerSession() != session;
        }
        return live.stream().noneMatch(m -> m.hostId().equals(current.owner()) && m.sessionId() == current.ownerSession());
    }

    /** Is the owner of {@code record} alive in the session that claimed it? */
    public static boolean ownerLive(VolumeRecord record, Collection<Member> live) {
        return record.hasOwner()
                && live.stream().anyMatch(m -> m.hostId().equals(record.owner()) && m.sessionId() == record.ownerSession());
    }

    private static ClusterException invalid(VolumeRecord current, String why) {
        return new ClusterException(ClusterException.Reason.INVALID_UPDATE,
                "volume " + current.name() + " (epoch " + current.epoch() + ", version " + current.version() + "): " + why);
    }
}
