package io.flashvisor.node.volume;

import static org.assertj.core.api.Assertions.assertThat;

import io.flashvisor.destage.DestageSettings;
import io.flashvisor.node.Policy;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The destager writes flush epochs to the backing store in order (docs/cache.md, write ordering). */
class FlushOrderTest {
    static final int BLOCKS = 64;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {11, 12, 13})
    void everyBackingFlushHoldsAFlushConsistentImage(long seed) throws Exception {
        Random r = new Random(seed);
        MemoryBacking backing = new MemoryBacking(BLOCKS * 4096);
        backing.delay(50_000); // a slow SAN, so dirty data piles up across epochs while writes go on
        FlushOrderChecker checker = new FlushOrderChecker(BLOCKS);
        backing.onFlush(checker::check);
        // Small batches: many backing flushes per epoch, so partial epochs are checked too.
        DestageSettings pace = new DestageSettings(8, 4, 0.0, 0.0, Duration.ofMillis(10), Duration.ofMillis(50));
        try (FlashDevice device = FlashDevice.open(dir.resolve("flash"), 64L << 20, false, "s3-fifo");
             CachedVolume v = new CachedVolume("vol", backing, device, Policy.WRITE_BACK, 0, pace)) {
            long version = 0;
            for (int op = 0; op < 600; op++) {
                if (r.nextInt(8) == 0) {
                    checker.flushed();
                    v.flush();
                    continue;
                }
                int first = r.nextInt(BLOCKS - 4);
                int count = 1 + r.nextInt(4);
                ByteBuffer data = ByteBuffer.allocate(count * 4096);
                for (int i = 0; i < count; i++) {
                    version++;
                    checker.wrote(first + i, version);
                    data.putLong(i * 4096, version);
                }
                v.write(first * 4096L, data, false);
            }
            checker.flushed();
            v.flush();
            assertThat(v.awaitClean(Duration.ofSeconds(60))).isTrue();
            assertThat(checker.consistentEpoch(backing.image())).as("the final image is the last FLUSH's").isGreaterThanOrEqualTo(0);
        }
        assertThat(checker.checks()).as("backing-store flushes checked").isGreaterThan(10);
        assertThat(checker.violations()).isEmpty();
    }

    /** Negative control: the checker rejects an image where a later epoch's write landed before an earlier one's. */
    @Test
    void checkerCatchesAnOutOfOrderImage() {
        FlushOrderChecker c = new FlushOrderChecker(4);
        c.wrote(0, 1); // epoch 0: block 0 = v1
        c.flushed();
        c.wrote(1, 2); // epoch 1: block 1 = v2
        c.flushed();
        c.wrote(2, 3); // epoch 2: block 2 = v3
        byte[] image = new byte[4 * 4096];
        ByteBuffer.wrap(image).putLong(2 * 4096, 3); // v3 (epoch 2) without v1 (epoch 0)
        assertThat(c.consistentEpoch(image)).isEqualTo(-1);
        ByteBuffer.wrap(image).putLong(0, 1); // + v1: still missing v2 of epoch 1
        assertThat(c.consistentEpoch(image)).isEqualTo(-1);
        ByteBuffer.wrap(image).putLong(4096, 2); // + v2: consistent as of FLUSH 2 (plus epoch 2's v3)
        assertThat(c.consistentEpoch(image)).isEqualTo(2);
        c.check(new byte[4 * 4096]); // nothing written yet: consistent as of the start
        assertThat(c.violations()).isEmpty();
    }
}
