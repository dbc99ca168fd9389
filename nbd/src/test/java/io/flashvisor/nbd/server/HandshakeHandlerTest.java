package io.flashvisor.nbd.server;

import static io.flashvisor.nbd.wire.NbdConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.flashvisor.common.VolumeFeatures;
import io.flashvisor.nbd.Export;
import io.flashvisor.nbd.ExportCatalog;
import io.flashvisor.nbd.MemoryVolume;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

@org.junit.jupiter.api.extension.ExtendWith(io.flashvisor.nbd.NettyLeakCheck.class)
class HandshakeHandlerTest {

    static ExportCatalog catalog() {
        ExportCatalog c = new ExportCatalog();
        c.add(new Export("disk", "the main disk", new MemoryVolume(1 << 20)));
        c.add(new Export("ro", "", new MemoryVolume(64 << 10, VolumeFeatures.full().withReadOnly(true))));
        c.add(new Export("single", "no multi-conn", new MemoryVolume(8192,
                new VolumeFeatures(false, false, false, false, false, false, false, false, true, 512, 512))));
        return c;
    }

    @Test
    void greetingAdvertisesFixedNewstyleAndNoZeroes() {
        try (TestConnection c = new TestConnection(catalog())) {
            c.greet();
            assertThat(c.isOpen()).isTrue();
        }
    }

    @Test
    void unknownClientFlagsDisconnect() {
        try (TestConnection c = new TestConnection(catalog())) {
            c.greet(FLAG_C_FIXED_NEWSTYLE | 0x100);
            assertThat(c.isOpen()).isFalse();
        }
    }

    @Test
    void badOptionMagicDisconnects() {
        try (TestConnection c = new TestConnection(catalog())) {
            c.greet();
            byte[] bad = Frames.option(OPT_LIST);
            bad[0] ^= 1;
            c.send(bad);
            assertThat(c.isOpen()).isFalse();
            assertThat(c.available()).isZero();
        }
    }

    @Test
    void hugeOptionLengthDisconnectsWithoutAllocating() {
        try (TestConnection c = new TestConnection(catalog())) {
            c.greet();
            c.send(ByteBuffer.allocate(16).putLong(IHAVEOPT).putInt(OPT_GO).putInt(0xFFFF_FFF0).array());
            assertThat(c.isOpen()).isFalse();
            assertThat(c.alloc.largest()).isLessThan(64 * 1024);
        }
    }

    @Test
    void abortIsAcknowledgedThenClosed() {
        try (TestConnection c = new TestConnection(catalog())) {
            c.greet();
            TestConnection.OptionReply r = c.option(OPT_ABORT, new byte[] {1, 2, 3}); // data is ignored
            assertThat(r.type()).isEqualTo(REP_ACK);
            assertThat(r.option()).isEqualTo(OPT_ABORT);
            assertThat(c.isOpen()).isFalse();
        }
    }

    @Test
    void listNamesEveryExportWithItsDescription() {
        try (TestConnection c = new TestConnection(catalog())) {
            c.greet();
            c.send(Frames.option(OPT_LIST));
            List<String> names = new ArrayList<>();
            TestConnection.OptionReply r;
            while ((r = c.readOptionReply()).type() == REP_SERVER) {
                ByteBuffer b = ByteBuffer.wrap(r.data());
                byte[] name = new byte[b.getInt()];
                b.get(name);
                byte[] rest = new byte[b.remaining()];
                b.get(rest);
                names.add(new String(name) + "|" + new String(rest));
            }
            assertThat(r.type()).isEqualTo(REP_ACK);
            assertThat(names).containsExactly("disk|the main disk", "ro|", "single|no multi-conn");
        }
    }

