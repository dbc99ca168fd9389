package io.flashvisor.replication.protocol;

/** Why a connection is being closed (the code of an ERROR frame, which its sender follows by closing). */
public enum ErrorCode {
    /** A malformed or unexpected frame: bad magic, checksum, sequence, length or type. */
    PROTOCOL(1),
    /** The handshake failed (the peers do not share the cluster secret) or a frame's MAC was wrong. */
    AUTHENTICATION(2),
    /** The frame's version is not one the sender of the ERROR speaks. */
    UNSUPPORTED_VERSION(3),
    /** The handshake did not complete in time. */
    TIMEOUT(4),
    /** The host is shutting down. */
    SHUTTING_DOWN(5),
    UNKNOWN(0xFFFF);

    private final int code;

    ErrorCode(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static ErrorCode fromCode(int code) {
        for (ErrorCode c : values()) {
            if (c.code == code) {
                return c;
            }
        }
        return UNKNOWN;
    }
}
