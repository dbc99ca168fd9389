package io.flashvisor.backing.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flashvisor.backing.align.DisjointWriters;
import io.flashvisor.common.BlockError;
import io.flashvisor.common.Extent;
import io.flashvisor.common.VolumeException;
import io.flashvisor.common.VolumeFeatures;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@link NbdBackingStore} against {@code nbdkit}, including a server that refuses unaligned requests. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NbdBackingStoreTest {
    @TempDir
    Path dir;

    @Test
    void featuresFollowTheServer() throws Exception {
        try (Nbdkit server = Nbdkit.start(dir, "memory", "size=8M");
             NbdBackingStore store = new NbdBackingStore(server.connect(), false)) {
            VolumeFeatures f = store.features();
            assertThat(store.size()).isEqualTo(8 << 20);
            assertThat(f.readOnly()).isFalse();
            assertThat(f.flush() && f.fua() && f.trim() && f.writeZeroes() && f.multiConn()).isTrue();
        }
        try (Nbdkit server = Nbdkit.start(dir, "--filter=nozero", "memory", "size=8M", "zeromode=none");
             NbdBackingStore store = new NbdBackingStore(server.connect(), true)) {
            VolumeFeatures f = store.features();
            assertThat(f.readOnly()).isTrue();
            assertThat(f.writeZeroes()).as("emulated").isTrue();
            assertThat(f.fastZero()).isFalse();
            assertThatThrownBy(() -> store.write(0, ByteBuffer.allocate(1), false))
                    .isInstanceOfSatisfying(VolumeException.class, v -> assertThat(v.error()).isEqualTo(BlockError.PERMISSION));
        }
    }

    @Test
    void unalignedRequestsWorkAgainstAServerWithA4KMinimumBlockSize() throws Exception {
        int size = 4 << 20;
        try (Nbdkit server = Nbdkit.start(dir, "--filter=blocksize-policy", "memory", "size=4M",
                "blocksize-minimum=4096", "blocksize-preferred=65536", "blocksize-maximum=1M", "blocksize-error-policy=error");
             NbdBackingStore store = new NbdBackingStore(server.connect(), false)) {
            NbdExport e = store.client().export();
            assertThat(e.minimumBlockSize()).isEqualTo(4096);
            assertThat(e.maximumPayload()).isEqualTo(1 << 20);
            assertThat(store.features().preferredBlockSize()).isEqualTo(65536);

            byte[] model = new byte[size];
            Random rnd = new Random(9);
            for (int i = 0; i < 200; i++) {
                int off = rnd.nextInt(size);
                int len = rnd.nextInt(Math.min(size - off, 3 << 20) + 1);
                switch (rnd.nextInt(4)) {
                    case 0, 1 -> {
                        byte[] data = new byte[len];
                        rnd.nextBytes(data);
                        store.write(off, ByteBuffer.wrap(data), rnd.nextInt(5) == 0);
                        System.arraycopy(data, 0, model, off, len);
                    }
                    case 2 -> {
                        ByteBuffer b = ByteBuffer.allocate(len);
                        store.read(off, b);
                        assertThat(b.array()).isEqualTo(Arrays.copyOfRange(model, off, off + len));
                    }
                    default -> {
                        store.writeZeroes(off, len, rnd.nextBoolean(), false, false);
                        Arrays.fill(model, off, off + len, (byte) 0);
                    }
                }
            }
            store.trim(100, 10_000, false); // shrunk to whole blocks; must not be refused
            Arrays.fill(model, 4096, 8192, (byte) 0); // nbdkit memory reads trimmed blocks as zero
            store.prefetch(1, 5000);
            store.flush();
            ByteBuffer all = ByteBuffer.allocate(size);
            store.read(0, all);
            assertThat(all.array()).isEqualTo(model);
            assertThat(server.log()).doesNotContain("error");
        }
    }

    @Test
    void concurrentUnalignedWritesThroughReadModifyWriteLoseNothing() throws Exception {
        try (Nbdkit server = Nbdkit.start(dir, "--filter=blocksize-policy", "memory", "size=1M",
                "blocksize-minimum=4096", "blocksize-error-policy=error");
             NbdBackingStore store = new NbdBackingStore(server.connect(), false)) {
            byte[] expected = DisjointWriters.run((off, src) -> store.write(off, src, false), 0, 32 * 1024, 16, 5);
            ByteBuffer back = ByteBuffer.allocate(expected.length);
            store.read(0, back);
            assertThat(back.array()).isEqualTo(expected);
        }
    }

    @Test
    void extentsComeFromBlockStatus() throws Exception {
        try (Nbdkit server = Nbdkit.start(dir, "memory", "size=4M");
             NbdBackingStore store = new NbdBackingStore(server.connect(), false)) {
            store.write(65536, ByteBuffer.wrap(new byte[] {1}), false);
            Extent hole = store.extentAt(0, 1 << 20);
            assertThat(hole.hole()).isTrue();
            assertThat(hole.zero()).isTrue();
            assertThat(hole.length()).isEqualTo(65536);
            Extent data = store.extentAt(65536, 100);
            assertThat(data.hole()).isFalse();
            assertThat(data.length()).isLessThanOrEqualTo(100);
        }
    }
}
