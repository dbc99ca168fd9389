package io.flashvisor.replication.protocol;

import java.util.Arrays;
import java.util.HexFormat;

/**
 * Handshake step 2, server to client: who I am, my receive limits, and my fresh nonce.
 *
 * <pre>
 *  0              8          12         16                                48
 * +--------------+----------+----------+--------------------------------+
 * | host id u64  | max      | max in   | server nonce                   |
 * |              | payload  | flight   | 32 bytes                       |
 * +--------------+----------+----------+--------------------------------+
 * </pre>
 */
public record Challenge(long hostId, int maxPayload, int maxInFlight, byte[] nonce) implements PeerMessage {
    public static final int SIZE = 48;

    public Challenge {
        nonce = Handshakes.checkNonce(nonce);
    }

    @Override
    public MessageType type() {
        return MessageType.CHALLENGE;
    }

    @Override
    public byte[] nonce() {
        return nonce.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Challenge c && c.hostId == hostId && c.maxPayload == maxPayload && c.maxInFlight == maxInFlight
                && Arrays.equals(c.nonce, nonce);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(hostId) * 31 + Arrays.hashCode(nonce);
    }

    @Override
    public String toString() {
        return "Challenge[host=" + hostId + ", maxPayload=" + maxPayload + ", maxInFlight=" + maxInFlight + ", nonce="
                + HexFormat.of().formatHex(nonce) + "]";
    }
}
