package io.flashvisor.replication.protocol;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class MessageCodecTest {

    @Provide
    Arbitrary<PeerMessage> messages() {
        return Messages.any();
    }

    @Property(tries = 2000)
    void everyMessageSurvivesARoundTrip(@ForAll("messages") PeerMessage m) throws Exception {
        ByteBuf b = Unpooled.buffer();
        MessageCodec.encode(m, b);
        assertThat(b.readableBytes()).isEqualTo(MessageCodec.payloadSize(m));
        assertThat(MessageCodec.decode(m.type(), b)).isEqualTo(m);
    }

    /** Any bytes under any type either decode or are refused as malformed: never another exception. */
    @Property(tries = 3000)
    void garbageIsRefusedCleanly(@ForAll("types") MessageType type, @ForAll("garbage") byte[] payload) {
        try {
            PeerMessage m = MessageCodec.decode(type, Unpooled.wrappedBuffer(payload));
            assertThat(m.type()).isEqualTo(type);
        } catch (MalformedMessageException expected) {
            // the point
        }
    }

    @Provide
    Arbitrary<MessageType> types() {
        return Arbitraries.of(MessageType.class);
    }

    @Provide
    Arbitrary<byte[]> garbage() {
        return Arbitraries.bytes().array(byte[].class).ofMaxSize(200);
    }

    /** A truncated or padded message of every type is refused: lengths are exact. */
    @Property(tries = 500)
    void wrongLengthIsMalformed(@ForAll("messages") PeerMessage m, @ForAll("delta") int delta) {
        ByteBuf b = Unpooled.buffer();
        MessageCodec.encode(m, b);
        int size = b.readableBytes() + delta;
        if (size < 0 || (m instanceof Data && size % FrameFormat.BLOCK_SIZE == 0)) {
            return;
        }
        b.writeZero(Math.max(0, delta));
        ByteBuf cut = b.slice(0, size);
        assertThatThrownBy(() -> MessageCodec.decode(m.type(), cut)).isInstanceOf(MalformedMessageException.class);
    }

    @Provide
    Arbitrary<Integer> delta() {
        return Arbitraries.of(-13, -12, -4, -1, 1, 4, 12);
    }

    @Test
    void aReleaseCountBeyondThePayloadIsRefusedBeforeAllocating() {
        ByteBuf b = Unpooled.buffer();
        b.writeLong(1).writeLong(2).writeLong(3).writeLong(4).writeInt(-1); // 4 billion ranges claimed, none present
        assertThatThrownBy(() -> MessageCodec.decode(MessageType.RELEASE, b)).isInstanceOf(MalformedMessageException.class)
                .hasMessageContaining("4294967295 ranges");
    }

    @Test
    void aReplicateWhoseCountDisagreesWithItsDataIsMalformed() {
        Replicate r = new Replicate(1, 2, 3, 4, 5, 2, 6, Messages.blockData(2, 7));
        ByteBuf b = Unpooled.buffer();
        MessageCodec.encode(r, b);
        b.setInt(48, 3);
        assertThatThrownBy(() -> MessageCodec.decode(MessageType.REPLICATE, b)).hasMessageContaining("instead of");
        b.setInt(48, Integer.MIN_VALUE);
        assertThatThrownBy(() -> MessageCodec.decode(MessageType.REPLICATE, b)).hasMessageContaining("not positive");
    }

    @Test
    void longTextsAreClippedToWhatTheWireCarries() throws Exception {
        Nack n = new Nack(NackCode.IO, "é".repeat(5000));
        ByteBuf b = Unpooled.buffer();
        MessageCodec.encode(n, b);
        assertThat(b.readableBytes()).isLessThanOrEqualTo(4 + 1024);
        assertThat(((Nack) MessageCodec.decode(MessageType.NACK, b)).message()).isEqualTo("é".repeat(512));
    }

    @Test
    void unknownCodesDecodeAsUnknownNotAsFailure() throws Exception {
        ByteBuf b = Unpooled.buffer().writeShort(999).writeShort(0);
        assertThat(MessageCodec.decode(MessageType.NACK, b)).isEqualTo(new Nack(NackCode.UNKNOWN, ""));
        assertThat(List.of(MessageType.values())).allSatisfy(t -> assertThat(MessageType.fromCode(t.code())).isSameAs(t));
        assertThat(MessageType.fromCode(99)).isNull();
    }
}
