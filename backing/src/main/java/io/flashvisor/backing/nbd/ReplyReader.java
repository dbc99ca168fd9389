package io.flashvisor.backing.nbd;

import static io.flashvisor.nbd.wire.NbdConstants.CMD_BLOCK_STATUS;
import static io.flashvisor.nbd.wire.NbdConstants.REPLY_FLAG_DONE;
import static io.flashvisor.nbd.wire.NbdConstants.REPLY_TYPE_BLOCK_STATUS;
import static io.flashvisor.nbd.wire.NbdConstants.REPLY_TYPE_ERROR_OFFSET;
import static io.flashvisor.nbd.wire.NbdConstants.REPLY_TYPE_NONE;
import static io.flashvisor.nbd.wire.NbdConstants.REPLY_TYPE_OFFSET_DATA;
import static io.flashvisor.nbd.wire.NbdConstants.REPLY_TYPE_OFFSET_HOLE;
import static io.flashvisor.nbd.wire.NbdConstants.SIMPLE_REPLY_MAGIC;
import static io.flashvisor.nbd.wire.NbdConstants.STATE_HOLE;
import static io.flashvisor.nbd.wire.NbdConstants.STATE_ZERO;
import static io.flashvisor.nbd.wire.NbdConstants.STRUCTURED_REPLY_MAGIC;

import io.flashvisor.common.BlockError;
import io.flashvisor.common.Extent;
import io.flashvisor.common.VolumeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;

/**
 * Decodes the server's replies on the connection's one reader thread and hands each to the request
 * that waits for it, matched by cookie. Every field is checked; anything the spec calls a
 * violation throws, and the caller then breaks the connection (a byte stream that has lost its
 * framing cannot be trusted again).
 *
 * <pre>
 * simple reply      | 0x67446698 (4) | error (4) | cookie (8) | READ data if error == 0 (request length) |
 * structured chunk  | 0x668e33ef (4) | flags (2) | type (2) | cookie (8) | length (4) | payload (length) |
 *   OFFSET_DATA     | offset (8) | data (length - 8) |
 *   OFFSET_HOLE     | offset (8) | hole size (4) |
 *   BLOCK_STATUS    | context id (4) | { extent length (4) | status flags (4) } * n |
 *   ERROR           | error (4) | message length (2) | message |
 *   ERROR_OFFSET    | error (4) | message length (2) | message | offset (8) |
 * </pre>
 */
final class ReplyReader {

    /** What the reader needs from its client. */
    interface Requests {
        Pending lookup(long cookie);

        /** The reply is complete: remove the request and complete its future. */
        void finish(Pending p);
    }

    private static final int MAX_ERROR_CHUNK = 64 * 1024;
    private static final byte[] ZEROES = new byte[64 * 1024];
    private static final long MAX_BLOCK_STATUS_CHUNK = 4 + 8L * (1 << 20);

    private final ReadableByteChannel ch;
    private final Requests requests;
    private final boolean structured;
    private final int metaContextId;
    private final String where;
    private final ByteBuffer header = ByteBuffer.allocate(20);
    private final ByteBuffer scratch = ByteBuffer.allocate(64 * 1024);

    ReplyReader(ReadableByteChannel ch, Requests requests, boolean structured, int metaContextId, String where) {
        this.ch = ch;
        this.requests = requests;
        this.structured = structured;
        this.metaContextId = metaContextId;
        this.where = where;
    }

    /** Reads and dispatches one reply message (a simple reply or one structured chunk). */
    void readOne() throws IOException {
        int magic = read(header, 4).getInt(0);
        if (magic == SIMPLE_REPLY_MAGIC) {
            simple();
        } else if (magic == STRUCTURED_REPLY_MAGIC) {
            if (!structured) {
                throw protocol("structured reply, but structured replies were not negotiated");
            }
            structuredChunk();
        } else {
            throw protocol("bad reply magic 0x" + Integer.toHexString(magic));
        }
    }

    private void simple() throws IOException {
        ByteBuffer h = read(header, 12);
        int error = h.getInt(0);
        Pending p = pending(h.getLong(4));
        if (error == 0 && p.isRead()) {
            if (structured) {
                // We could not tell whether data follows: the spec forbids this, and framing is lost.
                throw protocol("simple reply with data to " + p.describe() + " although structured replies were negotiated");
            }
            Wire.readFully(ch, p.dst.duplicate().clear());
            p.cover(p.offset, p.length);
        }
        if (error == 0 && p.command == CMD_BLOCK_STATUS) {
            throw protocol("simple reply to " + p.describe() + " carries no block status");
        }
        if (error != 0) {
            p.error(error, "");
        }
        complete(p);
    }

