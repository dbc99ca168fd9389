package io.flashvisor.replication.transport;

import static io.flashvisor.replication.protocol.FrameFormat.*;

import io.flashvisor.replication.protocol.ErrorCode;
import io.flashvisor.replication.protocol.MessageType;
import io.flashvisor.replication.protocol.ProtocolException;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * Splits the byte stream into {@link InboundFrame}s and checks each before anyone sees it (layout
 * in {@link io.flashvisor.replication.protocol.FrameFormat}). Never consumes a partial frame, and
 * checks magic, version and length from the header alone, so a length beyond this side's limit
 * is refused before a byte of its payload is awaited: at most {@code 48 + maxPayload} bytes of a
 * frame are ever buffered.
 *
 * <p>Then, in this order: CRC32C (corruption), sequence (a dropped, replayed or reordered frame),
 * MAC (forgery; before the handshake completes the MAC must be zero and only handshake frames and
 * ERROR are accepted), type (unknown, or a handshake frame after the handshake), flags (must be
 * zero in version 1). Any failure throws {@link ProtocolException}; from then on the decoder
 * ignores every byte and the handler closes the connection.
 */
final class FrameDecoder extends ByteToMessageDecoder {
    /** Payloads below this size are copied out of the receive buffer rather than sliced, so a small frame does not pin a large buffer. */
    static final int COPY_BELOW = 64 * 1024;

    private final FrameKeys keys;
    private final int maxPayload;
    private final CRC32C crc = new CRC32C();
    private long expectedSequence;
    private boolean failed;

    FrameDecoder(FrameKeys keys, int maxPayload) {
        this.keys = keys;
        this.maxPayload = maxPayload;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (failed) {
            in.skipBytes(in.readableBytes());
            return;
        }
        if (in.readableBytes() < HEADER_SIZE) {
            return;
        }
        int r = in.readerIndex();
        int magic = in.getInt(r + OFFSET_MAGIC);
        if (magic != MAGIC) {
            throw fail(in, ErrorCode.PROTOCOL, "bad magic 0x" + Integer.toHexString(magic) + " (not a replication peer, or the stream is out of step)");
        }
        int version = in.getUnsignedByte(r + OFFSET_VERSION);
        if (version != VERSION) {
            throw fail(in, ErrorCode.UNSUPPORTED_VERSION, "protocol version " + version + " is not supported (this host speaks " + VERSION + ")");
        }
        long length = in.getUnsignedInt(r + OFFSET_LENGTH);
        if (length > maxPayload) {
            throw fail(in, ErrorCode.PROTOCOL, "frame payload of " + length + " bytes exceeds the limit of " + maxPayload);
        }
        int total = HEADER_SIZE + (int) length + TRAILER_SIZE;
        if (in.readableBytes() < total) {
            return; // bounded by maxPayload, checked above
        }
        int covered = HEADER_SIZE + (int) length;
        crc.reset();
        for (java.nio.ByteBuffer b : in.nioBuffers(r, covered)) {
            crc.update(b);
        }
        int sent = in.getInt(r + covered);
        if ((int) crc.getValue() != sent) {
            throw fail(in, ErrorCode.PROTOCOL, "bad frame checksum (corrupted in transit)");
        }
        long sequence = in.getLong(r + OFFSET_SEQUENCE);
        if (sequence != expectedSequence) {
            throw fail(in, ErrorCode.PROTOCOL, "frame sequence " + sequence + " where " + expectedSequence
                    + " was due (a replayed, dropped or reordered frame)");
        }
        int typeCode = in.getUnsignedByte(r + OFFSET_TYPE);
        MessageType type = MessageType.fromCode(typeCode);
        if (keys.receive != null) {
            if (!keys.receive.verify(in, r, covered, r + covered + CRC_SIZE)) {
                throw fail(in, ErrorCode.AUTHENTICATION, "bad frame MAC (forged, replayed from another connection, or a different session key)");
            }
            if (type != null && type.isHandshake()) {
                throw fail(in, ErrorCode.PROTOCOL, "handshake frame " + type + " after the handshake completed");
            }
        } else {
            if (type == null || !(type.isHandshake() || type == MessageType.ERROR)) {
                throw fail(in, ErrorCode.AUTHENTICATION, "frame type " + (type == null ? typeCode : type)
                        + " before the handshake completed");
            }
            if (!zeroes(in, r + covered + CRC_SIZE, MAC_SIZE)) {
                throw fail(in, ErrorCode.PROTOCOL, "a handshake frame with a non-zero MAC");
            }
        }
        if (type == null) {
            throw fail(in, ErrorCode.PROTOCOL, "unknown frame type " + typeCode);
        }
        int flags = in.getUnsignedByte(r + OFFSET_FLAGS) | in.getUnsignedByte(r + OFFSET_RESERVED);
        if (flags != 0) {
            throw fail(in, ErrorCode.PROTOCOL, "non-zero flags or reserved byte in a version " + VERSION + " frame");
        }
        long requestId = in.getLong(r + OFFSET_REQUEST_ID);
        expectedSequence++;
        ByteBuf payload;
        if (length == 0) {
            payload = io.netty.buffer.Unpooled.EMPTY_BUFFER;
        } else if (length < COPY_BELOW) {
            payload = ctx.alloc().directBuffer((int) length).writeBytes(in, r + HEADER_SIZE, (int) length);
        } else {
            payload = in.retainedSlice(r + HEADER_SIZE, (int) length);
        }
        in.skipBytes(total);
        out.add(new InboundFrame(type, requestId, payload));
    }

    private static boolean zeroes(ByteBuf in, int index, int length) {
        int or = 0;
        for (int i = 0; i < length; i++) {
            or |= in.getByte(index + i);
        }
        return or == 0;
    }

    private ProtocolException fail(ByteBuf in, ErrorCode code, String message) {
        failed = true;
        in.skipBytes(in.readableBytes());
        return new ProtocolException(code, message);
    }
}
