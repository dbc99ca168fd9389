package io.flashvisor.cluster;

/**
 * The right to act (acknowledge writes, destage) under one coordination session.
 *
 * <p>A lease is bound to the session that was current when it was taken: after that session is
 * lost, the lease never becomes valid again, even when the host reconnects with a new session —
 * the owner must take a new lease and win a new epoch. Within its session a lease is valid while
 * the connection is not in doubt and less than the lease duration has passed (on this host's
 * monotonic clock) since a request that the servers answered was <em>sent</em>; docs/cluster.md
 * explains why that lapses before the servers can expire the session and a successor start.
 *
 * <p>Check it immediately before each acknowledgement and each destage write. Thread-safe and
 * cheap (a volatile read and a clock read).
 */
public interface Lease {
    /** The session this lease belongs to. */
    long sessionId();

    /** True while this host may acknowledge and destage under {@link #sessionId()}. */
    boolean isValid();

    /** Nanoseconds of validity left (0 when invalid): an action that may take longer should not start. */
    long remainingNanos();
}
