package io.flashvisor.nbd.server;

import static io.flashvisor.nbd.wire.NbdConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.flashvisor.nbd.Export;
import io.flashvisor.nbd.ExportCatalog;
import io.flashvisor.nbd.MemoryVolume;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Random and hostile input against the real codec and handlers, fed in random chunk splits: no
 * exception may escape, nothing may be allocated beyond the protocol's bounds, every buffer must be
 * released, and what the server sends must be well-formed (or the connection closed).
 */
class ProtocolPropertiesTest {
    static final int MAX_PAYLOAD = 16 * 1024;
    static final int SIZE = 256 * 1024;

    static ExportCatalog catalog() {
        ExportCatalog c = new ExportCatalog();
        c.add(new Export("disk", "d", new MemoryVolume(SIZE)));
        c.add(new Export("ro", "r", new MemoryVolume(SIZE, io.flashvisor.common.VolumeFeatures.full().withReadOnly(true))));
        return c;
    }

    /** Sends {@code bytes} cut at the given (sorted, deduplicated) positions. */
    static void sendSplit(TestConnection c, byte[] bytes, List<Integer> cuts) {
        int start = 0;
        for (int cut : cuts.stream().map(x -> Math.floorMod(x, bytes.length + 1)).sorted().distinct().toList()) {
            if (cut > start) {
                c.send(java.util.Arrays.copyOfRange(bytes, start, cut));
                start = cut;
            }
        }
        if (start < bytes.length) {
            c.send(java.util.Arrays.copyOfRange(bytes, start, bytes.length));
        }
    }

    // ---- handshake ----

