package io.flashvisor.nbd.server;

import static io.flashvisor.nbd.wire.NbdConstants.*;

import io.flashvisor.common.BlockVolume;
import io.flashvisor.common.Extent;
import io.flashvisor.common.VolumeException;
import io.netty.buffer.ByteBuf;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one validated request against the export's {@link BlockVolume} and builds its reply. Called
 * on a worker thread, because volume calls block; it touches no channel state. Never throws: a
 * failure of the volume becomes an error reply (mapped by {@link NbdErrors}) and a WARN log line
 * naming the export and the request.
 */
final class CommandRunner {
    private static final Logger LOG = LoggerFactory.getLogger(CommandRunner.class);

    /**
     * Most descriptors in one block-status chunk. The spec allows 2^20; a smaller cap bounds the
     * time one request holds a worker and the reply's size (128 KiB), and clients simply ask again
     * from where the reply ended.
     */
    static final int MAX_EXTENTS = 16 * 1024;

    private final Session session;
    private final BlockVolume volume;

    CommandRunner(Session session) {
        this.session = session;
        this.volume = session.export().volume();
    }

    /**
     * Runs {@code r}. For a read, {@code readBuffer} has room for {@code r.length} bytes and is owned
     * by the returned reply on success, released here on failure. Does not release {@code r}.
     */
    Reply run(Request r, ByteBuf readBuffer) {
        try {
            boolean fua = (r.flags & CMD_FLAG_FUA) != 0;
            switch (r.type) {
                case CMD_READ -> {
                    int n = (int) r.length;
                    ByteBuffer dst = readBuffer.nioBuffer(readBuffer.writerIndex(), n);
                    volume.read(r.offset, dst);
                    if (dst.hasRemaining()) {
                        throw new VolumeException(io.flashvisor.common.BlockError.IO,
                                "volume returned " + (n - dst.remaining()) + " of " + n + " bytes");
                    }
                    readBuffer.writerIndex(readBuffer.writerIndex() + n);
                    return new Reply.Read(r.cookie, r.offset, session.structuredReplies(), readBuffer);
                }
                case CMD_WRITE -> {
                    ByteBuffer src = r.content().nioBuffer();
                    volume.write(r.offset, src, fua);
                    if (src.hasRemaining()) {
                        throw new VolumeException(io.flashvisor.common.BlockError.IO,
                                "volume wrote " + (r.length - src.remaining()) + " of " + r.length + " bytes");
                    }
                }
                case CMD_FLUSH -> volume.flush();
                case CMD_TRIM -> volume.trim(r.offset, r.length, fua);
                case CMD_WRITE_ZEROES -> volume.writeZeroes(r.offset, r.length,
                        (r.flags & CMD_FLAG_NO_HOLE) == 0, (r.flags & CMD_FLAG_FAST_ZERO) != 0, fua);
                case CMD_CACHE -> volume.prefetch(r.offset, r.length);
                case CMD_BLOCK_STATUS -> {
                    return blockStatus(r);
                }
                default -> throw new IllegalStateException("not a validated command: " + r.type);
            }
            return new Reply.Simple(r.cookie, 0);
        } catch (Throwable t) {
            return failed(r, readBuffer, t);
        }
    }

    /** A failed volume call: releases the read buffer, logs, and builds the error reply. */
    private Reply failed(Request r, ByteBuf readBuffer, Throwable t) {
        if (readBuffer != null) {
            readBuffer.release();
        }
        int error = NbdErrors.errnoOf(t);
        String message = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        if (error == ENOTSUP && (r.flags & CMD_FLAG_FAST_ZERO) != 0) {
            LOG.debug("fast zero refused export={} request=[{}]", session.export().name(), r);
        } else {
            LOG.warn("volume error export={} request=[{}] error={} message=\"{}\"", session.export().name(), r,
                    NbdErrors.name(error), message, t instanceof VolumeException ? null : t);
        }
        return error(r.cookie, error, message);
    }

    /**
     * The volume's non-blocking fast path for a READ or WRITE, called on the event loop: a future of
     * the reply (never failing: errors become error replies, as in {@link #run}), or null when the
     * volume has no fast path for this request and it must {@link #run} on a worker. For a read,
     * {@code readBuffer} is owned as in {@link #run} once a future is returned.
     */
    CompletableFuture<Reply> tryFast(Request r, ByteBuf readBuffer) {
        boolean fua = (r.flags & CMD_FLAG_FUA) != 0;
        int n = (int) r.length;
        CompletableFuture<Void> started;
        try {
            started = switch (r.type) {
                case CMD_READ -> volume.tryReadAsync(r.offset, readBuffer.nioBuffer(readBuffer.writerIndex(), n));
                case CMD_WRITE -> volume.tryWriteAsync(r.offset, r.content().nioBuffer(), fua);
                default -> null;
            };
        } catch (Throwable t) {
            started = CompletableFuture.failedFuture(t);
        }
        if (started == null) {
            return null;
        }
        return started.handle((ok, failure) -> {
            if (failure != null) {
                Throwable t = failure instanceof java.util.concurrent.CompletionException && failure.getCause() != null
                        ? failure.getCause() : failure;
                return failed(r, readBuffer, t);
            }
            if (r.type == CMD_READ) {
                readBuffer.writerIndex(readBuffer.writerIndex() + n);
                return new Reply.Read(r.cookie, r.offset, session.structuredReplies(), readBuffer);
            }
            return new Reply.Simple(r.cookie, 0);
        });
    }

    /** The error reply: a chunk with a message when structured replies are on, else a simple reply. */
    Reply error(long cookie, int error, String message) {
        return session.structuredReplies() ? new Reply.ErrorChunk(cookie, error, message) : new Reply.Simple(cookie, error);
    }

    /**
     * Walks {@link BlockVolume#extentAt} from the request offset, merging neighbours with the same
     * status, until the requested length is covered or {@link #MAX_EXTENTS} descriptors are built.
     * With {@code REQ_ONE}, exactly one descriptor no longer than the request.
     */
    private Reply blockStatus(Request r) throws java.io.IOException {
        boolean one = (r.flags & CMD_FLAG_REQ_ONE) != 0;
        long pos = r.offset;
        long end = r.offset + r.length;
        int[] d = new int[16];
        int count = 0;
        int lastFlags = -1;
        while (pos < end) {
            Extent e = volume.extentAt(pos, end - pos);
            long len = Math.min(e.length(), end - pos); // total never exceeds the u32 request length
            int flags = (e.hole() ? STATE_HOLE : 0) | (e.zero() ? STATE_ZERO : 0);
            if (count > 0 && flags == lastFlags) {
                d[2 * count - 2] = (int) (Integer.toUnsignedLong(d[2 * count - 2]) + len);
            } else {
                if (count == MAX_EXTENTS) {
                    break;
                }
                if (2 * count == d.length) {
                    d = java.util.Arrays.copyOf(d, d.length * 2);
                }
                d[2 * count] = (int) len;
                d[2 * count + 1] = flags;
                count++;
                lastFlags = flags;
            }
            pos += len;
            if (one) {
                break;
            }
        }
        return new Reply.BlockStatus(r.cookie, session.metaContextId(), d, count);
    }
}
