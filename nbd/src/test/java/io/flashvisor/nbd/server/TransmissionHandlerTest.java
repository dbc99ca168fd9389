package io.flashvisor.nbd.server;

import static io.flashvisor.nbd.wire.NbdConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.flashvisor.common.BlockError;
import io.flashvisor.common.VolumeException;
import io.flashvisor.common.VolumeFeatures;
import io.flashvisor.nbd.Export;
import io.flashvisor.nbd.ExportCatalog;
import io.flashvisor.nbd.MemoryVolume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

@org.junit.jupiter.api.extension.ExtendWith(io.flashvisor.nbd.NettyLeakCheck.class)
class TransmissionHandlerTest {
    static final int SIZE = 1 << 20;
    static final int MAX_PAYLOAD = 64 * 1024;

    final MemoryVolume disk = new MemoryVolume(SIZE);
    final MemoryVolume ro = new MemoryVolume(SIZE, VolumeFeatures.full().withReadOnly(true));
    final MemoryVolume fast = new MemoryVolume(SIZE,
            new VolumeFeatures(false, true, true, true, true, true, false, true, false, 1, 4096));
    final MemoryVolume aligned = new MemoryVolume(SIZE - 512,
            new VolumeFeatures(false, true, false, false, false, false, false, false, false, 512, 4096));
    final MemoryVolume bare = new MemoryVolume(SIZE,
            new VolumeFeatures(false, false, false, false, false, false, false, false, false, 1, 4096));
    final ExportCatalog catalog = new ExportCatalog();

    TransmissionHandlerTest() {
        catalog.add(new Export("disk", "", disk));
        catalog.add(new Export("ro", "", ro));
        catalog.add(new Export("fast", "", fast));
        catalog.add(new Export("aligned", "", aligned));
        catalog.add(new Export("bare", "", bare));
    }

    TestConnection connect(String export, boolean structured) {
        TestConnection c = new TestConnection(catalog, MAX_PAYLOAD, Runnable::run, new ConnectionRegistry(), null);
        c.go(export, structured, structured);
        return c;
    }

    static int errorOf(Object reply) {
        return switch (reply) {
            case TestConnection.Simple s -> s.error();
            case TestConnection.Chunk ch -> {
                assertThat(ch.flags() & REPLY_FLAG_DONE).isNotZero();
                if (ch.type() == REPLY_TYPE_ERROR) {
                    ByteBuffer b = ch.buffer();
                    int error = b.getInt();
                    int len = Short.toUnsignedInt(b.getShort());
                    assertThat(b.remaining()).isEqualTo(len);
                    assertThat(len).as("error chunks carry a message").isPositive();
                    yield error;
                }
                yield 0;
            }
            default -> throw new AssertionError(reply);
        };
    }

    /** Sends one request without payload and returns the error of its reply. */
    int request(TestConnection c, int flags, int type, long offset, long length) {
        c.send(Frames.request(flags, type, 42, offset, length));
        Object reply = c.readReply(0);
        return errorOf(reply);
    }

    @Test
    void simpleReadReturnsTheData() {
        disk.fill(4096, Frames.pattern(8192, 3));
        try (TestConnection c = connect("disk", false)) {
            c.send(Frames.request(0, CMD_READ, 0x1122334455667788L, 4096, 8192));
            TestConnection.Simple s = c.readSimple(8192);
            assertThat(s.error()).isZero();
            assertThat(s.cookie()).isEqualTo(0x1122334455667788L);
            assertThat(s.data()).isEqualTo(Frames.pattern(8192, 3));
        }
    }

