package io.flashvisor.cluster;

/**
 * The result of a compare-and-set: whether this caller's update was the one stored, and the
 * record as it now stands ({@code null} if the volume no longer exists). A lost race is a normal
 * outcome, not an exception: the loser re-reads {@link #current()} and decides again.
 */
public record CasOutcome(boolean won, VolumeRecord current) {
    public static CasOutcome won(VolumeRecord stored) {
        return new CasOutcome(true, stored);
    }

    public static CasOutcome lost(VolumeRecord current) {
        return new CasOutcome(false, current);
    }
}
