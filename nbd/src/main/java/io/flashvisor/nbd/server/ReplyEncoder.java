package io.flashvisor.nbd.server;

import static io.flashvisor.nbd.wire.NbdConstants.*;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.MessageToMessageEncoder;
import java.util.List;

/**
 * Writes {@link Reply}s. Read data is never copied: the encoder emits a small header buffer and
 * then the data buffer itself, which the transport sends with one gathering write.
 *
 * <pre>
 * Simple reply (16 bytes, then the data of a successful simple READ):
 *  0          4          8                  16
 * +----------+----------+------------------+~~~~~~~~~~~~~~~+
 * | 67446698 | error u32| cookie u64       | data (READ)   |
 * +----------+----------+------------------+~~~~~~~~~~~~~~~+
 *
 * Structured reply chunk (20-byte header, then length bytes of payload):
 *  0          4      6      8                  16         20
 * +----------+------+------+------------------+----------+~~~~~~~~~~~~~~~~~~~~~~~~~~~+
 * | 668e33ef |flags |type  | cookie u64       |length u32| payload                   |
 * +----------+------+------+------------------+----------+~~~~~~~~~~~~~~~~~~~~~~~~~~~+
 *   OFFSET_DATA  payload: offset u64, data
 *   ERROR        payload: error u32, message length u16, message
 *   BLOCK_STATUS payload: context id u32, then (extent length u32, flags u32) ...
 *   NONE         no payload
 * </pre>
 *
 * Every chunk this server sends carries {@code NBD_REPLY_FLAG_DONE}: each reply is one chunk.
 */
final class ReplyEncoder extends MessageToMessageEncoder<Reply> {

    ReplyEncoder() {
        super(Reply.class);
    }

    @Override
    protected void encode(ChannelHandlerContext ctx, Reply msg, List<Object> out) {
        switch (msg) {
            case Reply.Simple s -> out.add(simpleHeader(ctx, s.cookie(), s.error()));
            case Reply.Read r -> {
                ByteBuf data = r.content();
                if (r.structured()) {
                    ByteBuf h = chunkHeader(ctx, 8, REPLY_TYPE_OFFSET_DATA, r.cookie(), 8 + data.readableBytes());
                    h.writeLong(r.offset());
                    out.add(h);
                } else {
                    out.add(simpleHeader(ctx, r.cookie(), 0));
                }
                out.add(data.retain()); // the encoder releases msg, and with it one reference
            }
            case Reply.ErrorChunk e -> {
                byte[] message = Strings.truncatedUtf8(e.message(), MAX_STRING);
                ByteBuf h = chunkHeader(ctx, 6 + message.length, REPLY_TYPE_ERROR, e.cookie(), 6 + message.length);
                h.writeInt(e.error()).writeShort(message.length).writeBytes(message);
                out.add(h);
            }
            case Reply.Done d -> out.add(chunkHeader(ctx, 0, REPLY_TYPE_NONE, d.cookie(), 0));
            case Reply.BlockStatus b -> {
                int payload = 4 + 8 * b.count();
                ByteBuf h = chunkHeader(ctx, payload, REPLY_TYPE_BLOCK_STATUS, b.cookie(), payload);
                h.writeInt(b.contextId());
                int[] d = b.descriptors();
                for (int i = 0; i < 2 * b.count(); i++) {
                    h.writeInt(d[i]);
                }
                out.add(h);
            }
        }
    }

    private static ByteBuf simpleHeader(ChannelHandlerContext ctx, long cookie, int error) {
        return ctx.alloc().ioBuffer(SIMPLE_REPLY_HEADER_SIZE)
                .writeInt(SIMPLE_REPLY_MAGIC).writeInt(error).writeLong(cookie);
    }

    /** A chunk header with room for {@code extra} payload bytes that the caller writes next. */
    private static ByteBuf chunkHeader(ChannelHandlerContext ctx, int extra, int type, long cookie, int length) {
        return ctx.alloc().ioBuffer(STRUCTURED_REPLY_HEADER_SIZE + extra)
                .writeInt(STRUCTURED_REPLY_MAGIC).writeShort(REPLY_FLAG_DONE).writeShort(type)
                .writeLong(cookie).writeInt(length);
    }
}