    @Test
    void structuredReadIsOneFinalDataChunk() {
        disk.fill(0, Frames.pattern(4096, 9));
        try (TestConnection c = connect("disk", true)) {
            c.send(Frames.request(CMD_FLAG_DF, CMD_READ, 5, 1024, 2048));
            TestConnection.Chunk ch = c.readChunk();
            assertThat(ch.type()).isEqualTo(REPLY_TYPE_OFFSET_DATA);
            assertThat(ch.flags()).isEqualTo(REPLY_FLAG_DONE);
            assertThat(ch.cookie()).isEqualTo(5);
            ByteBuffer b = ch.buffer();
            assertThat(b.getLong()).isEqualTo(1024);
            byte[] data = new byte[b.remaining()];
            b.get(data);
            assertThat(data).isEqualTo(java.util.Arrays.copyOfRange(Frames.pattern(4096, 9), 1024, 3072));
        }
    }

    @Test
    void zeroLengthReadSucceedsWithoutTouchingTheVolume() {
        try (TestConnection c = connect("disk", false)) {
            assertThat(request(c, 0, CMD_READ, 0, 0)).isZero();
        }
        try (TestConnection c = connect("disk", true)) {
            c.send(Frames.request(0, CMD_READ, 1, 0, 0));
            TestConnection.Chunk ch = c.readChunk();
            assertThat(ch.type()).isEqualTo(REPLY_TYPE_NONE);
            assertThat(ch.flags()).isEqualTo(REPLY_FLAG_DONE);
        }
        assertThat(disk.calls).noneMatch(s -> s.startsWith("read"));
    }

    @Test
    void writeStoresTheDataAndPassesFua() {
        try (TestConnection c = connect("disk", false)) {
            c.send(Frames.write(0, 1, 8192, Frames.pattern(4096, 1)), Frames.write(CMD_FLAG_FUA, 2, 0, Frames.pattern(512, 2)));
            TestConnection.Simple first = c.readSimple(0);
            assertThat(first.error()).isZero();
            assertThat(first.cookie()).isEqualTo(1);
            assertThat(c.readSimple(0).cookie()).isEqualTo(2);
            assertThat(disk.contents(8192, 4096)).isEqualTo(Frames.pattern(4096, 1));
            assertThat(disk.contents(0, 512)).isEqualTo(Frames.pattern(512, 2));
            assertThat(disk.calls).containsExactly("write 8192 4096", "write 0 512 fua");
        }
    }

    @Test
    void writeSplitInTinyPiecesIsReassembled() {
        try (TestConnection c = connect("disk", false)) {
            byte[] frame = Frames.write(0, 1, 100, Frames.pattern(3000, 4));
            for (int i = 0; i < frame.length; i += 7) {
                c.send(java.util.Arrays.copyOfRange(frame, i, Math.min(frame.length, i + 7)));
            }
            assertThat(c.readSimple(0).error()).isZero();
            assertThat(disk.contents(100, 3000)).isEqualTo(Frames.pattern(3000, 4));
        }
    }

    @ParameterizedTest
    @CsvSource({
        "0, 1048576, 1, 22",           // READ one byte past the end: EINVAL
        "0, 1048575, 2, 22",
        "0, -1, 4096, 22",             // offset 2^64-1
        "1, 1048576, 1, 28",           // WRITE past the end: ENOSPC
        "4, 1048576, 1, 22",           // TRIM past the end: EINVAL
        "6, 1048064, 1024, 28",        // WRITE_ZEROES past the end: ENOSPC
        "5, 1048576, 4096, 22",        // CACHE past the end
    })
    void rangesBeyondTheEndAreRefused(int type, long offset, int length, int error) {
        for (boolean structured : new boolean[] {false, true}) {
            try (TestConnection c = connect("disk", structured)) {
                if (type == CMD_WRITE) {
                    c.send(Frames.concat(Frames.request(0, CMD_WRITE, 9, offset, length), new byte[length]));
                    assertThat(errorOf(c.readReply(0))).isEqualTo(error);
                } else {
                    assertThat(request(c, 0, type, offset, length)).isEqualTo(error);
                }
                assertThat(request(c, 0, CMD_READ, 0, 0)).as("connection still usable").isZero();
            }
        }
        assertThat(disk.calls).isEmpty();
    }

