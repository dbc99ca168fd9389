package io.flashvisor.node.volume;

import static org.assertj.core.api.Assertions.assertThat;

import io.flashvisor.cache.log.FileFlashChannel;
import io.flashvisor.cache.log.FlashChannel;
import io.flashvisor.destage.DestageSettings;
import io.flashvisor.node.Policy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The flash device starts failing writes: the volume says so, runs pass-through, still destages
 * what was dirty (reads of flash work), and every acknowledged write is readable and ends up on the
 * backing store.
 */
class FlashFailureTest {
    @TempDir
    Path dir;

    /** A file channel whose writes and forces fail once {@link #broken} is set. */
    static final class BreakingChannel implements FlashChannel {
        final FileFlashChannel file;
        volatile boolean broken;

        BreakingChannel(FileFlashChannel file) {
            this.file = file;
        }

        @Override public void read(ByteBuffer dst, long position) throws IOException { file.read(dst, position); }
        @Override public void write(ByteBuffer src, long position) throws IOException {
            if (broken) {
                throw new IOException("injected flash write error (EIO)");
            }
            file.write(src, position);
        }
        @Override public void force(boolean metadata) throws IOException {
            if (broken) {
                throw new IOException("injected flash fdatasync error (EIO)");
            }
            file.force(metadata);
        }
        @Override public long size() throws IOException { return file.size(); }
        @Override public void close() throws IOException { file.close(); }
    }

    @Test
    void aFailingFlashDeviceTurnsTheVolumePassThroughAndLosesNothing() throws Exception {
        int size = 4 << 20;
        MemoryBacking backing = new MemoryBacking(size);
        backing.failDestageWrites(true); // keep the first writes dirty on flash
        byte[] model = new byte[size];
        Path file = dir.resolve("flash");
        java.nio.file.Files.write(file, new byte[0]);
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(1), (64L << 20) - 1);
        }
        BreakingChannel channel = new BreakingChannel(FileFlashChannel.open(file, false));
        try (FlashDevice device = FlashDevice.open(channel, file, "s3-fifo");
             CachedVolume v = new CachedVolume("vol", backing, device, Policy.WRITE_BACK, 0,
                     new DestageSettings(64, 4, 0.1, 0.5, Duration.ofMillis(5), Duration.ofMillis(20)))) {
            Random r = new Random(9);
            for (int i = 0; i < 200; i++) {
                if (i == 100) {
                    assertThat(v.status().dirtyBytes()).as("dirty data on flash when it breaks").isPositive();
                    channel.broken = true;
                    backing.failDestageWrites(false); // the SAN works: old dirty data drains from the broken flash
                }
                int block = i == 100 ? 7 : r.nextInt(size / 4096);
                byte[] data = new byte[4096];
                r.nextBytes(data);
                if (i == 50) {
                    block = 7; // dirty when flash breaks: rewriting it must wait for its destage
                }
                v.write(block * 4096L, ByteBuffer.wrap(data), false); // never fails: goes around flash
                System.arraycopy(data, 0, model, block * 4096, 4096);
                if (i == 100) {
                    VolumeStatus s = v.status();
                    assertThat(s.health()).isEqualTo("flash-failed");
                    assertThat(s.flashFailure()).contains("injected");
                }
            }
            for (int block = 0; block < size / 4096; block++) {
                ByteBuffer got = ByteBuffer.allocate(4096);
                v.read(block * 4096L, got);
                assertThat(got.array()).as("block %d reads its newest acknowledged data", block)
                        .isEqualTo(java.util.Arrays.copyOfRange(model, block * 4096, block * 4096 + 4096));
            }
            assertThat(v.awaitClean(Duration.ofSeconds(30))).as("dirty data destaged from the failed flash").isTrue();
            assertThat(backing.image()).isEqualTo(model);
        }
    }
}
