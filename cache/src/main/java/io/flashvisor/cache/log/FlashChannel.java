package io.flashvisor.cache.log;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * The flash device as the log sees it: positional reads and writes of whole buffers, a durability
 * barrier and a size. This is the file-system boundary: implementations throw {@link IOException}
 * (and {@link DeviceFullException} for {@code ENOSPC}); {@link FlashLog} turns them into domain
 * errors in one place.
 *
 * <p>Implementations are thread-safe: the appender writes while readers read and the cleaner frees
 * segments. The log only ever passes 4 KiB-aligned positions and lengths; its own buffers are
 * 4 KiB-aligned direct buffers, but callers of {@link FlashLog#read} may pass any buffer, so a
 * channel that needs aligned memory ({@code O_DIRECT}) must bounce unsuitable buffers itself.
 */
public interface FlashChannel extends AutoCloseable {

    /**
     * Reads exactly {@code dst.remaining()} bytes at {@code position}, advancing {@code dst}'s position.
     *
     * @throws java.io.EOFException if the device ends first
     */
    void read(ByteBuffer dst, long position) throws IOException;

    /** Writes all of {@code src} at {@code position}, advancing {@code src}'s position. */
    void write(ByteBuffer src, long position) throws IOException;

    /**
     * Makes every completed write durable ({@code fdatasync}, or {@code fsync} with
     * {@code metadata}). A failure leaves it unknown which writes are durable.
     */
    void force(boolean metadata) throws IOException;

    /** The device size in bytes. */
    long size() throws IOException;

    /** Idempotent. */
    @Override
    void close() throws IOException;
}
