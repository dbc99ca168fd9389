package io.flashvisor.cache.log;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.UUID;

/**
 * The first block of the flash device (written twice, at 0 and at 4 KiB): names the format, the
 * device's identity and its layout. Immutable; the codec is stateless.
 *
 * <pre>
 *  0                   8        12       16                               32
 *  +-------------------+--------+--------+--------------------------------+
 *  | magic "FVFLASH1"  | version| block  |      device uuid (16 bytes)    |
 *  |                   |  = 1   | = 4096 |                                |
 *  +-------------------+--------+--------+--------------------------------+
 *  32                  40       44       48                 56
 *  +-------------------+--------+--------+------------------+---- ... ----+--------+
 *  | created (ms)      | segment| segment| first segment    |   zeroes    | CRC32C |
 *  |                   |  size  | count  | offset           |             | [0,4092)|
 *  +-------------------+--------+--------+------------------+---- ... ----+--------+
 *                                                                    4092 ^   4096
 * </pre>
 *
 * All integers big-endian. Decoding checks every field, so a superblock that decodes is one this
 * code can use.
 */
record Superblock(UUID deviceUuid, long createdMillis, int segmentSize, int segmentCount, long firstSegmentOffset) {
    static final int VERSION = 1;
    static final byte[] MAGIC = "FVFLASH1".getBytes(StandardCharsets.US_ASCII);
    /** The first 7 bytes of the magic: any version of our format starts with them. */
    static final int FAMILY_LENGTH = 7;
    static final int CRC_OFFSET = 4092;
    private static final int END_OF_FIELDS = 56;

    FlashLayout layout() {
        return new FlashLayout(segmentSize, segmentCount, firstSegmentOffset);
    }

    /** Writes this superblock into {@code block[0, 4096)}; the buffer's position is not used or moved. */
    void encode(ByteBuffer block) {
        for (int i = 0; i < FlashLayout.BLOCK_SIZE; i += Long.BYTES) {
            block.putLong(i, 0);
        }
        block.put(0, MAGIC);
        block.putInt(8, VERSION);
        block.putInt(12, FlashLayout.BLOCK_SIZE);
        block.putLong(16, deviceUuid.getMostSignificantBits());
        block.putLong(24, deviceUuid.getLeastSignificantBits());
        block.putLong(32, createdMillis);
        block.putInt(40, segmentSize);
        block.putInt(44, segmentCount);
        block.putLong(48, firstSegmentOffset);
        block.putInt(CRC_OFFSET, Buffers.crc32c(block, 0, CRC_OFFSET));
    }

    /** True if the block starts with the magic of some version of this format (valid or not). */
    static boolean looksOurs(ByteBuffer block) {
        for (int i = 0; i < FAMILY_LENGTH; i++) {
            if (block.get(i) != MAGIC[i]) {
                return false;
            }
        }
        return true;
    }

    /** Decodes {@code block[0, 4096)}; never throws anything but {@link FormatException} for bad content. */
    static Superblock decode(ByteBuffer block) throws FormatException {
        if (block.limit() < FlashLayout.BLOCK_SIZE) {
            throw new FormatException("superblock is shorter than 4096 bytes");
        }
        if (!looksOurs(block)) {
            throw new FormatException("no Flashvisor superblock (magic is not FVFLASH)");
        }
        boolean crcOk = block.getInt(CRC_OFFSET) == Buffers.crc32c(block, 0, CRC_OFFSET);
        int version = block.getInt(8);
        if (block.get(FAMILY_LENGTH) != MAGIC[FAMILY_LENGTH] || version != VERSION) {
            throw new FormatException("superblock of flash log format version " + version
                    + (crcOk ? "" : " (checksum also bad)") + "; this node reads version " + VERSION);
        }
        if (!crcOk) {
            throw new FormatException("superblock checksum mismatch");
        }
        int blockSize = block.getInt(12);
        if (blockSize != FlashLayout.BLOCK_SIZE) {
            throw new FormatException("superblock block size " + blockSize + " is not 4096");
        }
        UUID uuid = new UUID(block.getLong(16), block.getLong(24));
        long created = block.getLong(32);
        int segmentSize = block.getInt(40);
        int segmentCount = block.getInt(44);
        long firstOffset = block.getLong(48);
        if (!FlashLayout.validSegmentSize(segmentSize)) {
            throw new FormatException("superblock segment size " + segmentSize + " is not a power of two in [256 KiB, 256 MiB]");
        }
        if (segmentCount < 1) {
            throw new FormatException("superblock segment count " + segmentCount + " is not positive");
        }
        if (firstOffset < 2L * FlashLayout.BLOCK_SIZE || firstOffset % FlashLayout.BLOCK_SIZE != 0
                || firstOffset > Long.MAX_VALUE - (long) segmentCount * segmentSize) {
            throw new FormatException("superblock first segment offset " + firstOffset + " is invalid");
        }
        if (!Buffers.isZero(block, END_OF_FIELDS, CRC_OFFSET - END_OF_FIELDS)) {
            throw new FormatException("superblock reserved bytes are not zero");
        }
        return new Superblock(uuid, created, segmentSize, segmentCount, firstOffset);
    }
}