    @Test
    void readLongerThanTheMaximumPayloadIsRefused() {
        try (TestConnection c = connect("disk", false)) {
            assertThat(request(c, 0, CMD_READ, 0, MAX_PAYLOAD + 1)).isEqualTo(EINVAL);
        }
        try (TestConnection c = connect("disk", true)) {
            assertThat(request(c, 0, CMD_READ, 0, MAX_PAYLOAD + 1)).isEqualTo(EOVERFLOW);
            assertThat(c.alloc.largest()).isLessThanOrEqualTo(MAX_PAYLOAD);
        }
    }

    @Test
    void oversizedWriteIsDiscardedWithoutBufferingAndRefused() {
        try (TestConnection c = connect("disk", false)) {
            int length = 4 * MAX_PAYLOAD;
            c.send(Frames.request(0, CMD_WRITE, 3, 0, length));
            byte[] chunk = new byte[8192];
            for (int sent = 0; sent < length; sent += chunk.length) {
                c.send(chunk);
            }
            c.send(Frames.request(0, CMD_FLUSH, 4, 0, 0));
            assertThat(c.readSimple(0)).extracting(TestConnection.Simple::error, TestConnection.Simple::cookie).containsExactly(EINVAL, 3L);
            assertThat(c.readSimple(0)).extracting(TestConnection.Simple::error, TestConnection.Simple::cookie).containsExactly(0, 4L);
            assertThat(c.alloc.largest()).isLessThan(2 * 8192 + 64);
            assertThat(disk.calls).containsExactly("flush");
        }
    }

    @Test
    void writeBeyondTheDiscardLimitDisconnects() {
        try (TestConnection c = connect("disk", false)) {
            c.send(Frames.request(0, CMD_WRITE, 3, 0, 0xFFFF_FFFFL));
            assertThat(c.isOpen()).isFalse();
            assertThat(c.alloc.largest()).isLessThan(4096);
        }
    }

    @Test
    void badRequestMagicDisconnects() {
        try (TestConnection c = connect("disk", false)) {
            byte[] r = Frames.request(0, CMD_READ, 1, 0, 512);
            r[3] ^= 0x40;
            c.send(r);
            assertThat(c.isOpen()).isFalse();
            assertThat(c.available()).isZero();
        }
    }

    @Test
    void flushTrimZeroAndCacheReachTheVolumeWithTheirFlags() {
        try (TestConnection c = connect("fast", false)) {
            assertThat(request(c, 0, CMD_FLUSH, 0, 0)).isZero();
            assertThat(request(c, CMD_FLAG_FUA, CMD_TRIM, 4096, 8192)).isZero();
            assertThat(request(c, 0, CMD_WRITE_ZEROES, 0, 4096)).isZero();
            assertThat(request(c, CMD_FLAG_NO_HOLE | CMD_FLAG_FUA, CMD_WRITE_ZEROES, 4096, 4096)).isZero();
            assertThat(request(c, CMD_FLAG_FAST_ZERO, CMD_WRITE_ZEROES, 8192, 4096)).isZero();
            assertThat(request(c, 0, CMD_CACHE, 0, 65536)).isZero();
            assertThat(fast.calls).containsExactly("flush", "trim 4096 8192 fua", "zero 0 4096 trim", "zero 4096 4096 fua",
                    "zero 8192 4096 trim fast", "prefetch 0 65536");
        }
    }

    @Test
    void flushWithOffsetOrLengthIsInvalid() {
        try (TestConnection c = connect("disk", false)) {
            assertThat(request(c, 0, CMD_FLUSH, 1, 0)).isEqualTo(EINVAL);
            assertThat(request(c, 0, CMD_FLUSH, 0, 1)).isEqualTo(EINVAL);
        }
    }

    @Test
    void fastZeroRefusalIsEnotsup() {
        fast.failing("zero", new VolumeException(BlockError.NOT_SUPPORTED, "would be slow"));
        try (TestConnection c = connect("fast", true)) {
            assertThat(request(c, CMD_FLAG_FAST_ZERO, CMD_WRITE_ZEROES, 0, 4096)).isEqualTo(ENOTSUP);
        }
    }

