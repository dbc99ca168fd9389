package io.flashvisor.replication.transport;

import java.io.IOException;

/**
 * The connection to a peer could not be made, failed its handshake, or was lost; every request
 * outstanding on it fails with this. Whether the data reached the peer is unknown: the caller
 * treats the replica as missing (re-replicate or degrade, per the volume's policy) and decides
 * when to reconnect.
 */
public final class PeerConnectionException extends IOException {
    private static final long serialVersionUID = 1L;

    public PeerConnectionException(String message) {
        super(message);
    }

    public PeerConnectionException(String message, Throwable cause) {
        super(message, cause);
    }
}
