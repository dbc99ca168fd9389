package io.flashvisor.replication.protocol;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * Handshake step 1, client to server: who I am, how large a frame I accept, and my fresh nonce.
 *
 * <pre>
 *  0              8          12                                44
 * +--------------+----------+--------------------------------+
 * | host id u64  | max      | client nonce                   |
 * |              | payload  | 32 bytes                       |
 * +--------------+----------+--------------------------------+
 * </pre>
 */
public record Hello(long hostId, int maxPayload, byte[] nonce) implements PeerMessage {
    public static final int SIZE = 44;

    public Hello {
        nonce = Handshakes.checkNonce(nonce);
    }

    @Override
    public MessageType type() {
        return MessageType.HELLO;
    }

    @Override
    public byte[] nonce() {
        return nonce.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Hello h && h.hostId == hostId && h.maxPayload == maxPayload && Arrays.equals(h.nonce, nonce);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(hostId) * 31 + Arrays.hashCode(nonce);
    }

    @Override
    public String toString() {
        return "Hello[host=" + hostId + ", maxPayload=" + maxPayload + ", nonce=" + HexFormat.of().formatHex(nonce) + "]";
    }
}
