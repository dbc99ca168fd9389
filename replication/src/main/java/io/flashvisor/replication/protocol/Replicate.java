package io.flashvisor.replication.protocol;

import java.nio.ByteBuffer;

/**
 * A write of the origin host, to be kept durable on this host until released. Whole blocks only.
 *
 * <pre>
 *  0            8            16           24           32           40           48      52      56
 * +------------+------------+------------+------------+------------+------------+-------+-------+------------------+
 * | origin     | volume id  | ownership  | flush      | first      | origin     | block | rsv 0 | data             |
 * | host u64   | u64        | epoch u64  | epoch u64  | block u64  | seq u64    | count | u32   | count x 4096     |
 * +------------+------------+------------+------------+------------+------------+-------+-------+------------------+
 * </pre>
 *
 * <p>{@code originSequence} is the origin's own order of its writes to this volume (from 1): a
 * replica keeps, per block, the copy with the highest sequence, and a RELEASE up to a sequence
 * frees everything at or below it. {@code data} is read from its position to its limit, which
 * must be {@code blockCount * 4096} bytes; the record does not copy it, so whoever created it
 * must not change it while it is in use (until the send completes; on the server, a sink must
 * copy what it keeps beyond the future it returns).
 */
public record Replicate(long originHost, long volumeId, long ownershipEpoch, long flushEpoch, long firstBlock,
                        int blockCount, long originSequence, ByteBuffer data) implements PeerMessage {
    public static final int HEADER_SIZE = 56;

    public Replicate {
        Blocks.checkRange(firstBlock, blockCount);
        if (data == null || data.remaining() != (long) blockCount * FrameFormat.BLOCK_SIZE) {
            throw new IllegalArgumentException("data must hold exactly " + blockCount + " blocks of " + FrameFormat.BLOCK_SIZE
                    + " bytes, got " + (data == null ? "none" : data.remaining() + " bytes"));
        }
    }

    @Override
    public MessageType type() {
        return MessageType.REPLICATE;
    }

    @Override
    public ByteBuffer data() {
        return data.duplicate(); // callers may move the position; the record's view stays put
    }

    @Override
    public String toString() {
        return "Replicate[origin=" + originHost + ", volume=" + volumeId + ", epoch=" + ownershipEpoch + ", flushEpoch="
                + flushEpoch + ", blocks=" + firstBlock + "+" + blockCount + ", seq=" + originSequence + "]";
    }
}
