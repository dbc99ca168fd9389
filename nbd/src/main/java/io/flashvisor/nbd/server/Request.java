package io.flashvisor.nbd.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;
import io.netty.buffer.Unpooled;

/**
 * One decoded transmission request (spec "Request message"). Only {@code NBD_CMD_WRITE} carries a
 * payload; for every other command {@link #content()} is empty. Whoever receives a request owns it
 * and must {@link #release()} it.
 *
 * <p>{@link #payloadDiscarded} marks a write whose payload was larger than the server's maximum:
 * the decoder skipped those bytes without buffering them, and the handler answers with an error.
 */
final class Request extends DefaultByteBufHolder {
    final int flags;
    final int type;
    final long cookie;
    final long offset;
    /** Unsigned 32-bit length, widened. */
    final long length;
    final boolean payloadDiscarded;

    Request(int flags, int type, long cookie, long offset, long length, ByteBuf payload, boolean payloadDiscarded) {
        super(payload);
        this.flags = flags;
        this.type = type;
        this.cookie = cookie;
        this.offset = offset;
        this.length = length;
        this.payloadDiscarded = payloadDiscarded;
    }

    static Request withoutPayload(int flags, int type, long cookie, long offset, long length) {
        return new Request(flags, type, cookie, offset, length, Unpooled.EMPTY_BUFFER, false);
    }

    @Override
    public String toString() {
        return "cmd=" + Commands.name(type) + " flags=0x" + Integer.toHexString(flags) + " cookie=0x" + Long.toHexString(cookie)
                + " offset=" + Long.toUnsignedString(offset) + " length=" + length;
    }
}
