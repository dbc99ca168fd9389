package io.flashvisor.replication.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flashvisor.replication.NettyLeakCheck;
import io.flashvisor.replication.protocol.FrameFormat;
import io.flashvisor.replication.protocol.FrameMac;
import io.flashvisor.replication.protocol.Handshakes;
import io.flashvisor.replication.protocol.Hello;
import io.flashvisor.replication.protocol.MessageCodec;
import io.flashvisor.replication.protocol.Messages;
import io.flashvisor.replication.protocol.PeerMessage;
import io.flashvisor.replication.protocol.Ping;
import io.flashvisor.replication.protocol.ProtocolException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderException;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import org.junit.jupiter.api.Test;

/** The frame codec without sockets: encoder on one embedded channel, decoder on another, keys shared. */
class FrameCodecTest {
    private static final byte[] KEY = new byte[32];

    private static EmbeddedChannel sender() {
        FrameKeys keys = new FrameKeys();
        keys.send = new FrameMac(KEY);
        return new EmbeddedChannel(new FrameEncoder(keys));
    }

    private static EmbeddedChannel receiver() {
        FrameKeys keys = new FrameKeys();
        keys.receive = new FrameMac(KEY);
        return new EmbeddedChannel(new FrameDecoder(keys, FrameFormat.DEFAULT_MAX_PAYLOAD));
    }

    private static byte[] encode(EmbeddedChannel sender, PeerMessage m, long requestId) {
        sender.writeOutbound(new OutboundFrame(requestId, m));
        ByteBuf b = sender.readOutbound();
        byte[] bytes = new byte[b.readableBytes()];
        b.readBytes(bytes);
        b.release();
        return bytes;
    }

    @Provide
    Arbitrary<PeerMessage> messages() {
        return Messages.any().filter(m -> !m.type().isHandshake()); // after the handshake, handshake frames are refused
    }

    @Property(tries = 500)
    void framesSurviveARoundTripInOrder(@ForAll("messages") PeerMessage a, @ForAll("messages") PeerMessage b) throws Exception {
        EmbeddedChannel out = sender();
        EmbeddedChannel in = receiver();
        byte[] both = RawPeer.concat(encode(out, a, 7), encode(out, b, 8));
        assertThat(both.length).isEqualTo(2 * FrameFormat.OVERHEAD + MessageCodec.payloadSize(a) + MessageCodec.payloadSize(b));
        // Delivered in two arbitrary pieces: the decoder never consumes a partial frame.
        int cut = both.length / 3;
        in.writeInbound(Unpooled.wrappedBuffer(both, 0, cut));
        in.writeInbound(Unpooled.wrappedBuffer(both, cut, both.length - cut));
        for (PeerMessage expected : List.of(a, b)) {
            InboundFrame f = in.readInbound();
            try {
                assertThat(f.type()).isEqualTo(expected.type());
                assertThat(MessageCodec.decode(f.type(), f.payload())).isEqualTo(expected);
            } finally {
                f.release();
            }
        }
        assertThat((Object) in.readInbound()).isNull();
        out.finishAndReleaseAll();
        in.finishAndReleaseAll();
    }

    /** Whichever bit of a frame is flipped, the receiver refuses it (or waits for bytes that never come): nothing is delivered. */
    @Property(tries = 1000)
    void anyFlippedBitIsCaught(@ForAll("messages") PeerMessage m, @ForAll("bits") int bitSeed) {
        byte[] frame = encode(sender(), m, 42);
        int bit = Math.floorMod(bitSeed, frame.length * 8);
        frame[bit / 8] ^= (byte) (1 << (bit % 8));
        EmbeddedChannel in = receiver();
        try {
            in.writeInbound(Unpooled.wrappedBuffer(frame));
        } catch (DecoderException expected) {
            assertThat(expected).hasCauseInstanceOf(ProtocolException.class);
        }
        assertThat((Object) in.readInbound()).isNull();
        in.finishAndReleaseAll();
    }

    @Provide
    Arbitrary<Integer> bits() {
        return Arbitraries.integers();
    }

    @Test
    void anOversizeLengthIsRefusedFromTheHeaderAlone() {
        EmbeddedChannel in = receiver();
        ByteBuf header = Unpooled.buffer().writeInt(FrameFormat.MAGIC).writeByte(1).writeByte(19).writeShort(0)
                .writeInt(FrameFormat.DEFAULT_MAX_PAYLOAD + 1).writeLong(1).writeLong(0);
        assertThatThrownBy(() -> in.writeInbound(header)).hasMessageContaining("exceeds the limit");
        in.finishAndReleaseAll();
    }

    @Test
    void aFrameOutOfSequenceIsRefused() {
        EmbeddedChannel out = sender();
        byte[] first = encode(out, new Ping(1), 1);
        byte[] second = encode(out, new Ping(2), 2);
        EmbeddedChannel in = receiver();
        assertThatThrownBy(() -> in.writeInbound(Unpooled.wrappedBuffer(second))).hasMessageContaining("sequence 1 where 0");
        in.finishAndReleaseAll();
        EmbeddedChannel again = receiver();
        again.writeInbound(Unpooled.wrappedBuffer(first));
        ((InboundFrame) again.readInbound()).release();
        assertThatThrownBy(() -> again.writeInbound(Unpooled.wrappedBuffer(first))).hasMessageContaining("replayed");
        again.finishAndReleaseAll();
        out.finishAndReleaseAll();
    }

    @Test
    void beforeTheHandshakeOnlyUnsignedHandshakeFramesPass() {
        FrameKeys none = new FrameKeys();
        EmbeddedChannel out = new EmbeddedChannel(new FrameEncoder(none));
        EmbeddedChannel in = new EmbeddedChannel(new FrameDecoder(new FrameKeys(), FrameFormat.DEFAULT_MAX_PAYLOAD));
        in.writeInbound(Unpooled.wrappedBuffer(encode(out, new Hello(1, FrameFormat.DEFAULT_MAX_PAYLOAD, Handshakes.newNonce()), 0)));
        ((InboundFrame) in.readInbound()).release();
        assertThatThrownBy(() -> in.writeInbound(Unpooled.wrappedBuffer(encode(out, new Ping(1), 1))))
                .hasMessageContaining("before the handshake completed");
        in.finishAndReleaseAll();
        out.finishAndReleaseAll();
    }

    @AfterContainer
    static void noLeaks() throws Exception {
        NettyLeakCheck.assertNoLeaks();
    }
}
