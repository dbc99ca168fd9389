package io.flashvisor.backing.align;

import io.flashvisor.common.Ranges;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Turns arbitrary byte-addressed reads and writes into requests that are aligned to a block size,
 * for devices that only accept aligned I/O (a file opened with {@code O_DIRECT}, an NBD export
 * with a minimum block size). Thread-safe; internal to the backing module.
 *
 * <p>Design notes. A request is cut into at most three parts: a partial head block, an aligned
 * middle, and a partial tail block. The middle goes to the device as it is (in pieces of at most
 * {@code maxPiece} bytes) when the caller's buffer is usable there, otherwise through a bounce
 * buffer. A partial block is written by read-modify-write of the whole block, holding that
 * block's lock, so two concurrent writes to different bytes of the same block cannot undo each
 * other (the second read would otherwise see the block before the first write). Locks are
 * striped by block number: a fixed array, no per-block objects. Writes that cover whole blocks
 * take no lock: a full-block write racing a partial write of the same block is an overlapping
 * write, whose outcome NBD and the kernel leave unspecified as well.
 *
 * <p>With an alignment of 1 every request is aligned, so this class is a thin pass-through.
 */
public final class AlignedAccess {

    /** A device that accepts only aligned requests: offset and length multiples of the alignment. */
    public interface Device {
        /** Reads exactly {@code dst.remaining()} bytes at {@code offset}, advancing {@code dst}. */
        void readAligned(long offset, ByteBuffer dst) throws IOException;

        /** Writes exactly {@code src.remaining()} bytes at {@code offset}, advancing {@code src}. */
        void writeAligned(long offset, ByteBuffer src, boolean fua) throws IOException;

        /**
         * Whether the device can use this buffer directly; e.g. {@code O_DIRECT} needs a direct buffer
         * to start at an aligned address (the JDK bounces heap buffers itself).
         */
        default boolean accepts(ByteBuffer buffer) {
            return true;
        }
    }

    private static final int STRIPES = 256;

    private final Device device;
    private final int alignment;
    private final int maxPiece;
    private final ReentrantLock[] locks = new ReentrantLock[STRIPES];

    /**
     * @param alignment a power of two
     * @param maxPiece  largest request handed to the device at once; rounded down to the alignment
     */
    public AlignedAccess(Device device, int alignment, int maxPiece) {
        if (Integer.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment must be a power of two: " + alignment);
        }
        this.device = device;
        this.alignment = alignment;
        this.maxPiece = (int) Math.max(alignment, Ranges.alignDown(maxPiece, alignment));
        for (int i = 0; i < STRIPES; i++) {
            locks[i] = new ReentrantLock();
        }
    }

    public int alignment() {
        return alignment;
    }

    public void read(long offset, ByteBuffer dst) throws IOException {
        long pos = offset;
        while (dst.hasRemaining()) {
            long blockStart = Ranges.alignDown(pos, alignment);
            int inBlock = (int) (pos - blockStart);
            if (inBlock != 0 || dst.remaining() < alignment) {
                int n = Math.min(alignment - inBlock, dst.remaining());
                ByteBuffer block = ByteBuffer.allocate(alignment);
                device.readAligned(blockStart, block);
                dst.put(block.flip().position(inBlock).limit(inBlock + n));
                pos += n;
            } else {
                int n = (int) Ranges.alignDown(Math.min(dst.remaining(), maxPiece), alignment);
                ByteBuffer piece = dst.slice(dst.position(), n);
                if (device.accepts(piece)) {
                    device.readAligned(pos, piece);
                } else {
                    ByteBuffer bounce = ByteBuffer.allocate(n);
                    device.readAligned(pos, bounce);
                    piece.put(bounce.flip());
                }
                dst.position(dst.position() + n);
                pos += n;
            }
        }
    }

    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        long pos = offset;
        while (src.hasRemaining()) {
            long blockStart = Ranges.alignDown(pos, alignment);
            int inBlock = (int) (pos - blockStart);
            if (inBlock != 0 || src.remaining() < alignment) {
                int n = Math.min(alignment - inBlock, src.remaining());
                readModifyWrite(blockStart, inBlock, src.slice(src.position(), n), fua);
                src.position(src.position() + n);
                pos += n;
            } else {
                int n = (int) Ranges.alignDown(Math.min(src.remaining(), maxPiece), alignment);
                ByteBuffer piece = src.slice(src.position(), n);
                if (!device.accepts(piece)) {
                    piece = ByteBuffer.allocate(n).put(piece).flip();
                }
                device.writeAligned(pos, piece, fua);
                src.position(src.position() + n);
                pos += n;
            }
        }
    }

    private void readModifyWrite(long blockStart, int inBlock, ByteBuffer part, boolean fua) throws IOException {
        ReentrantLock lock = locks[(int) ((blockStart / alignment) & (STRIPES - 1))];
        lock.lock();
        try {
            ByteBuffer block = ByteBuffer.allocate(alignment);
            device.readAligned(blockStart, block);
            block.put(inBlock, part, part.position(), part.remaining());
            device.writeAligned(blockStart, block.clear(), fua);
        } finally {
            lock.unlock();
        }
    }
}
