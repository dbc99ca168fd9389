package io.flashvisor.replication.transport;

import io.flashvisor.replication.protocol.NackCode;

/**
 * A request the replica refused: thrown (inside a failed future) by a {@link ReplicaSink} to pick
 * the NACK code, and by {@link PeerClient} futures when a NACK comes back. The connection lives on.
 */
public final class ReplicaException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final NackCode code;

    public ReplicaException(NackCode code, String message) {
        super(message);
        this.code = code;
    }

    public NackCode code() {
        return code;
    }

    @Override
    public String getMessage() {
        return code + ": " + super.getMessage();
    }

    /** The text without the code, as sent in the NACK. */
    public String reason() {
        return super.getMessage();
    }
}
