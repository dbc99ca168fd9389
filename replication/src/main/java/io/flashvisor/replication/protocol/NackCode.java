package io.flashvisor.replication.protocol;

/** Why a request was refused (the code of a NACK). The request failed; the connection lives on. */
public enum NackCode {
    /** The sender's ownership epoch is older than one this replica has seen for the volume: it is fenced. */
    STALE_EPOCH(1),
    /** No room in this host's flash for the replica. */
    NO_SPACE(2),
    /** This host's flash failed the operation. */
    IO(3),
    /** The volume record does not name the sender as owner (or this host in the replica set). */
    NOT_OWNER_RECORD(4),
    /** The message is malformed or violates a limit; a bug in the sender. */
    BAD_REQUEST(5),
    /** A READ of blocks this host does not hold. */
    NOT_FOUND(6),
    /** This host is shutting down. */
    SHUTTING_DOWN(7),
    /** A code this version does not know (sent by a newer peer). */
    UNKNOWN(0xFFFF);

    private final int code;

    NackCode(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    public static NackCode fromCode(int code) {
        for (NackCode c : values()) {
            if (c.code == code) {
                return c;
            }
        }
        return UNKNOWN;
    }
}
