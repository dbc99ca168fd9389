package io.flashvisor.backing.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flashvisor.common.BlockError;
import io.flashvisor.common.VolumeException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link ReconnectingNbdStore} against a real nbdkit that is killed (SIGKILL: connections cut) and
 * started again on the same socket over the same image file: the store connects again by itself,
 * not before the settle time, and the first flush after losing unflushed writes fails once.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ReconnectingNbdStoreTest {
    private static final Duration SETTLE = Duration.ofMillis(300);
    private static final int SIZE = 4 << 20;

    @TempDir
    Path dir;

    private Path image() throws Exception {
        Path image = dir.resolve("san.img");
        if (!Files.exists(image)) {
            try (var f = new java.io.RandomAccessFile(image.toFile(), "rw")) {
                f.setLength(SIZE);
            }
        }
        return image;
    }

    private Nbdkit san(Path socket) throws Exception {
        return Nbdkit.startOn(socket, dir, "file", image().toString());
    }

    private ReconnectingNbdStore open(Nbdkit server) throws Exception {
        return ReconnectingNbdStore.open(server.uri(), false, Duration.ofSeconds(5), Duration.ofSeconds(30), SETTLE);
    }

    private static ByteBuffer block(int value) {
        byte[] b = new byte[4096];
        Arrays.fill(b, (byte) value);
        return ByteBuffer.wrap(b);
    }

    private static int read(ReconnectingNbdStore store, long offset) throws Exception {
        ByteBuffer dst = ByteBuffer.allocate(4096);
        store.read(offset, dst);
        return dst.get(0) & 0xff;
    }

    @Test
    void theStoreConnectsAgainAfterTheServerRestartsButNotBeforeTheSettleTime() throws Exception {
        Path socket = dir.resolve("san.sock");
        Nbdkit server = san(socket);
        try (ReconnectingNbdStore store = open(server)) {
            store.write(0, block(0x11), false);
            store.flush();
            server.kill();
            assertThatThrownBy(() -> read(store, 0)).isInstanceOf(VolumeException.class);
            server = san(socket);
            long brokeAt = System.nanoTime();
            assertThatThrownBy(() -> read(store, 0)).as("within the settle time").hasMessageContaining("is disconnected")
                    .hasMessageContaining("next attempt to connect");
            Thread.sleep(SETTLE.toMillis() + 50);
            assertThat(read(store, 0)).isEqualTo(0x11);
            assertThat(System.nanoTime() - brokeAt).isGreaterThanOrEqualTo(SETTLE.toNanos());
            assertThat(store.reconnects()).isEqualTo(1);
            store.write(4096, block(0x22), false);
            store.flush(); // nothing was lost: the flush before the kill covered the only write
        } finally {
            server.close();
        }
    }

    @Test
    void theFirstFlushAfterLosingUnflushedWritesFailsSoThatTheyAreWrittenAgain() throws Exception {
        Path socket = dir.resolve("san.sock");
        Nbdkit server = san(socket);
        try (ReconnectingNbdStore store = open(server)) {
            store.write(0, block(0x33), false); // acknowledged, never flushed on its connection
            server.kill();
            server = san(socket);
            Thread.sleep(SETTLE.toMillis() + 50);
            assertThatThrownBy(() -> store.write(8192, block(0x44), false)).as("the call that finds the connection broken fails")
                    .isInstanceOf(VolumeException.class);
            Thread.sleep(SETTLE.toMillis() + 50);
            store.write(8192, block(0x44), false);
            assertThatThrownBy(store::flush).isInstanceOfSatisfying(VolumeException.class,
                    e -> assertThat(e.error()).isEqualTo(BlockError.IO)).hasMessageContaining("must be written again");
            store.write(0, block(0x33), false); // what a destager does: the batch again
            store.flush();
            assertThat(read(store, 0)).isEqualTo(0x33);
            assertThat(read(store, 8192)).isEqualTo(0x44);
        } finally {
            server.close();
        }
    }

    @Test
    void fuaWritesNeedNoSecondFlush() throws Exception {
        Path socket = dir.resolve("san.sock");
        Nbdkit server = san(socket);
        try (ReconnectingNbdStore store = open(server)) {
            store.write(0, block(0x55), true);
            server.kill();
            server = san(socket);
            assertThatThrownBy(() -> read(store, 0)).isInstanceOf(VolumeException.class);
            Thread.sleep(SETTLE.toMillis() + 50);
            store.flush();
            assertThat(read(store, 0)).isEqualTo(0x55);
        } finally {
            server.close();
        }
    }

    @Test
    void anExportThatChangedIsNotUsed() throws Exception {
        Path socket = dir.resolve("san.sock");
        Nbdkit server = san(socket);
        try (ReconnectingNbdStore store = open(server)) {
            server.kill();
            server = Nbdkit.startOn(socket, dir, "memory", "size=8M");
            assertThatThrownBy(() -> read(store, 0)).isInstanceOf(VolumeException.class);
            Thread.sleep(SETTLE.toMillis() + 50);
            assertThatThrownBy(() -> read(store, 0)).hasMessageContaining("the export changed: 8388608 bytes instead of " + SIZE);
            assertThat(store.reconnects()).isZero();
        } finally {
            server.close();
        }
    }
}
