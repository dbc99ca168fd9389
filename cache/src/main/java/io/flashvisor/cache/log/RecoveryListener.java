package io.flashvisor.cache.log;

/**
 * Receives what recovery found, in sequence order, from the thread that runs {@link FlashLog#open}.
 * If a method throws, {@code open} fails and nothing has been written to the device, so it can be
 * run again.
 */
public interface RecoveryListener {

    /** An intact record. */
    void onRecord(RecoveredRecord record);

    /**
     * A DATA record whose data failed its CRC although later batches were written after it: media
     * corruption, not a torn write. Its blocks are lost: a dirty block must fail reads with EIO
     * until it is rewritten; a clean one is re-read from the backing store.
     */
    default void onLost(RecoveredRecord record) {
    }

    /**
     * A corrupt batch header inside a segment, followed by intact batches: the records with
     * sequences {@code [firstSequence, lastSequence]} cannot be named. Which blocks they held is
     * unknown, so the node must treat the device as damaged (see docs/cache.md, Recovery).
     */
    default void onUnreadable(int segment, long firstSequence, long lastSequence) {
    }

    /** A listener that ignores everything. */
    RecoveryListener IGNORE = record -> {
    };
}
