package io.flashvisor.replication.transport;

import static io.flashvisor.replication.protocol.FrameFormat.*;

import io.flashvisor.replication.protocol.MessageCodec;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.EncoderException;
import io.netty.handler.codec.MessageToByteEncoder;
import java.util.zip.CRC32C;

/**
 * Frames an {@link OutboundFrame}: header, payload, CRC32C, MAC (zeroes until the handshake
 * installs the send key). It numbers the frames: the sequence is assigned here, on the event loop,
 * in the order frames are written, which is the order they leave. Refuses a payload beyond the
 * peer's advertised limit (the peer would disconnect anyway; callers check first).
 */
final class FrameEncoder extends MessageToByteEncoder<OutboundFrame> {
    private final FrameKeys keys;
    private final CRC32C crc = new CRC32C();
    private long nextSequence;
    /** The peer's receive limit, learnt in the handshake; until then, the protocol's maximum. */
    int peerMaxPayload = MAX_MAX_PAYLOAD;

    FrameEncoder(FrameKeys keys) {
        super(OutboundFrame.class);
        this.keys = keys;
    }

    @Override
    protected ByteBuf allocateBuffer(ChannelHandlerContext ctx, OutboundFrame frame, boolean preferDirect) {
        return ctx.alloc().directBuffer(OVERHEAD + MessageCodec.payloadSize(frame.message()));
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, OutboundFrame frame, ByteBuf out) {
        int length = MessageCodec.payloadSize(frame.message());
        if (length > peerMaxPayload) {
            throw new EncoderException(frame.message().type() + " payload of " + length + " bytes exceeds the peer's limit of "
                    + peerMaxPayload);
        }
        int start = out.writerIndex();
        out.writeInt(MAGIC).writeByte(VERSION).writeByte(frame.message().type().code()).writeByte(0).writeByte(0)
                .writeInt(length).writeLong(frame.requestId()).writeLong(nextSequence++);
        MessageCodec.encode(frame.message(), out);
        int covered = out.writerIndex() - start;
        if (covered != HEADER_SIZE + length) {
            throw new EncoderException("codec wrote " + (covered - HEADER_SIZE) + " bytes for a " + length + "-byte " + frame.message().type());
        }
        crc.reset();
        for (java.nio.ByteBuffer b : out.nioBuffers(start, covered)) {
            crc.update(b);
        }
        out.writeInt((int) crc.getValue());
        int macIndex = out.writerIndex();
        out.writeZero(MAC_SIZE);
        if (keys.send != null) {
            keys.send.sign(out, start, covered, macIndex);
        }
    }
}
