package io.flashvisor.nbd.server;

import static io.flashvisor.nbd.wire.NbdConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import org.junit.jupiter.api.Test;

@org.junit.jupiter.api.extension.ExtendWith(io.flashvisor.nbd.NettyLeakCheck.class)
class ReplyEncoderTest {

    private static String encode(Reply... replies) {
        EmbeddedChannel ch = new EmbeddedChannel(new ReplyEncoder());
        for (Reply r : replies) {
            ch.write(r, ch.voidPromise());
        }
        ch.flush();
        StringBuilder hex = new StringBuilder();
        ByteBuf b;
        while ((b = ch.readOutbound()) != null) {
            hex.append(ByteBufUtil.hexDump(b)).append('|');
            b.release();
        }
        ch.finishAndReleaseAll();
        return hex.toString();
    }

    @Test
    void simpleReplyIsSixteenBytes() {
        assertThat(encode(new Reply.Simple(0x0102030405060708L, EIO)))
                .isEqualTo("67446698" + "00000005" + "0102030405060708|");
    }

    @Test
    void simpleReadIsHeaderThenTheDataBufferItself() {
        ByteBuf data = Unpooled.directBuffer(4).writeInt(0xcafebabe);
        ByteBuf data2 = Unpooled.directBuffer(4).writeInt(0x01020304);
        assertThat(encode(new Reply.Read(1, 0, false, data), new Reply.Read(2, 0, false, data2)))
                .isEqualTo("67446698" + "00000000" + "0000000000000001|cafebabe|67446698000000000000000000000002|01020304|");
        assertThat(data.refCnt()).isZero();
    }

    @Test
    void structuredReadIsOneFinalOffsetDataChunk() {
        ByteBuf data = Unpooled.buffer(2).writeShort(0xabcd);
        assertThat(encode(new Reply.Read(7, 4096, true, data)))
                .isEqualTo("668e33ef" + "0001" + "0001" + "0000000000000007" + "0000000a" + "0000000000001000|abcd|");
    }

    @Test
    void errorChunkCarriesTheMessage() {
        assertThat(encode(new Reply.ErrorChunk(3, EPERM, "ro")))
                .isEqualTo("668e33ef" + "0001" + "8001" + "0000000000000003" + "00000008" + "00000001" + "0002" + "726f|");
    }

    @Test
    void errorMessagesAreCutAt4096BytesOnACharacterBoundary() {
        String message = "é".repeat(3000); // 6000 bytes of UTF-8
        EmbeddedChannel ch = new EmbeddedChannel(new ReplyEncoder());
        ch.writeAndFlush(new Reply.ErrorChunk(3, EIO, message));
        ByteBuf b = ch.readOutbound();
        assertThat(b.getInt(16)).isEqualTo(6 + 4096);
        assertThat(b.getUnsignedShort(24)).isEqualTo(4096);
        b.release();
        ch.finishAndReleaseAll();
    }

    @Test
    void noneAndBlockStatusChunks() {
        assertThat(encode(new Reply.Done(9))).isEqualTo("668e33ef" + "0001" + "0000" + "0000000000000009" + "00000000|");
        assertThat(encode(new Reply.BlockStatus(9, 1, new int[] {4096, 3, -1, 0, 99, 99}, 2)))
                .isEqualTo("668e33ef" + "0001" + "0005" + "0000000000000009" + "00000014" + "00000001"
                        + "00001000" + "00000003" + "ffffffff" + "00000000|");
    }
}