    @Test
    void commandsAndFlagsThatWereNotAdvertisedAreInvalid() {
        try (TestConnection c = connect("bare", false)) {
            assertThat(request(c, 0, CMD_FLUSH, 0, 0)).isEqualTo(EINVAL);
            assertThat(request(c, 0, CMD_TRIM, 0, 4096)).isEqualTo(EINVAL);
            assertThat(request(c, 0, CMD_WRITE_ZEROES, 0, 4096)).isEqualTo(EINVAL);
            assertThat(request(c, 0, CMD_BLOCK_STATUS, 0, 4096)).isEqualTo(EINVAL);
            assertThat(request(c, CMD_FLAG_FUA, CMD_READ, 0, 0)).isEqualTo(EINVAL);
            assertThat(request(c, CMD_FLAG_DF, CMD_READ, 0, 0)).isEqualTo(EINVAL);
            assertThat(request(c, 0, CMD_CACHE, 0, 4096)).as("CACHE is harmless even unadvertised").isZero();
        }
        try (TestConnection c = connect("disk", false)) {
            assertThat(request(c, CMD_FLAG_FAST_ZERO, CMD_WRITE_ZEROES, 0, 4096)).isEqualTo(EINVAL);
        }
        assertThat(bare.calls).containsExactly("prefetch 0 4096");
    }

    @ParameterizedTest
    @CsvSource({"0, 2", "0, 8", "0, 9", "0, 200", "0, 65535", "64, 0", "2, 0", "8, 0", "16, 0", "32, 0", "4, 1", "8, 4", "16, 1", "2, 7", "1024, 3"})
    void unknownCommandsAndMisplacedFlagsAreInvalid(int flags, int type) {
        if (type == CMD_DISC) {
            return; // DISC ignores everything
        }
        try (TestConnection c = connect("disk", true)) {
            int length = type == CMD_WRITE ? 0 : 512;
            assertThat(request(c, flags, type, 0, length)).isEqualTo(EINVAL);
            assertThat(c.isOpen()).isTrue();
        }
        assertThat(disk.calls).isEmpty();
    }

    @Test
    void writesToReadOnlyExportsArePermissionErrors() {
        try (TestConnection c = connect("ro", false)) {
            c.send(Frames.write(0, 1, 0, new byte[4096]));
            assertThat(c.readSimple(0).error()).isEqualTo(EPERM);
            assertThat(request(c, 0, CMD_TRIM, 0, 4096)).isEqualTo(EPERM);
            assertThat(request(c, 0, CMD_WRITE_ZEROES, 0, 4096)).isEqualTo(EPERM);
            assertThat(request(c, 0, CMD_READ, 0, 4096)).isZero();
            c.readBytes(4096);
            assertThat(request(c, 0, CMD_FLUSH, 0, 0)).isZero();
        }
        assertThat(ro.calls).containsExactly("read 0 4096", "flush");
    }

    @Test
    void unalignedRequestsAreInvalidWhenTheMinimumBlockSizeIsLarge() {
        try (TestConnection c = connect("aligned", false)) {
            assertThat(request(c, 0, CMD_READ, 256, 512)).isEqualTo(EINVAL);
            assertThat(request(c, 0, CMD_READ, 512, 100)).isEqualTo(EINVAL);
            assertThat(request(c, 0, CMD_READ, 1024, 512)).isZero();
            c.readBytes(512);
        }
    }

