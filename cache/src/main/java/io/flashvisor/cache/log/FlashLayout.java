package io.flashvisor.cache.log;

/**
 * Where things are on the flash device: two superblock copies, then fixed-size segments from
 * {@link #FIRST_SEGMENT_OFFSET}. Device block numbers count 4 KiB blocks from offset 0 of the
 * device (so the data of a record at device block {@code b} is at byte {@code b * 4096}).
 * Immutable and thread-safe.
 *
 * <pre>
 * offset 0           4 KiB          8 KiB                 1 MiB
 * +------------------+--------------+---- (unused) -------+-----------+-----------+-- ... --+
 * | superblock copy A| superblock B |                     | segment 0 | segment 1 |         |
 * +------------------+--------------+---------------------+-----------+-----------+-- ... --+
 * </pre>
 */
public final class FlashLayout {
    public static final int BLOCK_SIZE = 4096;
    public static final long SUPERBLOCK_A = 0;
    public static final long SUPERBLOCK_B = BLOCK_SIZE;
    public static final long FIRST_SEGMENT_OFFSET = 1L << 20;
    public static final int MIN_SEGMENT_SIZE = 256 << 10;
    public static final int MAX_SEGMENT_SIZE = 256 << 20;

    private final int segmentSize;
    private final int segmentCount;
    private final long firstSegmentOffset;

    FlashLayout(int segmentSize, int segmentCount, long firstSegmentOffset) {
        if (!validSegmentSize(segmentSize) || segmentCount < 1 || firstSegmentOffset < 2L * BLOCK_SIZE
                || firstSegmentOffset % BLOCK_SIZE != 0) {
            throw new IllegalArgumentException("bad layout: segment size " + segmentSize + ", count " + segmentCount
                    + ", first offset " + firstSegmentOffset);
        }
        this.segmentSize = segmentSize;
        this.segmentCount = segmentCount;
        this.firstSegmentOffset = firstSegmentOffset;
    }

    /** The layout a device of {@code deviceSize} bytes gets at format time. */
    static FlashLayout forDevice(long deviceSize, int segmentSize) {
        long count = segmentCountFor(deviceSize, segmentSize);
        if (count < 1) {
            throw new IllegalArgumentException("a device of " + deviceSize + " bytes holds no segment of " + segmentSize + " bytes");
        }
        return new FlashLayout(segmentSize, (int) Math.min(count, Integer.MAX_VALUE), FIRST_SEGMENT_OFFSET);
    }

    /** (device size − 1 MiB) / segment size, or 0 for a device too small for one segment. */
    public static long segmentCountFor(long deviceSize, int segmentSize) {
        return Math.max(0, (deviceSize - FIRST_SEGMENT_OFFSET) / segmentSize);
    }

    /** A power of two from 256 KiB to 256 MiB. */
    public static boolean validSegmentSize(int segmentSize) {
        return Integer.bitCount(segmentSize) == 1 && segmentSize >= MIN_SEGMENT_SIZE && segmentSize <= MAX_SEGMENT_SIZE;
    }

    public int segmentSize() {
        return segmentSize;
    }

    public int segmentCount() {
        return segmentCount;
    }

    public long firstSegmentOffset() {
        return firstSegmentOffset;
    }

    public int blocksPerSegment() {
        return segmentSize / BLOCK_SIZE;
    }

    /** Byte offset of segment {@code segment} on the device. */
    public long segmentOffset(int segment) {
        checkSegment(segment);
        return firstSegmentOffset + (long) segment * segmentSize;
    }

    /** Device block number of block {@code blockInSegment} of {@code segment}. */
    public long deviceBlock(int segment, int blockInSegment) {
        return segmentOffset(segment) / BLOCK_SIZE + blockInSegment;
    }

    /** The segment that holds {@code deviceBlock}, or -1 if it is outside every segment. */
    public int segmentOf(long deviceBlock) {
        long offset = deviceBlock * BLOCK_SIZE;
        if (deviceBlock < 0 || deviceBlock > Long.MAX_VALUE / BLOCK_SIZE || offset < firstSegmentOffset || offset >= end()) {
            return -1;
        }
        return (int) ((offset - firstSegmentOffset) / segmentSize);
    }

    /** The byte just past the last segment: the device must be at least this large. */
    public long end() {
        return firstSegmentOffset + (long) segmentCount * segmentSize;
    }

    void checkSegment(int segment) {
        if (segment < 0 || segment >= segmentCount) {
            throw new IllegalArgumentException("segment " + segment + " is not in [0, " + segmentCount + ")");
        }
    }

    @Override
    public String toString() {
        return segmentCount + " segments of " + (segmentSize >> 10) + " KiB from offset " + firstSegmentOffset;
    }
}
