package io.flashvisor.cache.log;

import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/** Aligned direct buffers and CRC32C over buffer ranges; nothing here touches a buffer's position. */
final class Buffers {
    private Buffers() {
    }

    /** A direct buffer of {@code bytes} whose address is 4 KiB-aligned, as {@code O_DIRECT} needs. */
    static ByteBuffer alignedDirect(int bytes) {
        return ByteBuffer.allocateDirect(bytes + FlashLayout.BLOCK_SIZE).alignedSlice(FlashLayout.BLOCK_SIZE)
                .limit(bytes).slice();
    }

    /** True if the buffer can be handed to {@code O_DIRECT} I/O as it is. */
    static boolean isAligned(ByteBuffer buffer) {
        return buffer.isDirect()
                && buffer.alignmentOffset(buffer.position(), FlashLayout.BLOCK_SIZE) == 0
                && buffer.remaining() % FlashLayout.BLOCK_SIZE == 0;
    }

    /** CRC32C of {@code buffer[offset, offset + length)}. */
    static int crc32c(ByteBuffer buffer, int offset, int length) {
        CRC32C crc = new CRC32C();
        crc.update(buffer.slice(offset, length));
        return (int) crc.getValue();
    }

    /** True if {@code buffer[offset, offset + length)} is all zeroes. */
    static boolean isZero(ByteBuffer buffer, int offset, int length) {
        int i = offset;
        int end = offset + length;
        for (; i + Long.BYTES <= end; i += Long.BYTES) {
            if (buffer.getLong(i) != 0) {
                return false;
            }
        }
        for (; i < end; i++) {
            if (buffer.get(i) != 0) {
                return false;
            }
        }
        return true;
    }
}