    @ParameterizedTest
    @EnumSource(BlockError.class)
    void volumeErrorsMapToNbdErrorsAndTheConnectionStaysUp(BlockError error) {
        int expected = switch (error) {
            case IO -> EIO;
            case NO_SPACE -> ENOSPC;
            case INVALID -> EINVAL;
            case PERMISSION -> EPERM;
            case NOT_SUPPORTED -> ENOTSUP;
            case OVERFLOW -> EOVERFLOW;
            case SHUTDOWN -> ESHUTDOWN;
        };
        disk.failing("read", new VolumeException(error, "injected " + error));
        try (TestConnection c = connect("disk", false)) {
            assertThat(request(c, 0, CMD_READ, 0, 4096)).isEqualTo(expected);
            assertThat(c.available()).as("no payload after a simple error reply").isZero();
            disk.healed("read");
            assertThat(request(c, 0, CMD_READ, 0, 4096)).isZero();
            c.readBytes(4096);
        }
        disk.failing("write", new VolumeException(error, "injected " + error));
        try (TestConnection c = connect("disk", true)) {
            c.send(Frames.write(0, 1, 0, new byte[512]));
            TestConnection.Chunk ch = c.readChunk();
            assertThat(ch.type()).isEqualTo(REPLY_TYPE_ERROR);
            ByteBuffer b = ch.buffer();
            assertThat(b.getInt()).isEqualTo(expected);
            byte[] message = new byte[b.getShort()];
            b.get(message);
            assertThat(new String(message)).isEqualTo("injected " + error);
        }
    }

    @Test
    void unexpectedExceptionsAreIoErrors() {
        disk.failing("flush", new IOException("disk on fire"));
        try (TestConnection c = connect("disk", false)) {
            assertThat(request(c, 0, CMD_FLUSH, 0, 0)).isEqualTo(EIO);
        }
        MemoryVolume broken = new MemoryVolume(4096) {
            @Override
            public void read(long offset, ByteBuffer dst) {
                throw new IllegalStateException("bug");
            }
        };
        catalog.add(new Export("broken", "", broken));
        try (TestConnection c = connect("broken", true)) {
            assertThat(request(c, 0, CMD_READ, 0, 4096)).isEqualTo(EIO);
            assertThat(c.isOpen()).isTrue();
        }
    }

