package io.flashvisor.nbd.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.DefaultByteBufHolder;

/**
 * A transmission-phase reply, as the handlers produce it; {@link ReplyEncoder} turns it into bytes.
 * Every reply carries the cookie of its request. Only {@link Read} holds a buffer.
 */
sealed interface Reply permits Reply.Simple, Reply.Read, Reply.ErrorChunk, Reply.Done, Reply.BlockStatus {

    long cookie();

    /** A simple reply without data: success ({@code error == 0}) of anything but a read, or an error. */
    record Simple(long cookie, int error) implements Reply {
    }

    /**
     * The data of a successful read: a simple reply followed by the data, or (structured replies)
     * one final {@code NBD_REPLY_TYPE_OFFSET_DATA} chunk.
     */
    final class Read extends DefaultByteBufHolder implements Reply {
        private final long cookie;
        private final long offset;
        private final boolean structured;

        Read(long cookie, long offset, boolean structured, ByteBuf data) {
            super(data);
            this.cookie = cookie;
            this.offset = offset;
            this.structured = structured;
        }

        @Override
        public long cookie() {
            return cookie;
        }

        long offset() {
            return offset;
        }

        boolean structured() {
            return structured;
        }
    }

    /** A final {@code NBD_REPLY_TYPE_ERROR} chunk with a message for the human at the client. */
    record ErrorChunk(long cookie, int error, String message) implements Reply {
    }

    /** A final {@code NBD_REPLY_TYPE_NONE} chunk: success without content (e.g. a zero-length read). */
    record Done(long cookie) implements Reply {
    }

    /**
     * A final {@code NBD_REPLY_TYPE_BLOCK_STATUS} chunk. {@code descriptors} holds {@code count}
     * pairs of (unsigned 32-bit length, status flags).
     */
    record BlockStatus(long cookie, int contextId, int[] descriptors, int count) implements Reply {
    }
}