    @Provide
    Arbitrary<byte[]> option() {
        Arbitrary<Integer> code = Arbitraries.oneOf(Arbitraries.of(OPT_LIST, OPT_INFO, OPT_GO, OPT_STRUCTURED_REPLY,
                OPT_LIST_META_CONTEXT, OPT_SET_META_CONTEXT, OPT_STARTTLS, OPT_PEEK_EXPORT, OPT_EXTENDED_HEADERS),
                Arbitraries.integers());
        Arbitrary<byte[]> data = Arbitraries.oneOf(
                Arbitraries.bytes().array(byte[].class).ofMaxSize(64),
                Arbitraries.of(Frames.exportQuery("nope", 0, 1, 2, 3), Frames.metaQuery("disk", "base:", "base:allocation"),
                        Frames.metaQuery("disk", "x:y"), Frames.exportQuery("disk").length > 0 ? new byte[] {0, 0, 0, 4, 'd'} : new byte[0]));
        Arbitrary<byte[]> wellFormed = Combinators.combine(code, data).as(Frames::option);
        Arbitrary<byte[]> lyingLength = Combinators.combine(code, Arbitraries.integers(), data)
                .as((o, len, d) -> Frames.concat(ByteBuffer.allocate(16).putLong(IHAVEOPT).putInt(o).putInt(len).array(), d));
        Arbitrary<byte[]> garbage = Arbitraries.bytes().array(byte[].class).ofMinSize(1).ofMaxSize(40);
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(10, wellFormed), net.jqwik.api.Tuple.of(2, lyingLength), net.jqwik.api.Tuple.of(1, garbage));
    }

    @Property(tries = 300)
    void handshakeNeverThrowsLeaksOrOverallocates(@ForAll int clientFlags, @ForAll @Size(max = 8) List<@net.jqwik.api.From("option") byte[]> options,
                                                   @ForAll @Size(max = 10) List<Integer> cuts, @ForAll boolean validFlags) {
        TestConnection c = new TestConnection(catalog(), MAX_PAYLOAD, Runnable::run, new ConnectionRegistry(), null);
        try {
            int flags = validFlags ? clientFlags & 3 : clientFlags;
            byte[] stream = Frames.concat(Frames.clientFlags(flags), Frames.concat(options.toArray(byte[][]::new)));
            sendSplit(c, stream, cuts);
            c.channel.checkException();
            assertThat(c.alloc.largest()).isLessThanOrEqualTo(2 * (HandshakeDecoder.MAX_OPTION_LENGTH + stream.length));
            // The server's bytes: the greeting, then well-formed option replies.
            ByteBuf out = Unpooled.wrappedBuffer(c.readBytes(c.available()));
            assertThat(out.readLong()).isEqualTo(NBDMAGIC);
            assertThat(out.readLong()).isEqualTo(IHAVEOPT);
            out.readShort();
            while (out.isReadable()) {
                if (c.channel.pipeline().get(TransmissionHandler.class) != null && out.readableBytes() < 20) {
                    break;
                }
                assertThat(out.readableBytes()).isGreaterThanOrEqualTo(20);
                assertThat(out.readLong()).isEqualTo(OPTION_REPLY_MAGIC);
                out.readInt();
                int type = out.readInt();
                assertThat(type == REP_ACK || type == REP_SERVER || type == REP_INFO || type == REP_META_CONTEXT
                        || (type >= REP_ERR_UNSUP && type <= REP_ERR_TOO_BIG)).as("reply type %x", type).isTrue();
                long length = out.readUnsignedInt();
                assertThat(length).isLessThanOrEqualTo(out.readableBytes());
                out.skipBytes((int) length);
            }
        } finally {
            c.close();
        }
    }

    // ---- transmission ----

    record Req(int flags, int type, long cookie, long offset, long length, boolean badMagic, boolean withPayload) {
        byte[] bytes() {
            byte[] header = Frames.request(flags, type, cookie, offset, length);
            if (badMagic) {
                header[0] ^= 0x10;
            }
            if (type == CMD_WRITE && withPayload && length <= 2 * MAX_PAYLOAD) {
                return Frames.concat(header, new byte[(int) length]);
            }
            return header;
        }
    }

    @Provide
    Arbitrary<Req> request() {
        Arbitrary<Integer> type = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(8, Arbitraries.integers().between(0, 8).filter(t -> t != CMD_DISC)),
                net.jqwik.api.Tuple.of(1, Arbitraries.integers().between(0, 0xffff)));
        Arbitrary<Integer> flags = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(4, Arbitraries.of(0)),
                net.jqwik.api.Tuple.of(2, Arbitraries.of(CMD_FLAG_FUA, CMD_FLAG_NO_HOLE, CMD_FLAG_DF, CMD_FLAG_REQ_ONE, CMD_FLAG_FAST_ZERO)),
                net.jqwik.api.Tuple.of(1, Arbitraries.integers().between(0, 0xffff)));
        Arbitrary<Long> offset = Arbitraries.oneOf(Arbitraries.longs().between(0, SIZE), Arbitraries.of(0L, SIZE - 1L, (long) SIZE, -1L, Long.MIN_VALUE,
                Long.MAX_VALUE), Arbitraries.longs());
        Arbitrary<Long> length = Arbitraries.oneOf(Arbitraries.longs().between(0, 8192), Arbitraries.of(0L, 1L, (long) MAX_PAYLOAD,
                MAX_PAYLOAD + 1L, 0xffffffffL, (long) SIZE, 32L << 20, (32L << 20) + 1), Arbitraries.longs().between(0, 0xffffffffL));
        return Combinators.combine(flags, type, offset, length, Arbitraries.integers().between(0, 60).map(i -> i == 0),
                Arbitraries.integers().between(0, 9).map(i -> i != 0))
                .as((f, t, o, l, bad, payload) -> new Req(f, t, 0, o, l, bad, payload));
    }

    @Property(tries = 300)
    void transmissionNeverThrowsLeaksOrOverallocates(@ForAll @Size(max = 12) List<@net.jqwik.api.From("request") Req> requests,
                                                     @ForAll @Size(max = 12) List<Integer> cuts, @ForAll boolean structured,
                                                     @ForAll boolean readOnly) {
        TestConnection c = new TestConnection(catalog(), MAX_PAYLOAD, Runnable::run, new ConnectionRegistry(), null);
        try {
            c.go(readOnly ? "ro" : "disk", structured, structured);
            Map<Long, Long> readLengths = new HashMap<>();
            List<byte[]> frames = new ArrayList<>();
            for (int i = 0; i < requests.size(); i++) {
                Req r = requests.get(i);
                Req numbered = new Req(r.flags(), r.type(), i + 1, r.offset(), r.length(), r.badMagic(), r.withPayload());
                frames.add(numbered.bytes());
                if (r.type() == CMD_READ) {
                    readLengths.put((long) i + 1, r.length());
                }
            }
            byte[] stream = Frames.concat(frames.toArray(byte[][]::new));
            if (stream.length > 0) {
                sendSplit(c, stream, cuts);
            }
            c.channel.checkException();
            assertThat(c.alloc.largest()).isLessThanOrEqualTo(2 * (MAX_PAYLOAD + 28 + stream.length));
            Set<Long> answered = new HashSet<>();
            while (c.available() > 0) {
                Object reply = c.readReply(0);
                long cookie;
                if (reply instanceof TestConnection.Simple s) {
                    cookie = s.cookie();
                    Long len = readLengths.get(cookie);
                    if (s.error() == 0 && len != null) {
                        c.readBytes((int) (long) len); // the data of a simple read
                    }
                } else {
                    TestConnection.Chunk ch = (TestConnection.Chunk) reply;
                    cookie = ch.cookie();
                    assertThat(ch.flags()).isEqualTo(REPLY_FLAG_DONE);
                    assertThat(ch.type()).isIn(REPLY_TYPE_NONE, REPLY_TYPE_OFFSET_DATA, REPLY_TYPE_BLOCK_STATUS, REPLY_TYPE_ERROR);
                    assertThat(structured).isTrue();
                }
                assertThat(cookie).isBetween(1L, (long) requests.size());
                assertThat(answered.add(cookie)).as("one reply per request").isTrue();
            }
            // A write whose payload was not (fully) sent leaves the server waiting for it, rightly.
            boolean allComplete = requests.stream().noneMatch(r -> r.type() == CMD_WRITE && !r.badMagic() && r.length() > 0
                    && (!r.withPayload() || r.length() > 2 * MAX_PAYLOAD));
            if (c.isOpen() && allComplete) {
                assertThat(answered).hasSize(requests.size());
            }
        } finally {
            c.close();
        }
    }

    @Property(tries = 100)
    void howTheStreamIsCutDoesNotChangeTheReplies(@ForAll @Size(min = 1, max = 10) List<@IntRange(min = 0, max = 5) Integer> kinds,
                                                  @ForAll @Size(max = 20) List<Integer> cuts, @ForAll boolean structured) {
        List<byte[]> frames = new ArrayList<>();
        long cookie = 1;
        for (int k : kinds) {
            frames.add(switch (k) {
                case 0 -> Frames.request(0, CMD_READ, cookie++, 4096 * (cookie % 8), 1000);
                case 1 -> Frames.write(0, cookie++, 512 * cookie, Frames.pattern(700, (int) cookie));
                case 2 -> Frames.request(0, CMD_FLUSH, cookie++, 0, 0);
                case 3 -> Frames.request(0, CMD_TRIM, cookie++, 0, 8192);
                case 4 -> Frames.request(CMD_FLAG_NO_HOLE, CMD_WRITE_ZEROES, cookie++, 8192, 100);
                default -> Frames.request(0, 42, cookie++, 0, 0);
            });
        }
        byte[] stream = Frames.concat(frames.toArray(byte[][]::new));
        byte[] whole;
        try (TestConnection c = new TestConnection(catalog())) {
            c.go("disk", structured, false);
            c.send(stream);
            whole = c.readBytes(c.available());
        }
        try (TestConnection c = new TestConnection(catalog())) {
            c.go("disk", structured, false);
            sendSplit(c, stream, cuts);
            assertThat(c.readBytes(c.available())).isEqualTo(whole);
        }
    }

    @net.jqwik.api.lifecycle.AfterContainer
    static void noLeaks() throws InterruptedException {
        io.flashvisor.nbd.NettyLeakCheck.assertNoLeaks();
    }

    // ---- option payload parser ----

    @Property(tries = 1000)
    void optionParserEitherParsesOrSaysMalformed(@ForAll @Size(max = 80) byte[] data) {
        try {
            OptionParser.exportRequest(data);
        } catch (OptionParser.Malformed expected) {
            assertThat(expected.getMessage()).isNotBlank();
        }
        try {
            OptionParser.MetaRequest m = OptionParser.metaRequest(data);
            assertThat(m.queries().size()).isLessThanOrEqualTo(data.length / 4);
        } catch (OptionParser.Malformed expected) {
            assertThat(expected.getMessage()).isNotBlank();
        }
    }
}