    @Test
    void volumeErrorsAreLoggedWithTheExportAndTheRequest() {
        ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(CommandRunner.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> events = new ch.qos.logback.core.read.ListAppender<>();
        events.start();
        ch.qos.logback.classic.Level level = logger.getLevel();
        logger.setLevel(ch.qos.logback.classic.Level.WARN);
        logger.addAppender(events);
        try {
            disk.failing("write", new VolumeException(BlockError.NO_SPACE, "flash full"));
            try (TestConnection c = connect("disk", false)) {
                c.send(Frames.write(CMD_FLAG_FUA, 0xabc, 4096, new byte[512]));
                assertThat(c.readSimple(0).error()).isEqualTo(ENOSPC);
            }
        } finally {
            logger.detachAppender(events);
            logger.setLevel(level);
        }
        assertThat(events.list).singleElement().satisfies(e -> {
            assertThat(e.getLevel()).isEqualTo(ch.qos.logback.classic.Level.WARN);
            assertThat(e.getFormattedMessage()).contains("export=disk").contains("cmd=WRITE").contains("cookie=0xabc")
                    .contains("offset=4096").contains("length=512").contains("error=ENOSPC").contains("flash full");
        });
    }

    @Test
    void shortReadFromTheVolumeIsAnIoError() {
        MemoryVolume lazy = new MemoryVolume(8192) {
            @Override
            public void read(long offset, ByteBuffer dst) {
                dst.put((byte) 1);
            }
        };
        catalog.add(new Export("lazy", "", lazy));
        try (TestConnection c = connect("lazy", false)) {
            assertThat(request(c, 0, CMD_READ, 0, 4096)).isEqualTo(EIO);
        }
    }

    static List<long[]> descriptors(TestConnection.Chunk ch) {
        assertThat(ch.type()).isEqualTo(REPLY_TYPE_BLOCK_STATUS);
        assertThat(ch.flags()).isEqualTo(REPLY_FLAG_DONE);
        ByteBuffer b = ch.buffer();
        assertThat(b.getInt()).isEqualTo(HandshakeHandler.BASE_ALLOCATION_ID);
        List<long[]> d = new ArrayList<>();
        while (b.hasRemaining()) {
            d.add(new long[] {Integer.toUnsignedLong(b.getInt()), b.getInt()});
        }
        return d;
    }

    @Test
    void blockStatusWalksTheExtents() {
        disk.fill(8192, new byte[] {1});
        try (TestConnection c = connect("disk", true)) {
            c.send(Frames.request(0, CMD_WRITE_ZEROES, 1, 16384, 8192));
            c.readReply(0);
            c.send(Frames.request(CMD_FLAG_NO_HOLE, CMD_WRITE_ZEROES, 1, 24576, 4096));
            c.readReply(0);
            c.send(Frames.request(0, CMD_BLOCK_STATUS, 77, 0, 65536));
            TestConnection.Chunk ch = c.readChunk();
            assertThat(ch.cookie()).isEqualTo(77);
            assertThat(descriptors(ch)).containsExactly(
                    new long[] {8192, STATE_HOLE | STATE_ZERO},
                    new long[] {4096, 0},
                    new long[] {12288, STATE_HOLE | STATE_ZERO},
                    new long[] {4096, STATE_ZERO},
                    new long[] {36864, STATE_HOLE | STATE_ZERO});
            c.send(Frames.request(CMD_FLAG_REQ_ONE, CMD_BLOCK_STATUS, 78, 100, 50000));
            assertThat(descriptors(c.readChunk())).containsExactly(new long[] {8092, STATE_HOLE | STATE_ZERO});
            c.send(Frames.request(CMD_FLAG_REQ_ONE, CMD_BLOCK_STATUS, 79, 0, 100));
            assertThat(descriptors(c.readChunk())).containsExactly(new long[] {100, STATE_HOLE | STATE_ZERO});
        }
    }

    @Test
    void blockStatusRefusesBadRanges() {
        try (TestConnection c = connect("disk", true)) {
            assertThat(request(c, 0, CMD_BLOCK_STATUS, 0, 0)).isEqualTo(EINVAL);
            assertThat(request(c, 0, CMD_BLOCK_STATUS, SIZE - 10, 11)).isEqualTo(EINVAL);
        }
    }

    @Test
    void repliesLeaveInCompletionOrder() {
        ManualExecutor executor = new ManualExecutor();
        try (TestConnection c = new TestConnection(catalog, MAX_PAYLOAD, executor, new ConnectionRegistry(), null)) {
            c.go("disk", false, false);
            c.send(Frames.request(0, CMD_READ, 1, 0, 512), Frames.request(0, CMD_FLUSH, 2, 0, 0), Frames.request(0, CMD_READ, 3, 512, 512));
            assertThat(executor.pending()).isEqualTo(3);
            assertThat(c.available()).isZero();
            executor.run(2);
            executor.run(1);
            executor.run(0);
            assertThat(c.readSimple(512).cookie()).isEqualTo(3);
            assertThat(c.readSimple(0).cookie()).isEqualTo(2);
            assertThat(c.readSimple(512).cookie()).isEqualTo(1);
        }
    }

    @Test
    void inFlightRequestsAreBoundedAndReadingPausesUntilTheyComplete() {
        ManualExecutor executor = new ManualExecutor();
        try (TestConnection c = new TestConnection(catalog, MAX_PAYLOAD, executor, new ConnectionRegistry(), null)) {
            c.go("disk", false, false);
            int n = TransmissionHandler.MAX_IN_FLIGHT * 3;
            byte[][] frames = new byte[n][];
            for (int i = 0; i < n; i++) {
                frames[i] = Frames.request(0, CMD_READ, i, 0, 4096);
            }
            c.send(frames);
            TransmissionHandler h = c.channel.pipeline().get(TransmissionHandler.class);
            assertThat(executor.pending()).isEqualTo(TransmissionHandler.MAX_IN_FLIGHT);
            assertThat(h.queued()).isEqualTo(n - TransmissionHandler.MAX_IN_FLIGHT);
            assertThat(c.channel.config().isAutoRead()).isFalse();
            while (executor.pending() > 0) {
                executor.run(0);
                c.channel.runPendingTasks();
            }
            for (int i = 0; i < n; i++) {
                assertThat(c.readSimple(4096).cookie()).isEqualTo(i);
            }
            assertThat(c.channel.config().isAutoRead()).isTrue();
            assertThat(h.inFlight()).isZero();
        }
    }

    @Test
    void inFlightBytesAreBounded() {
        ManualExecutor executor = new ManualExecutor();
        ExportCatalog big = new ExportCatalog();
        big.add(new Export("big", "", new MemoryVolume(64 << 20)));
        int max = 32 << 20;
        try (TestConnection c = new TestConnection(big, max, executor, new ConnectionRegistry(), null)) {
            c.go("big", false, false);
            c.send(Frames.request(0, CMD_READ, 1, 0, max), Frames.request(0, CMD_READ, 2, 0, max), Frames.request(0, CMD_READ, 3, 0, max));
            assertThat(executor.pending()).isEqualTo(2); // 64 MiB budget
            executor.run(0);
            c.channel.runPendingTasks();
            assertThat(executor.pending()).isEqualTo(2);
            executor.runAll();
            c.channel.runPendingTasks();
            for (int i = 1; i <= 3; i++) {
                assertThat(c.readSimple(max).cookie()).isEqualTo(i);
            }
        }
    }

    @Test
    void discFinishesInFlightRequestsThenCloses() {
        ManualExecutor executor = new ManualExecutor();
        try (TestConnection c = new TestConnection(catalog, MAX_PAYLOAD, executor, new ConnectionRegistry(), null)) {
            c.go("disk", false, false);
            c.send(Frames.write(0, 1, 0, new byte[512]), Frames.request(0, CMD_DISC, 2, 0, 0), Frames.request(0, CMD_READ, 3, 0, 512));
            assertThat(c.isOpen()).isTrue();
            assertThat(c.channel.config().isAutoRead()).isFalse();
            executor.runAll();
            assertThat(c.readSimple(0).cookie()).isEqualTo(1);
            assertThat(c.isOpen()).isFalse();
            assertThat(c.available()).isZero(); // the READ sent after DISC is ignored
            assertThat(executor.pending()).isZero();
        }
    }

    @Test
    void drainLetsInFlightRequestsFinishAndRefusesNewOnes() throws Exception {
        ManualExecutor executor = new ManualExecutor();
        ConnectionRegistry registry = new ConnectionRegistry();
        try (TestConnection c = new TestConnection(catalog, MAX_PAYLOAD, executor, registry, null)) {
            c.go("disk", true, false);
            c.send(Frames.request(0, CMD_READ, 1, 0, 512));
            List<CompletableFuture<Void>> drains = registry.drainAll();
            assertThat(drains).hasSize(1);
            c.channel.runPendingTasks();
            c.send(Frames.request(0, CMD_READ, 2, 0, 512));
            assertThat(errorOf(c.readReply(0))).isEqualTo(ESHUTDOWN);
            assertThat(drains.get(0)).isNotDone();
            executor.runAll();
            c.channel.runPendingTasks();
            assertThat(c.readChunk().cookie()).isEqualTo(1);
            assertThat(drains.get(0)).isDone();
            assertThat(c.isOpen()).as("the server closes drained connections, not the handler").isTrue();
        }
    }

    @Test
    void repliesToAClosedConnectionAreReleased() {
        ManualExecutor executor = new ManualExecutor();
        try (TestConnection c = new TestConnection(catalog, MAX_PAYLOAD, executor, new ConnectionRegistry(), null)) {
            c.go("disk", true, false);
            c.send(Frames.request(0, CMD_READ, 1, 0, 4096), Frames.write(0, 2, 0, new byte[4096]));
            c.channel.close();
            executor.runAll();
            c.channel.runPendingTasks();
        }
    }
}
