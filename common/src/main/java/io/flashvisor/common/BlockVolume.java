package io.flashvisor.common;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * A randomly addressable array of bytes: what a VM sees as its disk, and what every layer of
 * Flashvisor offers to the layer above it (NBD server → cached volume → backing store).
 *
 * <p>Calls are blocking and thread-safe: the NBD server calls them concurrently from many
 * (virtual) threads, one per in-flight request. Callers validate ranges before calling
 * ({@link Ranges#check}); implementations may assume {@code 0 <= offset} and
 * {@code offset + length <= size()}. Failures are reported as {@link VolumeException} with a
 * {@link BlockError} so the NBD layer can map them to the wire's error codes.
 *
 * <p>Durability contract (the same as NBD's): a completed {@link #write} may sit in a volatile
 * cache until {@link #flush} returns, unless it was a {@code fua} write, which is durable when it
 * returns.
 */
public interface BlockVolume extends AutoCloseable {

    /** Size in bytes; fixed for the life of the volume. */
    long size();

    /** What this volume can do; the NBD server advertises exactly these. */
    VolumeFeatures features();

    /** Reads {@code dst.remaining()} bytes at {@code offset} into {@code dst}, advancing its position. */
    void read(long offset, ByteBuffer dst) throws IOException;

    /** Writes {@code src.remaining()} bytes at {@code offset}, advancing {@code src}'s position. */
    void write(long offset, ByteBuffer src, boolean fua) throws IOException;

    /**
     * The optional fast path of {@link #read}, for a caller on an event loop that must not block:
     * starts the read only if it can do so without waiting (e.g. every block is cached), and returns
     * a future that completes — on any thread — when {@code dst} is filled; or returns null, and
     * then the caller uses {@link #read} on a thread that may block. {@code dst} must stay valid
     * until the future completes. The default has no fast path.
     */
    default CompletableFuture<Void> tryReadAsync(long offset, ByteBuffer dst) {
        return null;
    }

    /**
     * The optional fast path of {@link #write}, with the same contract as {@link #tryReadAsync}:
     * null means "use {@link #write}"; otherwise the future completes once the write is as durable
     * as {@link #write} would have made it. {@code src} must stay unchanged until then.
     */
    default CompletableFuture<Void> tryWriteAsync(long offset, ByteBuffer src, boolean fua) {
        return null;
    }

    /** Makes every completed write durable. */
    void flush() throws IOException;

    /** Tells the volume the range is no longer needed; later reads may return any data. */
    void trim(long offset, long length, boolean fua) throws IOException;

    /**
     * Makes the range read back as zeroes.
     *
     * @param mayTrim  the volume may deallocate the range (NBD: no {@code NO_HOLE} flag)
     * @param fastOnly fail with {@link BlockError#NOT_SUPPORTED} rather than write zeroes slowly
     *                 (NBD {@code FAST_ZERO})
     */
    void writeZeroes(long offset, long length, boolean mayTrim, boolean fastOnly, boolean fua) throws IOException;

    /** A hint that the range will be read soon (NBD {@code CACHE}); by default it does nothing. */
    default void prefetch(long offset, long length) throws IOException {
    }

    /**
     * Describes the allocation of a range starting at {@code offset}: returns at least one extent
     * and at most {@code length} bytes' worth. By default everything is allocated data, which is
     * always a correct answer.
     */
    default Extent extentAt(long offset, long length) throws IOException {
        return new Extent(length, false, false);
    }

    /** Releases files and connections; idempotent. In-flight calls must be drained by the caller first. */
    @Override
    void close() throws IOException;
}