    private void structuredChunk() throws IOException {
        ByteBuffer h = read(header, 16);
        int flags = h.getShort(0) & 0xffff;
        int type = h.getShort(2) & 0xffff;
        Pending p = pending(h.getLong(4));
        long length = h.getInt(12) & 0xffffffffL;
        switch (type) {
            case REPLY_TYPE_NONE -> {
                if (length != 0 || (flags & REPLY_FLAG_DONE) == 0) {
                    throw protocol("NONE chunk must be empty and final");
                }
            }
            case REPLY_TYPE_OFFSET_DATA -> offsetData(p, length);
            case REPLY_TYPE_OFFSET_HOLE -> offsetHole(p, length);
            case REPLY_TYPE_BLOCK_STATUS -> blockStatus(p, length);
            default -> {
                if ((type & 0x8000) == 0) {
                    throw protocol("unknown structured reply type " + type + " for " + p.describe());
                }
                error(p, type, length);
            }
        }
        if ((flags & REPLY_FLAG_DONE) != 0) {
            complete(p);
        }
    }

    private void complete(Pending p) throws VolumeException {
        if (p.errno() == 0 && p.isRead() && !p.fullyCovered()) {
            throw protocol("successful reply to " + p.describe() + " does not cover the whole range");
        }
        if (p.errno() == 0 && p.command == CMD_BLOCK_STATUS && p.extent() == null) {
            throw protocol("successful reply to " + p.describe() + " has no BLOCK_STATUS chunk");
        }
        requests.finish(p);
    }

    private void offsetData(Pending p, long length) throws IOException {
        if (!p.isRead() || length < 9) {
            throw protocol("OFFSET_DATA chunk of " + length + " bytes for " + p.describe());
        }
        long from = read(header, 8).getLong(0);
        long n = length - 8;
        if (!p.within(from, n) || !p.cover(from, n)) {
            throw protocol("OFFSET_DATA [" + from + ", +" + n + ") is outside " + p.describe() + " or overlaps an earlier chunk");
        }
        int at = (int) (from - p.offset);
        Wire.readFully(ch, p.dst.slice(at, (int) n));
    }

    private void offsetHole(Pending p, long length) throws IOException {
        if (!p.isRead() || length != 12) {
            throw protocol("OFFSET_HOLE chunk of " + length + " bytes for " + p.describe());
        }
        ByteBuffer b = read(header, 12);
        long from = b.getLong(0);
        long n = b.getInt(8) & 0xffffffffL;
        if (n == 0 || !p.within(from, n) || !p.cover(from, n)) {
            throw protocol("OFFSET_HOLE [" + from + ", +" + n + ") is empty, outside " + p.describe() + " or overlaps");
        }
        int at = (int) (from - p.offset);
        for (int done = 0; done < n; ) {
            int m = (int) Math.min(ZEROES.length, n - done);
            p.dst.put(at + done, ZEROES, 0, m);
            done += m;
        }
    }

    private void blockStatus(Pending p, long length) throws IOException {
        if (p.command != CMD_BLOCK_STATUS || length < 12 || (length - 4) % 8 != 0 || length > MAX_BLOCK_STATUS_CHUNK) {
            throw protocol("BLOCK_STATUS chunk of " + length + " bytes for " + p.describe());
        }
        ByteBuffer b = read(header, 12);
        int id = b.getInt(0);
        long extentLength = b.getInt(4) & 0xffffffffL;
        int status = b.getInt(8);
        Wire.skip(ch, length - 12, scratch);
        if (id != metaContextId || p.extent() != null || extentLength == 0) {
            throw protocol("BLOCK_STATUS for context " + id + " (expected " + metaContextId + "), repeated, or with an empty extent");
        }
        // With REQ_ONE the extent must not exceed the request; cap it anyway, as BlockVolume promises.
        p.extent(new Extent(Math.min(extentLength, p.length), (status & STATE_HOLE) != 0, (status & STATE_ZERO) != 0));
    }

    private void error(Pending p, int type, long length) throws IOException {
        if (length < 6 || length > MAX_ERROR_CHUNK) {
            throw protocol("error chunk of " + length + " bytes for " + p.describe());
        }
        ByteBuffer b = read(scratch, (int) length);
        int errno = b.getInt(0);
        int messageLength = b.getShort(4) & 0xffff;
        int fixedTail = type == REPLY_TYPE_ERROR_OFFSET ? 8 : 0;
        if (errno == 0 || messageLength > length - 6 - fixedTail) {
            throw protocol("error chunk with error 0 or a message longer than the chunk for " + p.describe());
        }
        String message = StandardCharsets.UTF_8.decode(b.slice(6, messageLength)).toString();
        if (type == REPLY_TYPE_ERROR_OFFSET) {
            long at = b.getLong(6 + messageLength);
            if (!p.within(at, 0) || at == p.offset + p.length) {
                throw protocol("ERROR_OFFSET at " + at + " is outside " + p.describe());
            }
            message = message + (message.isEmpty() ? "" : " ") + "(at offset " + at + ")";
        }
        p.error(errno, message);
    }

    private Pending pending(long cookie) throws VolumeException {
        Pending p = requests.lookup(cookie);
        if (p == null) {
            throw protocol("reply for unknown cookie " + cookie);
        }
        return p;
    }

    private ByteBuffer read(ByteBuffer buffer, int n) throws IOException {
        buffer.clear().limit(n);
        Wire.readFully(ch, buffer);
        return buffer.flip();
    }

    private VolumeException protocol(String why) {
        return new VolumeException(BlockError.IO, "protocol violation by " + where + ": " + why);
    }
}
