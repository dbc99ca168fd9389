package io.flashvisor.node.volume;

import static org.assertj.core.api.Assertions.assertThat;

import io.flashvisor.common.BlockError;
import io.flashvisor.common.VolumeException;
import io.flashvisor.destage.DestageSettings;
import io.flashvisor.node.Policy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A cached volume against a model disk (a byte array): random reads, aligned and unaligned
 * writes (half of them offered to the event loop's fast path first), FUA, flushes, trims, zeroes,
 * prefetches, online policy changes, drains and restarts on the same flash device. Every read must return the model's bytes (trimmed bytes may be
 * anything); after every drain, the backing store alone must equal the model.
 */
class CachedVolumeModelTest {
    static final int SIZE = (1 << 20) + 1000; // 256 whole blocks and a partial one: the tail is never cached
    static final int OPS = 300;

    @TempDir
    Path dir;

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(longs = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10})
    void behavesLikeTheModelDisk(long seed) throws Exception {
        Random r = new Random(seed);
        MemoryBacking backing = new MemoryBacking(SIZE);
        byte[] model = new byte[SIZE];
        BitSet undefined = new BitSet(SIZE);
        Path flashFile = dir.resolve("flash-" + seed);
        Policy policy = Policy.values()[r.nextInt(Policy.values().length)];
        long cutoff = r.nextBoolean() ? 0 : 64 << 10;
        FlashDevice device = FlashDevice.open(flashFile, 64L << 20, false, "s3-fifo");
        CachedVolume v = new CachedVolume("vol", backing, device, policy, cutoff, DestageSettings.defaults());
        StringBuilder trace = new StringBuilder();
        try {
            for (int op = 0; op < OPS; op++) {
                int kind = r.nextInt(100);
                long offset = offset(r);
                int length = (int) Math.min(SIZE - offset, 1 + r.nextInt(r.nextBoolean() ? 4096 : 65536));
                if (r.nextInt(3) > 0) { // mostly block-aligned, as VMs do
                    offset = offset / 4096 * 4096;
                    length = Math.max(4096, length / 4096 * 4096);
                    length = (int) Math.min(length, SIZE - offset);
                }
                if (kind < 35) {
                    byte[] data = new byte[length];
                    r.nextBytes(data);
                    boolean fua = r.nextInt(4) == 0;
                    trace.append("write ").append(offset).append('+').append(length).append(fua ? " fua\n" : "\n");
                    ByteBuffer src = ByteBuffer.wrap(data);
                    var fast = r.nextBoolean() ? v.tryWriteAsync(offset, src, fua) : null; // the event loop's path
                    if (fast != null) {
                        fast.get();
                        trace.append("  (fast path)\n");
                    } else {
                        v.write(offset, src, fua);
                    }
                    assertThat(src.hasRemaining()).as("write consumed its buffer").isFalse();
                    System.arraycopy(data, 0, model, (int) offset, length);
                    undefined.clear((int) offset, (int) offset + length);
                } else if (kind < 70) {
                    trace.append("read ").append(offset).append('+').append(length).append('\n');
                    ByteBuffer dst = ByteBuffer.allocate(length);
                    var fast = r.nextBoolean() ? v.tryReadAsync(offset, dst) : null;
                    if (fast != null) {
                        fast.get();
                        trace.append("  (fast path)\n");
                    } else {
                        v.read(offset, dst);
                    }
                    assertThat(dst.hasRemaining()).isFalse();
                    assertMatches(model, undefined, offset, dst.array(), "read " + offset + "+" + length + " (seed " + seed + ")\n" + trace);
                } else if (kind < 77) {
                    trace.append("flush\n");
                    v.flush();
                } else if (kind < 81) {
                    trace.append("trim ").append(offset).append('+').append(length).append('\n');
                    v.trim(offset, length, false);
                    undefined.set((int) offset, (int) offset + length);
                } else if (kind < 86) {
                    boolean fast = r.nextBoolean();
                    trace.append("zeroes ").append(offset).append('+').append(length).append(fast ? " fast\n" : "\n");
                    try {
                        v.writeZeroes(offset, length, r.nextBoolean(), fast, false);
                        Arrays.fill(model, (int) offset, (int) offset + length, (byte) 0);
                        undefined.clear((int) offset, (int) offset + length);
                    } catch (VolumeException e) {
                        assertThat(fast).as("only a fast zero may be refused").isTrue();
                        assertThat(e.error()).isEqualTo(BlockError.NOT_SUPPORTED);
                    }
                } else if (kind < 89) {
                    trace.append("prefetch ").append(offset).append('+').append(length).append('\n');
                    v.prefetch(offset, length);
                } else if (kind < 94) {
                    policy = Policy.values()[r.nextInt(Policy.values().length)];
                    trace.append("policy ").append(policy.configName()).append('\n');
                    v.setPolicy(policy);
                } else if (kind < 97) {
                    trace.append("drain\n");
                    assertThat(v.awaitClean(Duration.ofSeconds(30))).as("drained").isTrue();
                    assertMatches(model, undefined, 0, backing.image(), "backing after drain (seed " + seed + ")\n" + trace);
                } else {
                    trace.append("restart\n");
                    v.close();
                    device.close();
                    device = FlashDevice.open(flashFile, 64L << 20, false, "s3-fifo");
                    v = new CachedVolume("vol", backing, device, policy, cutoff, DestageSettings.defaults());
                }
            }
            assertThat(v.awaitClean(Duration.ofSeconds(30))).isTrue();
            assertMatches(model, undefined, 0, backing.image(), "backing at the end (seed " + seed + ")\n" + trace);
            assertThat(v.status().dirtyBytes()).isZero();
        } finally {
            v.close();
            device.close();
        }
    }

    private static long offset(Random r) {
        return switch (r.nextInt(4)) {
            case 0 -> r.nextInt(8) * 4096L; // a hot corner
            case 1 -> SIZE - 1 - r.nextInt(6000); // the partial tail block
            default -> r.nextInt(SIZE);
        };
    }

    static void assertMatches(byte[] model, BitSet undefined, long offset, byte[] actual, String context) {
        for (int i = 0; i < actual.length; i++) {
            int at = (int) offset + i;
            if (!undefined.get(at) && actual[i] != model[at]) {
                throw new AssertionError("byte " + at + " is " + actual[i] + ", the model says " + model[at] + " — " + context);
            }
        }
    }

    static void close(AutoCloseable c) throws IOException {
        try {
            c.close();
        } catch (Exception e) {
            throw new IOException(e);
        }
    }
}
