package io.flashvisor.replication.protocol;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * The cryptography of the handshake: nonces, proofs and session keys (HMAC-SHA256 throughout).
 *
 * <p>Transcript {@code T} = the HELLO payload (44 bytes) followed by the CHALLENGE payload (48
 * bytes): both host ids, both nonces and both sides' limits, so a proof is bound to this exact
 * exchange and cannot be replayed into another connection or with other host ids.
 *
 * <pre>
 * client proof = HMAC(secret, "flashvisor-replication v1 client proof" || T)
 * server proof = HMAC(secret, "flashvisor-replication v1 server proof" || T)
 * session      = HMAC(secret, "flashvisor-replication v1 session" || T)
 * key c->s     = HMAC(session, "client to server")
 * key s->c     = HMAC(session, "server to client")
 * </pre>
 *
 * <p>Different labels per role mean a proof cannot be reflected back to its sender; different
 * keys per direction mean a frame cannot be reflected either. The key derivation is HKDF's
 * extract-then-expand in its simplest form (one block per key). Comparisons are constant-time.
 */
public final class Handshakes {
    public static final int NONCE_SIZE = 32;
    private static final String ALGORITHM = "HmacSHA256";
    private static final SecureRandom RANDOM = new SecureRandom();

    public enum Role {
        CLIENT("flashvisor-replication v1 client proof"),
        SERVER("flashvisor-replication v1 server proof");

        private final byte[] label;

        Role(String label) {
            this.label = label.getBytes(StandardCharsets.US_ASCII);
        }
    }

    /** The two frame keys of one connection. */
    public record SessionKeys(byte[] clientToServer, byte[] serverToClient) {
        @Override
        public String toString() {
            return "SessionKeys[hidden]";
        }
    }

    private Handshakes() {
    }

    public static byte[] newNonce() {
        byte[] n = new byte[NONCE_SIZE];
        RANDOM.nextBytes(n);
        return n;
    }

    static byte[] checkNonce(byte[] nonce) {
        if (nonce == null || nonce.length != NONCE_SIZE) {
            throw new IllegalArgumentException("a nonce is " + NONCE_SIZE + " bytes");
        }
        return nonce.clone();
    }

    public static byte[] transcript(Hello hello, Challenge challenge) {
        ByteBuffer t = ByteBuffer.allocate(Hello.SIZE + Challenge.SIZE);
        t.putLong(hello.hostId()).putInt(hello.maxPayload()).put(hello.nonce());
        t.putLong(challenge.hostId()).putInt(challenge.maxPayload()).putInt(challenge.maxInFlight()).put(challenge.nonce());
        return t.array();
    }

    public static Proof proof(ClusterSecret secret, Role role, byte[] transcript) {
        return new Proof(hmac(secret.key(), role.label, transcript));
    }

    /** Whether {@code proof} is the one {@code role} must send; constant-time. */
    public static boolean verify(ClusterSecret secret, Role role, byte[] transcript, Proof proof) {
        return MessageDigest.isEqual(hmac(secret.key(), role.label, transcript), proof.mac());
    }

    public static SessionKeys sessionKeys(ClusterSecret secret, byte[] transcript) {
        byte[] session = hmac(secret.key(), ascii("flashvisor-replication v1 session"), transcript);
        return new SessionKeys(hmac(session, ascii("client to server"), new byte[0]),
                hmac(session, ascii("server to client"), new byte[0]));
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] hmac(byte[] key, byte[] label, byte[] data) {
        Mac mac = newMac(key);
        mac.update(label);
        mac.update(data);
        return mac.doFinal();
    }

    static Mac newMac(byte[] key) {
        try {
            Mac mac = Mac.getInstance(ALGORITHM);
            mac.init(new SecretKeySpec(key, ALGORITHM));
            return mac;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is unavailable in this JVM", e); // every JDK has it
        }
    }
}
