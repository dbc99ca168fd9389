package io.flashvisor.backing.nbd;

import static io.flashvisor.nbd.wire.NbdConstants.CMD_READ;
import static io.flashvisor.nbd.wire.NbdConstants.EPERM;
import static io.flashvisor.nbd.wire.NbdConstants.SIMPLE_REPLY_MAGIC;
import static io.flashvisor.nbd.wire.NbdConstants.STRUCTURED_REPLY_MAGIC;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flashvisor.common.BlockError;
import io.flashvisor.common.VolumeException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@link NbdClient} against a scripted server that fails in the ways real ones do. No test may hang. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class NbdClientFailureTest {
    private static final Duration IO_TIMEOUT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    private static void assertIo(Throwable t, String messagePart) {
        assertThat(t).isInstanceOf(VolumeException.class).hasMessageContaining(messagePart);
        assertThat(((VolumeException) t).error()).isEqualTo(BlockError.IO);
    }

    @Test
    void serverClosingMidRequestFailsEveryInFlightCallAndLaterCallsFailFast() throws Exception {
        int inFlight = 8;
        CountDownLatch allReceived = new CountDownLatch(1);
        try (FakeNbdServer server = new FakeNbdServer(dir, ch -> {
            FakeNbdServer.Request first = FakeNbdServer.Request.read(ch);
            for (int i = 1; i < inFlight; i++) {
                FakeNbdServer.Request.read(ch);
            }
            allReceived.countDown();
            byte[] data = new byte[first.length()];
            Arrays.fill(data, (byte) 7);
            FakeNbdServer.simpleReply(ch, SIMPLE_REPLY_MAGIC, 0, first.cookie(), data);
            // then hang up with the rest unanswered
        }); NbdClient c = server.connect(IO_TIMEOUT)) {
            ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
            List<Future<byte[]>> reads = new ArrayList<>();
            for (int i = 0; i < inFlight; i++) {
                long offset = i * 4096L;
                reads.add(pool.submit(() -> {
                    ByteBuffer b = ByteBuffer.allocate(4096);
                    c.read(offset, b);
                    return b.array();
                }));
            }
            int ok = 0;
            int failed = 0;
            for (Future<byte[]> f : reads) {
                try {
                    assertThat(f.get()).containsOnly(7);
                    ok++;
                } catch (java.util.concurrent.ExecutionException e) {
                    assertIo(e.getCause(), "closed the connection");
                    failed++;
                }
            }
            assertThat(allReceived.getCount()).isZero();
            assertThat(ok).isEqualTo(1);
            assertThat(failed).isEqualTo(inFlight - 1);
            assertThat(c.isBroken()).isTrue();
            assertThatThrownBy(() -> c.read(0, ByteBuffer.allocate(512))).satisfies(t -> assertIo(t, "closed the connection"));
            assertThatThrownBy(c::flush).satisfies(t -> assertIo(t, "closed the connection"));
            pool.shutdown();
        }
    }

    @Test
    void truncatedReadPayloadFailsTheRead() throws Exception {
        try (FakeNbdServer server = new FakeNbdServer(dir, ch -> {
            FakeNbdServer.Request r = FakeNbdServer.Request.read(ch);
            FakeNbdServer.simpleReply(ch, SIMPLE_REPLY_MAGIC, 0, r.cookie(), new byte[r.length() / 2]);
        }); NbdClient c = server.connect(IO_TIMEOUT)) {
            assertThatThrownBy(() -> c.read(0, ByteBuffer.allocate(8192))).satisfies(t -> assertIo(t, "closed the connection"));
        }
    }

    @Test
    void replyWithUnknownCookieBreaksTheConnection() throws Exception {
        try (FakeNbdServer server = new FakeNbdServer(dir, ch -> {
            FakeNbdServer.Request r = FakeNbdServer.Request.read(ch);
            FakeNbdServer.simpleReply(ch, SIMPLE_REPLY_MAGIC, 0, r.cookie() + 1000, null);
            FakeNbdServer.readFully(ch, 1); // wait for the client to hang up
        }); NbdClient c = server.connect(IO_TIMEOUT)) {
            assertThatThrownBy(c::flush).satisfies(t -> assertIo(t, "unknown cookie"));
            assertThat(c.isBroken()).isTrue();
        }
    }

    @Test
    void badReplyMagicBreaksTheConnection() throws Exception {
        try (FakeNbdServer server = new FakeNbdServer(dir, ch -> {
            FakeNbdServer.Request r = FakeNbdServer.Request.read(ch);
            FakeNbdServer.simpleReply(ch, 0xdeadbeef, 0, r.cookie(), null);
            FakeNbdServer.readFully(ch, 1);
        }); NbdClient c = server.connect(IO_TIMEOUT)) {
            assertThatThrownBy(() -> c.write(0, ByteBuffer.allocate(100), false)).satisfies(t -> assertIo(t, "bad reply magic"));
        }
    }

    @Test
    void structuredReplyThatWasNotNegotiatedBreaksTheConnection() throws Exception {
        try (FakeNbdServer server = new FakeNbdServer(dir, ch -> {
            FakeNbdServer.Request r = FakeNbdServer.Request.read(ch);
            FakeNbdServer.write(ch, ByteBuffer.allocate(20).putInt(STRUCTURED_REPLY_MAGIC).putShort((short) 1)
                    .putShort((short) 0).putLong(r.cookie()).putInt(0).flip());
            FakeNbdServer.readFully(ch, 1);
        }); NbdClient c = server.connect(IO_TIMEOUT)) {
            assertThatThrownBy(c::flush).satisfies(t -> assertIo(t, "not negotiated"));
        }
    }

    @Test
    @SuppressWarnings("try") // closes the client inside the try on purpose, to check DISC
    void errorReplyFailsOnlyThatRequest() throws Exception {
        try (FakeNbdServer server = new FakeNbdServer(dir, ch -> {
            FakeNbdServer.Request w = FakeNbdServer.Request.read(ch);
            FakeNbdServer.readFully(ch, w.length());
            FakeNbdServer.simpleReply(ch, SIMPLE_REPLY_MAGIC, EPERM, w.cookie(), null);
            FakeNbdServer.Request r = FakeNbdServer.Request.read(ch);
            assertThat(r.type()).isEqualTo(CMD_READ);
            FakeNbdServer.simpleReply(ch, SIMPLE_REPLY_MAGIC, 0, r.cookie(), new byte[r.length()]);
            FakeNbdServer.readFully(ch, 28); // DISC
        }); NbdClient c = server.connect(IO_TIMEOUT)) {
            assertThatThrownBy(() -> c.write(0, ByteBuffer.allocate(100), false))
                    .isInstanceOfSatisfying(VolumeException.class, v -> assertThat(v.error()).isEqualTo(BlockError.PERMISSION))
                    .hasMessageContaining("EPERM");
            c.read(0, ByteBuffer.allocate(100));
            assertThat(c.isBroken()).isFalse();
            c.close();
            assertThat(server.failure).isNull();
        }
    }

    @Test
    void silentServerTimesOutInsteadOfHanging() throws Exception {
        try (FakeNbdServer server = new FakeNbdServer(dir, ch -> {
            FakeNbdServer.Request.read(ch);
            FakeNbdServer.readFully(ch, 1); // never answer; returns when the client hangs up
        }); NbdClient c = server.connect(Duration.ofMillis(300))) {
            assertThatThrownBy(c::flush).satisfies(t -> assertIo(t, "no reply"));
            assertThat(c.isBroken()).isTrue();
        }
    }

    @Test
    void serverThatNeverGreetsHitsTheConnectTimeout() throws Exception {
        Path socket = dir.resolve("mute.sock");
        try (var server = java.nio.channels.ServerSocketChannel.open(java.net.StandardProtocolFamily.UNIX)) {
            server.bind(java.net.UnixDomainSocketAddress.of(socket)); // listens, never accepts
            assertThatThrownBy(() -> NbdClient.connect(NbdUri.unix(socket, ""), Duration.ofMillis(300), IO_TIMEOUT))
                    .satisfies(t -> assertIo(t, "no answer"));
        }
    }

    @Test
    void missingSocketGivesAClearError() {
        assertThatThrownBy(() -> NbdClient.connect(NbdUri.unix(dir.resolve("nope.sock"), "x"), Duration.ofSeconds(1), IO_TIMEOUT))
                .satisfies(t -> assertIo(t, "cannot connect to NBD server nbd+unix:///x?socket="));
    }
}
