package io.flashvisor.backing.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.GatheringByteChannel;
import java.nio.channels.ReadableByteChannel;

/** Blocking full reads and writes on a channel. */
final class Wire {
    private Wire() {
    }

    static void readFully(ReadableByteChannel ch, ByteBuffer dst) throws IOException {
        while (dst.hasRemaining()) {
            if (ch.read(dst) < 0) {
                throw new EOFException("the server closed the connection");
            }
        }
    }

    static void writeFully(GatheringByteChannel ch, ByteBuffer... srcs) throws IOException {
        long remaining = 0;
        for (ByteBuffer b : srcs) {
            remaining += b.remaining();
        }
        while (remaining > 0) {
            remaining -= ch.write(srcs);
        }
    }

    /** Reads and discards {@code n} bytes. */
    static void skip(ReadableByteChannel ch, long n, ByteBuffer scratch) throws IOException {
        while (n > 0) {
            scratch.clear().limit((int) Math.min(scratch.capacity(), n));
            readFully(ch, scratch);
            n -= scratch.limit();
        }
    }
}
