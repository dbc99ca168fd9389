package io.flashvisor.replication.protocol;

/**
 * A remote read (after migration, the new owner reads blocks the old host still holds). Answered
 * by {@link Data} or a NACK ({@link NackCode#NOT_FOUND} if not all blocks are held).
 *
 * <pre>
 *  0            8            16           24      28
 * +------------+------------+------------+-------+
 * | volume id  | epoch u64  | first      | block |
 * | u64        |            | block u64  | count |
 * +------------+------------+------------+-------+
 * </pre>
 *
 * <p>{@code epoch} is the reader's ownership epoch, so a holder can refuse a reader that is
 * itself stale. {@code blockCount * 4096} must fit the reader's advertised maximum payload.
 */
public record Read(long volumeId, long epoch, long firstBlock, int blockCount) implements PeerMessage {
    public static final int SIZE = 28;

    public Read {
        Blocks.checkRange(firstBlock, blockCount);
    }

    public long byteLength() {
        return (long) blockCount * FrameFormat.BLOCK_SIZE;
    }

    @Override
    public MessageType type() {
        return MessageType.READ;
    }
}
