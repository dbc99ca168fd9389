package io.flashvisor.cache.log;

import java.time.Duration;
import java.util.Objects;

/**
 * Settings of a {@link FlashLog}, validated once, here, with messages that say what to change.
 *
 * @param segmentSize      bytes per segment: a power of two from 256 KiB to 256 MiB (default 4 MiB);
 *                         must match the device's superblock at open
 * @param maxBatchBytes    data bytes of one batch, excluding its 4 KiB header: a multiple of 4096,
 *                         at least 4096 (default 1 MiB). It also caps one append (see
 *                         {@link FlashLog#maxAppendBlocks})
 * @param durability       what the appender does before acknowledging (default {@link Durability#DATA})
 * @param freeSegmentWait  how long an append waits for the cleaner to free a segment before it
 *                         fails with {@code NO_SPACE} (default 10 s; zero fails at once)
 * @param reservedSegments free segments of the device (not per stream) that only reclaim appends
 *                         ({@link FlashLog#appendReclaimAsync}) may open, so the cleaner can always
 *                         move live data: at least {@code streams}, since moving one segment's live
 *                         data may roll every stream to a new segment (docs/cache.md, Appending;
 *                         default 2)
 * @param streams          append streams, each with its own open segment (the policy queues: S3-FIFO
 *                         uses SMALL = 0 and MAIN = 1): 1 to {@value #MAX_STREAMS} (default 2). May
 *                         change between opens: sealed segments of a stream no longer configured stay
 *                         readable and reclaimable
 */
public record LogConfig(int segmentSize, int maxBatchBytes, Durability durability, Duration freeSegmentWait,
                        int reservedSegments, int streams) {
    public static final int DEFAULT_SEGMENT_SIZE = 4 << 20;
    public static final int DEFAULT_MAX_BATCH_BYTES = 1 << 20;
    public static final int DEFAULT_STREAMS = 2;
    /** The most append streams the format records (stream ids 0 to 3). */
    public static final int MAX_STREAMS = BatchHeader.MAX_STREAMS;

    public LogConfig {
        Objects.requireNonNull(durability, "durability");
        Objects.requireNonNull(freeSegmentWait, "freeSegmentWait");
        if (!FlashLayout.validSegmentSize(segmentSize)) {
            throw new IllegalArgumentException("segment size " + segmentSize
                    + " must be a power of two from 256 KiB to 256 MiB, e.g. 4194304 (4 MiB)");
        }
        if (maxBatchBytes < FlashLayout.BLOCK_SIZE || maxBatchBytes % FlashLayout.BLOCK_SIZE != 0) {
            throw new IllegalArgumentException("max batch bytes " + maxBatchBytes
                    + " must be a positive multiple of 4096, e.g. 1048576 (1 MiB)");
        }
        if (freeSegmentWait.isNegative() || freeSegmentWait.compareTo(Duration.ofDays(1)) > 0) {
            throw new IllegalArgumentException("free segment wait " + freeSegmentWait + " must be from 0 to 1 day, e.g. 10s");
        }
        if (streams < 1 || streams > MAX_STREAMS) {
            throw new IllegalArgumentException("streams " + streams + " must be from 1 to " + MAX_STREAMS);
        }
        if (reservedSegments < streams) {
            throw new IllegalArgumentException("reserved segments " + reservedSegments + " must be at least the number"
                    + " of streams (" + streams + "): moving one segment's live data may have to roll every stream to"
                    + " a new segment, and with fewer the cleaner can wait forever for space only it can free");
        }
    }

    public static LogConfig defaults() {
        return new LogConfig(DEFAULT_SEGMENT_SIZE, DEFAULT_MAX_BATCH_BYTES, Durability.DATA, Duration.ofSeconds(10),
                DEFAULT_STREAMS, DEFAULT_STREAMS);
    }

    public LogConfig withSegmentSize(int bytes) {
        return new LogConfig(bytes, maxBatchBytes, durability, freeSegmentWait, reservedSegments, streams);
    }

    public LogConfig withMaxBatchBytes(int bytes) {
        return new LogConfig(segmentSize, bytes, durability, freeSegmentWait, reservedSegments, streams);
    }

    public LogConfig withDurability(Durability value) {
        return new LogConfig(segmentSize, maxBatchBytes, value, freeSegmentWait, reservedSegments, streams);
    }

    public LogConfig withFreeSegmentWait(Duration value) {
        return new LogConfig(segmentSize, maxBatchBytes, durability, value, reservedSegments, streams);
    }

    public LogConfig withReservedSegments(int value) {
        return new LogConfig(segmentSize, maxBatchBytes, durability, freeSegmentWait, value, streams);
    }

    /** This configuration with {@code value} streams; raise the reserved segments first if they are fewer. */
    public LogConfig withStreams(int value) {
        return new LogConfig(segmentSize, maxBatchBytes, durability, freeSegmentWait, reservedSegments, value);
    }

    /**
     * The fewest segments a device needs: one open per stream, the reserve, and one more, so that
     * with every stream's segment open and the reserve untouched there is still a segment that
     * clients can fill and the cleaner can then reclaim.
     */
    int minSegments() {
        return reservedSegments + streams + 1;
    }

    /** Data blocks of one batch: the smaller of the batch cap and what fits in a segment after the header. */
    int maxBatchDataBlocks() {
        return Math.min(maxBatchBytes, segmentSize - FlashLayout.BLOCK_SIZE) / FlashLayout.BLOCK_SIZE;
    }
}
