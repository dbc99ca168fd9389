package io.flashvisor.node.volume;

import static org.assertj.core.api.Assertions.assertThat;

import io.flashvisor.destage.DestageSettings;
import io.flashvisor.node.Policy;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Flash full of dirty data (the destager cannot write: the SAN refuses destage writes): write-back
 * writes of clean blocks go around flash instead of failing or stalling, and nothing is lost.
 */
class FlashFullTest {
    @TempDir
    Path dir;

    @Test
    void writesGoAroundAFullFlashAndNothingIsLost() throws Exception {
        int size = 128 << 20; // twice the flash device
        MemoryBacking backing = new MemoryBacking(size);
        backing.failDestageWrites(true);
        byte[] model = new byte[size];
        DestageSettings fastRetry = new DestageSettings(256, 4, 0.1, 0.5, Duration.ofMillis(5), Duration.ofMillis(20));
        try (FlashDevice device = FlashDevice.open(dir.resolve("flash"), 64L << 20, false, "s3-fifo");
             CachedVolume v = new CachedVolume("vol", backing, device, Policy.WRITE_BACK, 0, fastRetry)) {
            List<Integer> chunks = new ArrayList<>();
            for (int i = 0; i < size / (64 << 10); i++) {
                chunks.add(i);
            }
            Collections.shuffle(chunks, new Random(3));
            Random r = new Random(4);
            for (int chunk : chunks.subList(0, chunks.size() * 3 / 4)) { // 96 MiB of distinct blocks
                byte[] data = new byte[64 << 10];
                r.nextBytes(data);
                v.write((long) chunk << 16, ByteBuffer.wrap(data), false);
                System.arraycopy(data, 0, model, chunk << 16, data.length);
            }
            VolumeStatus s = v.status();
            assertThat(s.fallbackWrites()).as("writes went around the full flash").isPositive();
            assertThat(s.dirtyBytes()).as("flash took what it could").isGreaterThan(16L << 20);
            assertThat(device.dirtyRatio()).isLessThan(1.0);
            backing.failDestageWrites(false);
            assertThat(v.awaitClean(Duration.ofSeconds(60))).isTrue();
            assertThat(java.util.Arrays.equals(backing.image(), model)).as("backing store equals the model").isTrue();
        }
    }
}
