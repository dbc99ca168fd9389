package io.flashvisor.cache.log;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.zip.CRC32C;

/**
 * The 4 KiB block at the start of every batch: who wrote it (device uuid), which append stream
 * and which life of the segment it belongs to (stream, generation and salt), and the entries of
 * its records. The data blocks of the batch's DATA records follow it in entry order. Immutable;
 * the codec is stateless.
 *
 * <pre>
 *  0        4      6      8                                 24                32       36
 *  +--------+------+------+---------------------------------+-----------------+--------+--------+
 *  | "FVB1" | ver=1| count|  device uuid (16 bytes)         | segment         | data   | stream |
 *  |        |      |(≤63) |                                 | generation      | blocks | (0..3) |
 *  +--------+------+------+---------------------------------+-----------------+--------+--------+
 *  40                 48                 56       60       64
 *  +------------------+------------------+--------+--------+------------------ ... ---------------+
 *  | first sequence   | segment salt     |reserved| CRC32C | entries: count × 64 bytes, rest zero  |
 *  +------------------+------------------+--------+--------+------------------ ... ---------------+
 * </pre>
 *
 * The CRC covers all 4096 bytes with the CRC field taken as zero. Entry {@code i} has sequence
 * {@code first sequence + i}; {@code data blocks} is the sum of the DATA entries' block counts.
 * {@code stream} is the append stream the batch's segment belongs to (every batch of one life of a
 * segment carries the same one); the first format draft kept those bytes zero, which reads as
 * stream 0.
 * Decoding trusts no count: it checks the entry count, every entry, the data blocks against the
 * room left in the segment, and that the bytes after the entries are zero.
 */
