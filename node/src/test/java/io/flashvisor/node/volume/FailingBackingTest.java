package io.flashvisor.node.volume;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.flashvisor.common.BlockError;
import io.flashvisor.common.BlockVolume;
import io.flashvisor.common.VolumeException;
import io.flashvisor.common.VolumeFeatures;
import io.flashvisor.destage.DestageSettings;
import io.flashvisor.node.Policy;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A backing store that fails: destage retries and keeps the data; a failing read miss is an I/O error. */
class FailingBackingTest {
    @TempDir
    Path dir;

    @Test
    void destageRetriesFailedWritesAndLosesNothing() throws Exception {
        MemoryBacking backing = new MemoryBacking(256 * 4096);
        backing.failWrites(0.3);
        byte[] model = new byte[256 * 4096];
        DestageSettings fastRetry = new DestageSettings(16, 4, 0.1, 0.5, Duration.ofMillis(5), Duration.ofMillis(40));
        try (FlashDevice device = FlashDevice.open(dir.resolve("flash"), 64L << 20, false, "s3-fifo");
             CachedVolume v = new CachedVolume("vol", backing, device, Policy.WRITE_BACK, 0, fastRetry)) {
            Random r = new Random(5);
            for (int i = 0; i < 400; i++) {
                int block = r.nextInt(256);
                byte[] data = new byte[4096];
                r.nextBytes(data);
                v.write(block * 4096L, ByteBuffer.wrap(data), false); // never fails: flash takes it
                System.arraycopy(data, 0, model, block * 4096, 4096);
                if (i % 50 == 0) {
                    v.flush();
                }
            }
            v.flush();
            assertThat(backing.failedWrites.get()).as("injected failures happened").isPositive();
            // A SAN that refuses every write: the status says so, and keeps the data dirty.
            backing.failWrites(1.0);
            v.write(0, ByteBuffer.wrap(new byte[4096]), false);
            java.util.Arrays.fill(model, 0, 4096, (byte) 0);
            await().atMost(Duration.ofSeconds(30)).until(() -> v.status().health().equals("destage-failing"));
            assertThat(v.status().destageError()).contains("injected write failure");
            assertThat(v.status().dirtyBytes()).isPositive();
            backing.failWrites(0);
            assertThat(v.awaitClean(Duration.ofSeconds(60))).isTrue();
            assertThat(backing.image()).isEqualTo(model);
            assertThat(v.status().health()).isEqualTo("ok");
        }
    }

    /**
     * Scattered dirty blocks make batches of hundreds of runs; with 5 % of backing writes failing,
     * a batch whose every run must succeed at once would practically never complete. Runs that
     * succeeded are kept, so the volume drains.
     */
    @Test
    void aFlakyBackingStoreStillDrainsScatteredDirtyBlocks() throws Exception {
        MemoryBacking backing = new MemoryBacking(8192 * 4096);
        byte[] model = new byte[8192 * 4096];
        backing.failDestageWrites(true);
        DestageSettings s = new DestageSettings(1024, 8, 0.1, 0.5, Duration.ofMillis(2), Duration.ofMillis(20));
        try (FlashDevice device = FlashDevice.open(dir.resolve("flash"), 64L << 20, false, "s3-fifo");
             CachedVolume v = new CachedVolume("vol", backing, device, Policy.WRITE_BACK, 0, s)) {
            Random r = new Random(7);
            for (int i = 0; i < 2000; i++) {
                int block = r.nextInt(4096) * 2; // never adjacent: one run per block
                byte[] data = new byte[4096];
                r.nextBytes(data);
                v.write(block * 4096L, ByteBuffer.wrap(data), false);
                System.arraycopy(data, 0, model, block * 4096, 4096);
            }
            backing.failDestageWrites(false);
            backing.failWrites(0.05);
            assertThat(v.awaitClean(Duration.ofSeconds(60))).as("drained despite 5 % failing writes").isTrue();
            assertThat(backing.failedWrites.get()).isPositive();
            assertThat(backing.image()).isEqualTo(model);
        }
    }

    @Test
    void aReadMissTheBackingStoreFailsIsAnIoErrorAndTheVolumeGoesOn() throws Exception {
        MemoryBacking memory = new MemoryBacking(64 * 4096);
        BlockVolume failingReads = new BlockVolume() {
            volatile boolean fail = true;

            @Override public long size() { return memory.size(); }
            @Override public VolumeFeatures features() { return memory.features(); }
            @Override public void read(long offset, ByteBuffer dst) throws VolumeException {
                if (fail) {
                    fail = false;
                    throw new VolumeException(BlockError.IO, "injected read failure");
                }
                memory.read(offset, dst);
            }
            @Override public void write(long offset, ByteBuffer src, boolean fua) throws VolumeException { memory.write(offset, src, fua); }
            @Override public void flush() { memory.flush(); }
            @Override public void trim(long offset, long length, boolean fua) { memory.trim(offset, length, fua); }
            @Override public void writeZeroes(long o, long l, boolean t, boolean f, boolean fua) { memory.writeZeroes(o, l, t, f, fua); }
            @Override public void close() { }
        };
        try (FlashDevice device = FlashDevice.open(dir.resolve("flash"), 64L << 20, false, "s3-fifo");
             CachedVolume v = new CachedVolume("vol", failingReads, device, Policy.WRITE_THROUGH, 0, DestageSettings.defaults())) {
            assertThatThrownBy(() -> v.read(0, ByteBuffer.allocate(4096)))
                    .isInstanceOf(VolumeException.class)
                    .satisfies(e -> assertThat(((VolumeException) e).error()).isEqualTo(BlockError.IO));
            ByteBuffer again = ByteBuffer.allocate(4096);
            v.read(0, again); // the range lock was released and nothing bad was cached
            assertThat(again.array()).isEqualTo(new byte[4096]);
        }
    }
}
