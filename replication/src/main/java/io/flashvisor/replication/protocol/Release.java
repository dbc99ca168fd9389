package io.flashvisor.replication.protocol;

import java.util.List;

/**
 * The origin destaged these writes: the replica may forget them. Batched: one message releases
 * everything of one volume up to an origin sequence and/or any number of block ranges.
 *
 * <pre>
 *  0            8            16           24           32      36
 * +------------+------------+------------+------------+-------+--------------------------------+
 * | origin     | volume id  | epoch u64  | up to seq  | range | ranges: count x (first block   |
 * | host u64   | u64        |            | u64, 0=none| count | u64, block count u32)          |
 * +------------+------------+------------+------------+-------+--------------------------------+
 * </pre>
 *
 * <p>{@code upToSequence}: every replicated write of this origin and volume with an origin
 * sequence at or below it is released (0 releases nothing by sequence; sequences start at 1).
 * {@code ranges}: every held block in these ranges is released, whatever its sequence. The
 * epoch is the origin's ownership epoch; a replica refuses a release from an older epoch than it
 * has seen ({@link NackCode#STALE_EPOCH}), so a fenced owner cannot make a successor's data vanish.
 */
public record Release(long originHost, long volumeId, long epoch, long upToSequence, List<BlockRange> ranges)
        implements PeerMessage {
    public static final int HEADER_SIZE = 36;

    public Release {
        if (upToSequence < 0) {
            throw new IllegalArgumentException("negative sequence " + upToSequence);
        }
        ranges = List.copyOf(ranges);
    }

    @Override
    public MessageType type() {
        return MessageType.RELEASE;
    }
}