record BatchHeader(UUID deviceUuid, int stream, long generation, long salt, long firstSequence, int dataBlocks,
                   List<RecordEntry> entries) {
    static final int MAGIC = 0x46564231; // "FVB1"
    static final int VERSION = 1;
    static final int MAX_ENTRIES = 63;
    /** Stream ids are 0 to {@code MAX_STREAMS - 1}. */
    static final int MAX_STREAMS = 4;
    static final int ENTRIES_OFFSET = 64;
    static final int CRC_OFFSET = 60;
    private static final byte[] ZERO_CRC = new byte[Integer.BYTES];

    BatchHeader {
        entries = List.copyOf(entries);
    }

    long lastSequence() {
        return firstSequence + entries.size() - 1;
    }

    /** Blocks the batch covers: the header and its data. */
    int blocks() {
        return 1 + dataBlocks;
    }

    /** Writes this header into {@code block[0, 4096)}; the buffer's position is not used or moved. */
    void encode(ByteBuffer block) {
        if (entries.isEmpty() || entries.size() > MAX_ENTRIES) {
            throw new IllegalArgumentException("a batch holds 1 to 63 records, not " + entries.size());
        }
        if (stream < 0 || stream >= MAX_STREAMS) {
            throw new IllegalArgumentException("stream " + stream + " is not in [0, " + MAX_STREAMS + ")");
        }
        for (int i = 0; i < FlashLayout.BLOCK_SIZE; i += Long.BYTES) {
            block.putLong(i, 0);
        }
        block.putInt(0, MAGIC);
        block.putShort(4, (short) VERSION);
        block.putShort(6, (short) entries.size());
        block.putLong(8, deviceUuid.getMostSignificantBits());
        block.putLong(16, deviceUuid.getLeastSignificantBits());
        block.putLong(24, generation);
        block.putInt(32, dataBlocks);
        block.putInt(36, stream);
        block.putLong(40, firstSequence);
        block.putLong(48, salt);
        for (int i = 0; i < entries.size(); i++) {
            entries.get(i).encode(block, ENTRIES_OFFSET + i * RecordEntry.SIZE);
        }
        block.putInt(CRC_OFFSET, crc(block, 0));
    }

    /** True if {@code buffer[offset, +4)} is the batch magic: cheap, to skip blocks that cannot be headers. */
    static boolean hasMagic(ByteBuffer buffer, int offset) {
        return buffer.getInt(offset) == MAGIC;
    }

    /**
     * Decodes the header at {@code buffer[offset, offset + 4096)}.
     *
     * @param uuid          the device's uuid; a header of another device (an older format) is invalid
     * @param maxDataBlocks data blocks that fit between this header and the end of its segment
     */
    static BatchHeader decode(ByteBuffer buffer, int offset, UUID uuid, long maxDataBlocks) throws FormatException {
        if (offset < 0 || offset > buffer.limit() - FlashLayout.BLOCK_SIZE) {
            throw new FormatException("header block is outside the buffer");
        }
        if (!hasMagic(buffer, offset)) {
            throw new FormatException("no batch magic");
        }
        if (buffer.getInt(offset + CRC_OFFSET) != crc(buffer, offset)) {
            throw new FormatException("batch header checksum mismatch");
        }
        int version = buffer.getShort(offset + 4) & 0xFFFF;
        if (version != VERSION) {
            throw new FormatException("batch header version " + version);
        }
        int count = buffer.getShort(offset + 6) & 0xFFFF;
        if (count < 1 || count > MAX_ENTRIES) {
            throw new FormatException("batch entry count " + count + " is not in [1, 63]");
        }
        UUID deviceUuid = new UUID(buffer.getLong(offset + 8), buffer.getLong(offset + 16));
        if (!deviceUuid.equals(uuid)) {
            throw new FormatException("batch of another device " + deviceUuid);
        }
        long generation = buffer.getLong(offset + 24);
        int dataBlocks = buffer.getInt(offset + 32);
        int stream = buffer.getInt(offset + 36);
        long firstSequence = buffer.getLong(offset + 40);
        long salt = buffer.getLong(offset + 48);
        if (buffer.getInt(offset + 56) != 0) {
            throw new FormatException("batch header reserved bytes are not zero");
        }
        if (stream < 0 || stream >= MAX_STREAMS) {
            throw new FormatException("batch stream " + stream + " is not in [0, " + MAX_STREAMS + ")");
        }
        if (generation < 1) {
            throw new FormatException("batch generation " + generation + " is not positive");
        }
        if (firstSequence < 1 || firstSequence > Long.MAX_VALUE - count) {
            throw new FormatException("batch first sequence " + firstSequence + " is out of range");
        }
        if (dataBlocks < 0 || dataBlocks > maxDataBlocks) {
            throw new FormatException("batch of " + dataBlocks + " data blocks overruns its segment (room for "
                    + maxDataBlocks + ")");
        }
        int entriesEnd = ENTRIES_OFFSET + count * RecordEntry.SIZE;
        if (!Buffers.isZero(buffer, offset + entriesEnd, FlashLayout.BLOCK_SIZE - entriesEnd)) {
            throw new FormatException("batch header bytes after the entries are not zero");
        }
        List<RecordEntry> entries = new ArrayList<>(count);
        long sum = 0;
        for (int i = 0; i < count; i++) {
            RecordEntry e = RecordEntry.decode(buffer, offset + ENTRIES_OFFSET + i * RecordEntry.SIZE);
            if (e.sequence() != firstSequence + i) {
                throw new FormatException("entry " + i + " has sequence " + e.sequence() + ", not " + (firstSequence + i));
            }
            if (e.type() == RecordType.DATA) {
                sum += e.blockCount();
            }
            entries.add(e);
        }
        if (sum != dataBlocks) {
            throw new FormatException("entries hold " + sum + " data blocks, header says " + dataBlocks);
        }
        return new BatchHeader(deviceUuid, stream, generation, salt, firstSequence, dataBlocks, entries);
    }

    /** CRC32C of {@code buffer[offset, offset + 4096)} with the CRC field taken as zero. */
    static int crc(ByteBuffer buffer, int offset) {
        CRC32C crc = new CRC32C();
        crc.update(buffer.slice(offset, CRC_OFFSET));
        crc.update(ZERO_CRC);
        crc.update(buffer.slice(offset + CRC_OFFSET + Integer.BYTES, FlashLayout.BLOCK_SIZE - CRC_OFFSET - Integer.BYTES));
        return (int) crc.getValue();
    }
}
