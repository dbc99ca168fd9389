package io.flashvisor.node.volume;

import static org.assertj.core.api.Assertions.assertThat;

import io.flashvisor.destage.DestageSettings;
import io.flashvisor.node.Policy;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The volume's online miss-ratio curve answers "how much flash for N % hits" from its own I/O. */
class SizingTest {
    @TempDir
    Path dir;

    @Test
    void aLoopOverAKnownWorkingSetNeedsAboutThatMuchFlash() throws Exception {
        MemoryBacking backing = new MemoryBacking(16 << 20);
        try (FlashDevice device = FlashDevice.open(dir.resolve("flash"), 64L << 20, false, "s3-fifo");
             CachedVolume v = new CachedVolume("vol", backing, device, Policy.WRITE_THROUGH, 0, DestageSettings.defaults())) {
            // 1000 distinct blocks read over and over in random order: LRU needs all 1000 for ~100 % hits
            // and about 900 for 90 % of the re-reads.
            Random r = new Random(1);
            ByteBuffer buf = ByteBuffer.allocate(4096);
            for (int i = 0; i < 40_000; i++) {
                v.read(r.nextInt(1000) * 4096L, buf.clear());
            }
            Sizing s = v.status().sizing();
            assertThat(s.accesses()).isEqualTo(40_000);
            assertThat(s.bytesFor90()).isBetween(850L * 4096, 1000L * 4096);
            assertThat(s.bytesFor95()).isBetween(s.bytesFor90(), 1010L * 4096);
            assertThat(s.curve()).isNotEmpty().hasSizeLessThanOrEqualTo(Sizing.POINTS + 1);
        }
    }
}
