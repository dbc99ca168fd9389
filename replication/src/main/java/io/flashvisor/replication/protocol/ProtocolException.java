package io.flashvisor.replication.protocol;

/**
 * A frame that breaks the protocol: the stream can no longer be trusted (or understood), so the
 * connection is closed after an ERROR frame with {@link #code()}.
 */
public final class ProtocolException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final ErrorCode code;

    public ProtocolException(ErrorCode code, String message) {
        super(message);
        this.code = code;
    }

    public ErrorCode code() {
        return code;
    }
}
