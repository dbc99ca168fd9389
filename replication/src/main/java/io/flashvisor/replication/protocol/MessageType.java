package io.flashvisor.replication.protocol;

/**
 * The frame types. Codes 1-3 are the handshake, 15 is ERROR (allowed in both phases), 16-31 are
 * requests (client to server), 32-47 their replies. Any other code is a protocol error.
 */
public enum MessageType {
    HELLO(1),
    CHALLENGE(2),
    PROOF(3),
    ERROR(15),
    REPLICATE(16),
    RELEASE(17),
    READ(18),
    PING(19),
    ACK(32),
    NACK(33),
    DATA(34),
    PONG(35);

    private static final MessageType[] BY_CODE = new MessageType[256];

    static {
        for (MessageType t : values()) {
            BY_CODE[t.code] = t;
        }
    }

    private final int code;

    MessageType(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    /** The type with this code, or null for an unknown one. */
    public static MessageType fromCode(int code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
    }

    public boolean isHandshake() {
        return code <= 3;
    }

    public boolean isRequest() {
        return code >= 16 && code < 32;
    }

    public boolean isReply() {
        return code >= 32 && code < 48;
    }
}
