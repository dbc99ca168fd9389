package io.flashvisor.replication.protocol;

import java.util.Arrays;
import java.util.Base64;

/**
 * The secret every host of a cluster shares; knowing it is what makes a host a member on the
 * replication port. At least 16 bytes (32 random bytes recommended: {@code head -c32 /dev/urandom | base64}).
 * Never printed.
 */
public final class ClusterSecret {
    public static final int MIN_BYTES = 16;
    private final byte[] key;

    private ClusterSecret(byte[] key) {
        if (key.length < MIN_BYTES) {
            throw new IllegalArgumentException("the cluster secret has " + key.length + " bytes; it needs at least " + MIN_BYTES
                    + " (generate one with: head -c32 /dev/urandom | base64)");
        }
        this.key = key.clone();
    }

    public static ClusterSecret of(byte[] key) {
        return new ClusterSecret(key);
    }

    /** From its base64 form, as written in the node's config. */
    public static ClusterSecret fromBase64(String text) {
        try {
            return new ClusterSecret(Base64.getDecoder().decode(text.strip()));
        } catch (IllegalArgumentException e) {
            if (e.getMessage() != null && e.getMessage().startsWith("the cluster secret")) {
                throw e;
            }
            throw new IllegalArgumentException("the cluster secret is not valid base64: " + e.getMessage(), e);
        }
    }

    byte[] key() {
        return key; // package-private and never handed out: only the handshake uses it
    }

    @Override
    public String toString() {
        return "ClusterSecret[hidden]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ClusterSecret s && java.security.MessageDigest.isEqual(s.key, key);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(key);
    }
}
