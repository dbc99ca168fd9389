package io.flashvisor.nbd.server;

import io.flashvisor.nbd.wire.NbdConstants;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToByteEncoder;

/**
 * Writes the server's side of the handshake.
 *
 * <pre>
 * Greeting (18 bytes):
 * +------------------+------------------+-----------+
 * | NBDMAGIC         | IHAVEOPT         | flags u16 |
 * +------------------+------------------+-----------+
 *
 * Option reply (20-byte header, then length bytes of data):
 * +------------------+----------+----------+----------+~~~~~~~~~~~~~~+
 * | 0003e889045565a9 |option u32|type u32  |length u32| data         |
 * +------------------+----------+----------+----------+~~~~~~~~~~~~~~+
 *
 * NBD_OPT_EXPORT_NAME reply (10 bytes, plus 124 zeroes unless NO_ZEROES was negotiated):
 * +------------------+-----------+~~~~~~~~~~~~~~~~+
 * | size u64         | flags u16 | zeroes (124)   |
 * +------------------+-----------+~~~~~~~~~~~~~~~~+
 * </pre>
 */
final class HandshakeEncoder extends MessageToByteEncoder<HandshakeMessage> {

    HandshakeEncoder() {
        super(HandshakeMessage.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, HandshakeMessage msg, ByteBuf out) {
        switch (msg) {
            case HandshakeMessage.Greeting g -> out.writeLong(NbdConstants.NBDMAGIC).writeLong(NbdConstants.IHAVEOPT)
                    .writeShort(g.handshakeFlags());
            case HandshakeMessage.OptionReply r -> out.writeLong(NbdConstants.OPTION_REPLY_MAGIC).writeInt(r.option())
                    .writeInt(r.type()).writeInt(r.data().length).writeBytes(r.data());
            case HandshakeMessage.ExportNameReply e -> {
                out.writeLong(e.size()).writeShort(e.transmissionFlags());
                if (e.zeroes()) {
                    out.writeZero(124);
                }
            }
            case HandshakeMessage.ClientFlags c -> throw new IllegalArgumentException("inbound message: " + c);
            case HandshakeMessage.Option o -> throw new IllegalArgumentException("inbound message: " + o);
        }
    }
}
