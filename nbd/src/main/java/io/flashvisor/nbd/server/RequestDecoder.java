package io.flashvisor.nbd.server;

import io.flashvisor.nbd.wire.NbdConstants;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Splits the transmission-phase byte stream into {@link Request}s. Never consumes a partial frame:
 * it waits until the header and, for a write, the whole payload are readable, so at most
 * {@code 28 + maxPayload} bytes of one frame are ever buffered.
 *
 * <pre>
 *  0      4      6      8              16             24     28
 * +------+------+------+--------------+--------------+------+---------------------+
 * |magic |flags |type  |cookie        |offset        |length| payload (WRITE only)|
 * |2560  |u16   |u16   |u64           |u64           |u32   | length bytes        |
 * |9513  |      |      |              |              |      |                     |
 * +------+------+------+--------------+--------------+------+---------------------+
 * </pre>
 *
 * <p>Bad input: a wrong magic means the stream is out of step, so the decoder throws
 * {@link NbdProtocolException} (the handler disconnects) and ignores every later byte. A write
 * longer than {@code maxPayload} but no longer than {@link #DISCARD_LIMIT} (32 MiB, the size the
 * spec says must not be treated as an attack) has its payload skipped as it arrives, never
 * buffered, and is passed on with {@link Request#payloadDiscarded} set so the handler can answer
 * {@code EINVAL}. A longer write is a denial-of-service attempt or a desynchronised stream:
 * disconnect.
 */
final class RequestDecoder extends ByteToMessageDecoder {
    /** Writes up to this size are always read (and discarded if too large) rather than cut off. */
    static final long DISCARD_LIMIT = 32L << 20;

    /**
     * Write payloads below this size are copied out of the receive buffer rather than sliced: a
     * slice would pin the whole receive buffer (64 KiB or more) until the volume call ends and force
     * the next read to copy what is left into a new buffer. Larger payloads fill their own buffers,
     * and slicing them saves a big copy.
     */
    static final int COPY_BELOW = 64 * 1024;
    private final int maxPayload;
    /** Bytes of an oversized write payload still to skip, and the request waiting for them. */
    private long discardRemaining;
    private Request discarding;
    private boolean failed;

    RequestDecoder(int maxPayload) {
        this.maxPayload = maxPayload;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (discarding != null) {
            int n = (int) Math.min(discardRemaining, in.readableBytes());
            in.skipBytes(n);
            discardRemaining -= n;
            if (discardRemaining > 0) {
                return;
            }
            out.add(discarding);
            discarding = null;
            return;
        }
        if (in.readableBytes() < NbdConstants.REQUEST_HEADER_SIZE) {
            return;
        }
        int r = in.readerIndex();
        int magic = in.getInt(r);
        if (magic != NbdConstants.REQUEST_MAGIC) {
            fail(in);
            throw new NbdProtocolException("bad request magic 0x" + Integer.toHexString(magic));
        }
        int flags = in.getUnsignedShort(r + 4);
        int type = in.getUnsignedShort(r + 6);
        long cookie = in.getLong(r + 8);
        long offset = in.getLong(r + 16);
        long length = in.getUnsignedInt(r + 24);
        if (type != NbdConstants.CMD_WRITE) {
            in.skipBytes(NbdConstants.REQUEST_HEADER_SIZE);
            out.add(Request.withoutPayload(flags, type, cookie, offset, length));
            return;
        }
        if (length <= maxPayload) {
            if (in.readableBytes() < NbdConstants.REQUEST_HEADER_SIZE + length) {
                return; // wait for the whole payload; it is bounded by maxPayload
            }
            in.skipBytes(NbdConstants.REQUEST_HEADER_SIZE);
            ByteBuf payload = length < COPY_BELOW
                    ? ctx.alloc().directBuffer((int) length).writeBytes(in, (int) length)
                    : in.readRetainedSlice((int) length);
            out.add(new Request(flags, type, cookie, offset, length, payload, false));
            return;
        }
        if (length > Math.max(maxPayload, DISCARD_LIMIT)) {
            fail(in);
            throw new NbdProtocolException("write payload of " + length + " bytes exceeds the limit of "
                    + Math.max(maxPayload, DISCARD_LIMIT));
        }
        in.skipBytes(NbdConstants.REQUEST_HEADER_SIZE);
        discarding = new Request(flags, type, cookie, offset, length, io.netty.buffer.Unpooled.EMPTY_BUFFER, true);
        discardRemaining = length;
    }

    private void fail(ByteBuf in) {
        failed = true;
        in.skipBytes(in.readableBytes());
    }

    @Override
    protected void handlerRemoved0(ChannelHandlerContext ctx) {
        discarding = null; // holds no buffer
    }
}
