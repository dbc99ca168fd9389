package io.flashvisor.replication.protocol;

/**
 * An authentic frame whose payload does not decode as its type says (wrong length, bad count).
 * The stream is still in step, so the request gets a {@link NackCode#BAD_REQUEST} and the
 * connection lives on.
 */
public final class MalformedMessageException extends Exception {
    private static final long serialVersionUID = 1L;

    public MalformedMessageException(String message) {
        super(message);
    }
}
