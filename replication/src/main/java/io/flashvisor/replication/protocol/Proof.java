package io.flashvisor.replication.protocol;

import java.util.Arrays;

/**
 * Handshake steps 3 (client) and 4 (server): HMAC-SHA256 under the cluster secret over a role
 * label and the transcript (see {@link Handshakes}). 32 bytes, nothing else.
 */
public record Proof(byte[] mac) implements PeerMessage {
    public static final int SIZE = 32;

    public Proof {
        if (mac == null || mac.length != SIZE) {
            throw new IllegalArgumentException("a proof is " + SIZE + " bytes");
        }
        mac = mac.clone();
    }

    @Override
    public MessageType type() {
        return MessageType.PROOF;
    }

    @Override
    public byte[] mac() {
        return mac.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Proof p && Arrays.equals(p.mac, mac);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(mac);
    }

    @Override
    public String toString() {
        return "Proof[32 bytes]"; // a proof is not secret, but there is nothing to learn from printing it
    }
}
