package io.flashvisor.cluster;

import java.util.function.LongSupplier;

/**
 * Keeps this host's lease: which session is current, whether the connection is in doubt, and
 * until when the last answered request lets the host act. Both implementations feed it: the
 * connection-state listener ({@link #connected}, {@link #suspended}, {@link #lost}) and the lease
 * renewals ({@link #renewed}).
 *
 * <p>Thread-safe: the state is one immutable snapshot behind a volatile field, so the hot-path
 * check ({@link Lease#isValid()}) is a volatile read and a clock read; updates are synchronized.
 */
final class LeaseTracker {
    private record State(long sessionId, boolean connected, long deadlineNanos) {
    }

    private final LongSupplier nanoClock;
    private final long leaseNanos;
    private volatile State state = new State(0, false, 0);

    LeaseTracker(LongSupplier nanoClock, long leaseNanos) {
        this.nanoClock = nanoClock;
        this.leaseNanos = leaseNanos;
    }

    long leaseNanos() {
        return leaseNanos;
    }

    long sessionId() {
        return state.sessionId;
    }

    boolean connected() {
        return state.connected;
    }

    /**
     * Connected (first time or again) under {@code sessionId}. A new session starts with no
     * lease: only a request answered in that session grants one. The same session keeps what it
     * had — the answer that granted it still proves the servers saw the session then.
     */
    synchronized void connected(long sessionId) {
        State s = state;
        state = s.sessionId == sessionId ? new State(sessionId, true, s.deadlineNanos) : new State(sessionId, true, nanoClock.getAsLong());
    }

    /** The connection is in doubt: stop acting now, keep the session id (it may come back). */
    synchronized void suspended() {
        State s = state;
        state = new State(s.sessionId, false, s.deadlineNanos);
    }

    /** The session is gone: every lease of it is void for good. */
    synchronized void lost() {
        State s = state;
        state = new State(s.sessionId, false, nanoClock.getAsLong());
    }

    /**
     * A request sent at {@code sentAtNanos} in {@code sessionId} was answered: the servers saw the
     * session alive after that instant, so they cannot expire it before {@code sentAt + T}.
     */
    void renewed(long sessionId, long sentAtNanos) {
        renewed(sessionId, sentAtNanos, leaseNanos);
    }

    /** As {@link #renewed(long, long)}, with the lease length derived from the negotiated session timeout. */
    synchronized void renewed(long sessionId, long sentAtNanos, long leaseNanos) {
        State s = state;
        if (s.sessionId != sessionId) {
            return;
        }
        long deadline = sentAtNanos + leaseNanos;
        if (deadline - s.deadlineNanos > 0) {
            state = new State(s.sessionId, s.connected, deadline);
        }
    }

    /** A lease bound to the current session. */
    Lease lease() {
        return new SessionLease(state.sessionId);
    }

    private final class SessionLease implements Lease {
        private final long sessionId;

        SessionLease(long sessionId) {
            this.sessionId = sessionId;
        }

        @Override
        public long sessionId() {
            return sessionId;
        }

        @Override
        public boolean isValid() {
            return remainingNanos() > 0;
        }

        @Override
        public long remainingNanos() {
            State s = state;
            if (s.sessionId != sessionId || !s.connected || sessionId == 0) {
                return 0;
            }
            return Math.max(0, s.deadlineNanos - nanoClock.getAsLong());
        }

        @Override
        public String toString() {
            return "Lease[session=0x" + Long.toHexString(sessionId) + ", remaining=" + remainingNanos() / 1_000_000 + "ms]";
        }
    }
}
