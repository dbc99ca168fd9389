package io.flashvisor.nbd.server;

import io.flashvisor.nbd.wire.NbdConstants;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;

/**
 * Splits the handshake byte stream into the client flags and then option requests. Never consumes
 * a partial frame.
 *
 * <pre>
 * Client flags (once):       Option request (repeated):
 *  0          4               0                  8          12         16
 * +----------+               +------------------+----------+----------+~~~~~~~~~~~~~~+
 * | flags u32|               | IHAVEOPT         |option u32|length u32| data         |
 * +----------+               +------------------+----------+----------+~~~~~~~~~~~~~~+
 * </pre>
 *
 * <p>Bad input: a wrong magic, or an option longer than {@link #MAX_OPTION_LENGTH}, throws
 * {@link NbdProtocolException} (the handler disconnects) before anything is allocated; every later
 * byte is ignored. No option this server understands comes near the bound: the longest legitimate
 * one is a meta-context request with a few 4 KiB strings.
 */
final class HandshakeDecoder extends ByteToMessageDecoder {
    /** 64 KiB: an export name (4 KiB) plus a generous number of queries or info requests. */
    static final int MAX_OPTION_LENGTH = 64 * 1024;
    private static final int OPTION_HEADER = 16;

    private boolean flagsRead;
    private boolean failed;

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (!flagsRead) {
            if (in.readableBytes() < 4) {
                return;
            }
            flagsRead = true;
            out.add(new HandshakeMessage.ClientFlags(in.readInt()));
            return;
        }
        if (in.readableBytes() < OPTION_HEADER) {
            return;
        }
        int r = in.readerIndex();
        long magic = in.getLong(r);
        if (magic != NbdConstants.IHAVEOPT) {
            fail(in);
            throw new NbdProtocolException("bad option magic 0x" + Long.toHexString(magic));
        }
        int option = in.getInt(r + 8);
        long length = in.getUnsignedInt(r + 12);
        if (length > MAX_OPTION_LENGTH) {
            fail(in);
            throw new NbdProtocolException("option " + Commands.optionName(option) + " with " + length
                    + " bytes of data exceeds the limit of " + MAX_OPTION_LENGTH);
        }
        if (in.readableBytes() < OPTION_HEADER + length) {
            return;
        }
        in.skipBytes(OPTION_HEADER);
        byte[] data = new byte[(int) length];
        in.readBytes(data);
        out.add(new HandshakeMessage.Option(option, data));
    }

    private void fail(ByteBuf in) {
        failed = true;
        in.skipBytes(in.readableBytes());
    }

    /** Bytes received but not yet decoded (used to detect data sent before a TLS upgrade was acknowledged). */
    int pendingBytes() {
        return actualReadableBytes();
    }
}
