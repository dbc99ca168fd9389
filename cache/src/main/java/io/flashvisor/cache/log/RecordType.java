package io.flashvisor.cache.log;

/** What a record in the flash log says; the code is the on-disk value. */
public enum RecordType {
    /** {@code block count} blocks of data for {@code [first block, +count)} follow in the batch's data area. */
    DATA(1),
    /** {@code [first block, +count)} reached the backing store: its DATA records with sequence ≤ {@code aux} are clean. */
    CLEAN(2),
    /** {@code [first block, +count)} is no longer cached: its DATA records with a lower sequence are dead. */
    INVALIDATE(3),
    /**
     * Peer replicas (origin host ≠ 0) of volume {@code volume id} from that origin with an origin
     * sequence ≤ {@code aux} are released: the origin destaged them. No blocks; count is 1.
     */
    RELEASE(4);

    private final int code;

    RecordType(int code) {
        this.code = code;
    }

    int code() {
        return code;
    }

    /** The type with this on-disk code, or null for an unknown code. */
    static RecordType ofCode(int code) {
        return switch (code) {
            case 1 -> DATA;
            case 2 -> CLEAN;
            case 3 -> INVALIDATE;
            case 4 -> RELEASE;
            default -> null;
        };
    }
}