    @Test
    void listWithDataIsInvalid() {
        try (TestConnection c = new TestConnection(catalog())) {
            c.greet();
            assertThat(c.option(OPT_LIST, new byte[] {0}).type()).isEqualTo(REP_ERR_INVALID);
            assertThat(c.isOpen()).isTrue();
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {OPT_PEEK_EXPORT, OPT_EXTENDED_HEADERS, 0, 99, 0x7fffffff, 0x80000001})
    void unknownOptionsAreUnsupportedAndTheNextOptionStillWorks(int option) {
        try (TestConnection c = new TestConnection(catalog())) {
            c.greet();
            TestConnection.OptionReply r = c.option(option, new byte[] {1, 2, 3, 4, 5});
            assertThat(r.option()).isEqualTo(option);
            assertThat(r.type()).isEqualTo(REP_ERR_UNSUP);
            assertThat(c.option(OPT_STRUCTURED_REPLY, new byte[0]).type()).isEqualTo(REP_ACK);
        }
    }

    @Test
    void startTlsWithoutTlsIsRefusedByPolicy() {
        try (TestConnection c = new TestConnection(catalog())) {
            c.greet();
            assertThat(c.option(OPT_STARTTLS, new byte[0]).type()).isEqualTo(REP_ERR_POLICY);
            assertThat(c.isOpen()).isTrue();
        }
    }

    @Test
    void infoDescribesTheExportWithoutLeavingTheHandshake() {
        try (TestConnection c = new TestConnection(catalog())) {
            c.greet();
            c.send(Frames.option(OPT_INFO, Frames.exportQuery("disk", INFO_NAME, INFO_DESCRIPTION, INFO_BLOCK_SIZE, 77)));
            List<TestConnection.OptionReply> infos = new ArrayList<>();
            TestConnection.OptionReply r;
            while ((r = c.readOptionReply()).type() == REP_INFO) {
                infos.add(r);
            }
            assertThat(r.type()).isEqualTo(REP_ACK);
            ByteBuffer export = info(infos, INFO_EXPORT);
            assertThat(export.remaining()).isEqualTo(10);
            assertThat(export.getLong()).isEqualTo(1 << 20);
            int flags = Short.toUnsignedInt(export.getShort());
            assertThat(flags).isEqualTo(FLAG_HAS_FLAGS | FLAG_SEND_FLUSH | FLAG_SEND_FUA | FLAG_SEND_TRIM
                    | FLAG_SEND_WRITE_ZEROES | FLAG_CAN_MULTI_CONN | FLAG_SEND_CACHE);
            assertThat(new String(info(infos, INFO_NAME).array(), 2, 4)).isEqualTo("disk");
            ByteBuffer d = info(infos, INFO_DESCRIPTION);
            assertThat(new String(d.array(), 2, d.remaining())).isEqualTo("the main disk");
            ByteBuffer bs = info(infos, INFO_BLOCK_SIZE);
            assertThat(bs.getInt()).isEqualTo(1);
            assertThat(bs.getInt()).isEqualTo(4096);
            assertThat(bs.getInt()).isEqualTo(1 << 20);
            assertThat(c.channel.pipeline().get(HandshakeHandler.class)).isNotNull();
        }
    }

    private static ByteBuffer info(List<TestConnection.OptionReply> infos, int type) {
        for (TestConnection.OptionReply r : infos) {
            ByteBuffer b = ByteBuffer.wrap(r.data());
            if (b.getShort() == type) {
                return b;
            }
        }
        throw new AssertionError("no info of type " + type);
    }

    @Test
    void flagsFollowTheVolumeFeatures() {
        try (TestConnection c = new TestConnection(catalog())) {
            int flags = c.go("ro", true, false);
            assertThat(flags).isEqualTo(FLAG_HAS_FLAGS | FLAG_READ_ONLY | FLAG_SEND_FLUSH | FLAG_CAN_MULTI_CONN
                    | FLAG_SEND_CACHE | FLAG_SEND_DF);
        }
        try (TestConnection c = new TestConnection(catalog())) {
            int flags = c.go("single", false, false);
            assertThat(flags).isEqualTo(FLAG_HAS_FLAGS | FLAG_ROTATIONAL);
        }
    }

    @Test
    void unknownExportInInfoAndGoIsUnknown() {
        try (TestConnection c = new TestConnection(catalog())) {
            c.greet();
            assertThat(c.option(OPT_INFO, Frames.exportQuery("nope")).type()).isEqualTo(REP_ERR_UNKNOWN);
            TestConnection.OptionReply r = c.option(OPT_GO, Frames.exportQuery("nope"));
            assertThat(r.type()).isEqualTo(REP_ERR_UNKNOWN);
            assertThat(r.text()).contains("nope");
            // several exports and no default: the empty name is unknown too
            assertThat(c.option(OPT_GO, Frames.exportQuery("")).type()).isEqualTo(REP_ERR_UNKNOWN);
            assertThat(c.isOpen()).isTrue();
        }
    }

    @Test
    void emptyNameResolvesToTheDefaultExport() {
        ExportCatalog catalog = catalog();
        catalog.setDefaultExport("ro");
        try (TestConnection c = new TestConnection(catalog)) {
            int flags = c.go("", false, false);
            assertThat(flags & FLAG_READ_ONLY).isNotZero();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "00", "0000000a00", "ffffffff0000", "00000004646973", "000000046469736b0001", "000000046469736b000100"})
    void malformedInfoIsInvalid(String hex) {
        try (TestConnection c = new TestConnection(catalog())) {
            c.greet();
            assertThat(c.option(OPT_INFO, java.util.HexFormat.of().parseHex(hex)).type()).isEqualTo(REP_ERR_INVALID);
            assertThat(c.option(OPT_GO, java.util.HexFormat.of().parseHex(hex)).type()).isEqualTo(REP_ERR_INVALID);
            assertThat(c.isOpen()).isTrue();
        }
    }

    @Test
    void exportNameEntersTransmissionWithZeroesUnlessNoZeroes() {
        try (TestConnection c = new TestConnection(catalog())) {
            c.greet(FLAG_C_FIXED_NEWSTYLE);
            c.send(Frames.option(OPT_EXPORT_NAME, "disk".getBytes()));
            assertThat(c.readLong()).isEqualTo(1 << 20);
            assertThat(c.readShort() & FLAG_HAS_FLAGS).isNotZero();
            assertThat(c.readBytes(124)).containsOnly(0);
            assertThat(c.available()).isZero();
            assertThat(c.channel.pipeline().get(TransmissionHandler.class)).isNotNull();
        }
        try (TestConnection c = new TestConnection(catalog())) {
            c.greet(FLAG_C_FIXED_NEWSTYLE | FLAG_C_NO_ZEROES);
            c.send(Frames.option(OPT_EXPORT_NAME, "disk".getBytes()));
            c.readLong();
            c.readShort();
            assertThat(c.available()).isZero();
        }
    }

    @Test
    void exportNameForUnknownExportDisconnects() {
        try (TestConnection c = new TestConnection(catalog())) {
            c.greet();
            c.send(Frames.option(OPT_EXPORT_NAME, "nope".getBytes()));
            assertThat(c.isOpen()).isFalse();
        }
    }

    @Test
    void bytesSentRightAfterGoReachTheRequestDecoder() {
        try (TestConnection c = new TestConnection(catalog())) {
            c.greet();
            // GO and a READ in one packet: the read must not be lost when the pipeline is swapped
            c.send(Frames.option(OPT_GO, Frames.exportQuery("disk")), Frames.request(0, CMD_READ, 7, 0, 512));
            TestConnection.OptionReply r;
            while ((r = c.readOptionReply()).type() != REP_ACK) {
                assertThat(r.type()).isEqualTo(REP_INFO);
            }
            TestConnection.Simple s = c.readSimple(512);
            assertThat(s.error()).isZero();
            assertThat(s.cookie()).isEqualTo(7);
        }
    }

    @Test
    void structuredReplyTakesNoData() {
        try (TestConnection c = new TestConnection(catalog())) {
            c.greet();
            assertThat(c.option(OPT_STRUCTURED_REPLY, new byte[] {1}).type()).isEqualTo(REP_ERR_INVALID);
            assertThat(c.option(OPT_STRUCTURED_REPLY, new byte[0]).type()).isEqualTo(REP_ACK);
        }
    }

    @Test
    void metaContextsNeedStructuredReplies() {
        try (TestConnection c = new TestConnection(catalog())) {
            c.greet();
            assertThat(c.option(OPT_SET_META_CONTEXT, Frames.metaQuery("disk", META_BASE_ALLOCATION)).type()).isEqualTo(REP_ERR_INVALID);
            assertThat(c.option(OPT_LIST_META_CONTEXT, Frames.metaQuery("disk")).type()).isEqualTo(REP_ERR_INVALID);
        }
    }

    private static List<String> metaReplies(TestConnection c, int option, byte[] data) {
        c.send(Frames.option(option, data));
        List<String> names = new ArrayList<>();
        TestConnection.OptionReply r;
        while ((r = c.readOptionReply()).type() == REP_META_CONTEXT) {
            ByteBuffer b = ByteBuffer.wrap(r.data());
            int id = b.getInt();
            names.add(id + ":" + new String(r.data(), 4, r.data().length - 4));
        }
        assertThat(r.type()).as("final reply").isEqualTo(REP_ACK);
        return names;
    }

    @Test
    void listMetaContextHandlesEmptyWildcardAndUnknownQueries() {
        try (TestConnection c = new TestConnection(catalog())) {
            c.greet();
            c.option(OPT_STRUCTURED_REPLY, new byte[0]);
            assertThat(metaReplies(c, OPT_LIST_META_CONTEXT, Frames.metaQuery("disk"))).containsExactly("0:base:allocation");
            assertThat(metaReplies(c, OPT_LIST_META_CONTEXT, Frames.metaQuery("disk", "base:"))).containsExactly("0:base:allocation");
            assertThat(metaReplies(c, OPT_LIST_META_CONTEXT, Frames.metaQuery("disk", "base:allocation", "base:")))
                    .containsExactly("0:base:allocation");
            assertThat(metaReplies(c, OPT_LIST_META_CONTEXT, Frames.metaQuery("disk", "base:other", "qemu:dirty-bitmap:x", "nocolon")))
                    .isEmpty();
        }
    }

    @Test
    void setMetaContextSelectsBaseAllocationOnly() {
        try (TestConnection c = new TestConnection(catalog())) {
            c.greet();
            c.option(OPT_STRUCTURED_REPLY, new byte[0]);
            assertThat(metaReplies(c, OPT_SET_META_CONTEXT, Frames.metaQuery("disk", "base:"))).isEmpty();
            assertThat(metaReplies(c, OPT_SET_META_CONTEXT, Frames.metaQuery("disk"))).isEmpty();
            assertThat(metaReplies(c, OPT_SET_META_CONTEXT, Frames.metaQuery("disk", "x-foo:bar", META_BASE_ALLOCATION)))
                    .containsExactly(HandshakeHandler.BASE_ALLOCATION_ID + ":base:allocation");
            assertThat(c.option(OPT_SET_META_CONTEXT, Frames.metaQuery("nope", META_BASE_ALLOCATION)).type()).isEqualTo(REP_ERR_UNKNOWN);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "0000", "00000004", "ffffffff00000000", "000000046469736b00000001", "000000046469736b0000000100000009626173653a",
            "000000046469736b00000000ff", "000000046469736bffffffff"})
    void malformedMetaContextRequestsAreInvalid(String hex) {
        try (TestConnection c = new TestConnection(catalog())) {
            c.greet();
            c.option(OPT_STRUCTURED_REPLY, new byte[0]);
            byte[] data = java.util.HexFormat.of().parseHex(hex);
            assertThat(c.option(OPT_LIST_META_CONTEXT, data).type()).isEqualTo(REP_ERR_INVALID);
            assertThat(c.option(OPT_SET_META_CONTEXT, data).type()).isEqualTo(REP_ERR_INVALID);
            assertThat(c.isOpen()).isTrue();
        }
    }

    @Test
    void blockStatusIsOnlyEnabledForTheExportTheContextWasSetFor() {
        try (TestConnection c = new TestConnection(catalog())) {
            c.greet();
            c.option(OPT_STRUCTURED_REPLY, new byte[0]);
            metaReplies(c, OPT_SET_META_CONTEXT, Frames.metaQuery("ro", META_BASE_ALLOCATION));
            c.send(Frames.option(OPT_GO, Frames.exportQuery("disk")));
            while (c.readOptionReply().type() != REP_ACK) {
                // infos
            }
            c.send(Frames.request(0, CMD_BLOCK_STATUS, 1, 0, 4096));
            TestConnection.Chunk chunk = c.readChunk();
            assertThat(chunk.type()).isEqualTo(REPLY_TYPE_ERROR);
            assertThat(chunk.buffer().getInt()).isEqualTo(EINVAL);
        }
    }

    @Test
    void optionsDuringShutdownAreRefused() {
        ConnectionRegistry registry = new ConnectionRegistry();
        registry.drainAll();
        try (TestConnection c = new TestConnection(catalog(), 1 << 20, Runnable::run, registry, null)) {
            c.greet();
            assertThat(c.option(OPT_LIST, new byte[0]).type()).isEqualTo(REP_ERR_SHUTDOWN);
            assertThat(c.option(OPT_GO, Frames.exportQuery("disk")).type()).isEqualTo(REP_ERR_SHUTDOWN);
            assertThat(c.option(OPT_ABORT, new byte[0]).type()).isEqualTo(REP_ACK);
        }
    }

    @Test
    void optionsSplitIntoSingleBytesAreDecoded() {
        try (TestConnection c = new TestConnection(catalog())) {
            c.greet();
            for (byte b : Frames.option(OPT_INFO, Frames.exportQuery("disk"))) {
                c.send(new byte[] {b});
            }
            assertThat(c.readOptionReply().type()).isEqualTo(REP_INFO);
        }
    }
}
