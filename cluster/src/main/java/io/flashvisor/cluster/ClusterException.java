package io.flashvisor.cluster;

/** A cluster operation that could not be done; {@link #reason()} says what the caller can do about it. */
public final class ClusterException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public enum Reason {
        /** The coordination service cannot be reached now (connection lost, session in doubt); retry later. */
        UNAVAILABLE,
        /** The named volume has no record. */
        NO_SUCH_VOLUME,
        /** A record of that name exists already. */
        ALREADY_EXISTS,
        /** Another live session holds this host id (a previous incarnation not yet expired, or a duplicate id). */
        HOST_ID_TAKEN,
        /** The update breaks the record rules (epoch, owner, replica set). A bug in the caller. */
        INVALID_UPDATE,
        /** A stored record could not be decoded (written by a newer or broken version); fix or delete it. */
        CORRUPT_RECORD,
        /** This host's lease is not valid: it may not claim or act now. */
        NOT_ACTING,
        /** The cluster client was closed. */
        CLOSED
    }

    private final Reason reason;

    public ClusterException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public ClusterException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
