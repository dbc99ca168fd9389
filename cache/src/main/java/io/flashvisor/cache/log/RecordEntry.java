package io.flashvisor.cache.log;

import java.nio.ByteBuffer;

/**
 * One 64-byte record entry of a batch header. Immutable; the codec is stateless.
 *
 * <pre>
 *  0            8            16           24           32       36     38     40       44       48          56          64
 *  +------------+------------+------------+------------+--------+------+------+--------+--------+-----------+-----------+
 *  | volume id  | first block| sequence   | aux        | block  | type | flags| data   | epoch  | origin    | flush     |
 *  |            |            |            |            | count  |      |      | CRC32C |        | host id   | epoch     |
 *  +------------+------------+------------+------------+--------+------+------+--------+--------+-----------+-----------+
 * </pre>
 *
 * {@code flags} bit 0 is {@code DIRTY} (DATA only); the other bits are zero. Only DATA records
 * carry data, and so a data CRC; markers store 0 there. {@code flush epoch} (an unsigned 64-bit
 * number, DATA only, markers store 0) is the volume's flush epoch the write belongs to, which the
 * destager replays after a crash; {@code epoch} and {@code origin host id} are a peer replica's
 * (0 for the host's own records). The entry itself is protected by the header's CRC.
 */
record RecordEntry(RecordType type, long volumeId, long firstBlock, int blockCount, long sequence, long aux,
                   boolean dirty, int dataCrc, int epoch, long originHost, long flushEpoch) {
    static final int SIZE = 64;
    static final int FLAG_DIRTY = 1;

    /** Writes this entry at {@code buffer[offset, offset + 64)}. */
    void encode(ByteBuffer buffer, int offset) {
        buffer.putLong(offset, volumeId);
        buffer.putLong(offset + 8, firstBlock);
        buffer.putLong(offset + 16, sequence);
        buffer.putLong(offset + 24, aux);
        buffer.putInt(offset + 32, blockCount);
        buffer.putShort(offset + 36, (short) type.code());
        buffer.putShort(offset + 38, (short) (dirty ? FLAG_DIRTY : 0));
        buffer.putInt(offset + 40, dataCrc);
        buffer.putInt(offset + 44, epoch);
        buffer.putLong(offset + 48, originHost);
        buffer.putLong(offset + 56, flushEpoch);
    }

    /**
     * Decodes the entry at {@code buffer[offset, offset + 64)}, checking every field that can be
     * checked without the header (which checks the sequence).
     */
    static RecordEntry decode(ByteBuffer buffer, int offset) throws FormatException {
        long volumeId = buffer.getLong(offset);
        long firstBlock = buffer.getLong(offset + 8);
        long sequence = buffer.getLong(offset + 16);
        long aux = buffer.getLong(offset + 24);
        int blockCount = buffer.getInt(offset + 32);
        int typeCode = buffer.getShort(offset + 36) & 0xFFFF;
        int flags = buffer.getShort(offset + 38) & 0xFFFF;
        int dataCrc = buffer.getInt(offset + 40);
        int epoch = buffer.getInt(offset + 44);
        long originHost = buffer.getLong(offset + 48);
        long flushEpoch = buffer.getLong(offset + 56);
        RecordType type = RecordType.ofCode(typeCode);
        if (type == null) {
            throw new FormatException("unknown record type " + typeCode);
        }
        if ((flags & ~FLAG_DIRTY) != 0 || (type != RecordType.DATA && flags != 0)) {
            throw new FormatException("bad flags " + flags + " for a " + type + " record");
        }
        if (type != RecordType.DATA && dataCrc != 0) {
            throw new FormatException("a " + type + " record carries a data CRC");
        }
        if (type != RecordType.DATA && flushEpoch != 0) {
            throw new FormatException("a " + type + " record carries a flush epoch");
        }
        if (!Record.validRange(firstBlock, blockCount)) {
            throw new FormatException("record range [" + firstBlock + ", +" + blockCount + ") is invalid");
        }
        return new RecordEntry(type, volumeId, firstBlock, blockCount, sequence, aux,
                (flags & FLAG_DIRTY) != 0, dataCrc, epoch, originHost, flushEpoch);
    }
}
