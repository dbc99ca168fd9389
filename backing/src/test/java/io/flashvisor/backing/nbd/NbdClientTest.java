package io.flashvisor.backing.nbd;

import static io.flashvisor.nbd.wire.NbdConstants.FLAG_SEND_FLUSH;
import static io.flashvisor.nbd.wire.NbdConstants.FLAG_SEND_FUA;
import static io.flashvisor.nbd.wire.NbdConstants.FLAG_SEND_TRIM;
import static io.flashvisor.nbd.wire.NbdConstants.FLAG_SEND_WRITE_ZEROES;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.flashvisor.common.BlockError;
import io.flashvisor.common.Extent;
import io.flashvisor.common.VolumeException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@link NbdClient} against a real {@code nbdkit memory} server. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NbdClientTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;

    static byte[] random(long seed, int n) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static byte[] read(NbdClient c, long offset, int n) throws Exception {
        ByteBuffer dst = ByteBuffer.allocate(n);
        c.read(offset, dst);
        assertThat(dst.hasRemaining()).isFalse();
        return dst.array();
    }

    @Test
    void negotiatesStructuredRepliesBlockStatusAndFlags() throws Exception {
        try (Nbdkit server = Nbdkit.start(dir, "memory", "size=64M"); NbdClient c = server.connect()) {
            NbdExport e = c.export();
            assertThat(e.size()).isEqualTo(64L * MIB);
            assertThat(e.structuredReplies()).isTrue();
            assertThat(e.blockStatus()).isTrue();
            assertThat(e.readOnly()).isFalse();
            assertThat(e.has(FLAG_SEND_FLUSH) && e.has(FLAG_SEND_TRIM) && e.has(FLAG_SEND_WRITE_ZEROES) && e.has(FLAG_SEND_FUA)).isTrue();
            assertThat(e.maximumPayload()).isLessThanOrEqualTo(32 * MIB);
        }
    }

    @Test
    void writesAndReadsBackIncludingUnalignedAndLargerThanMaxPayload() throws Exception {
        try (Nbdkit server = Nbdkit.start(dir, "memory", "size=64M"); NbdClient c = server.connect()) {
            byte[] small = random(1, 1000);
            c.write(12345, ByteBuffer.wrap(small), false);
            assertThat(read(c, 12345, 1000)).isEqualTo(small);

            byte[] big = random(2, 40 * MIB); // split into 32 MiB + 8 MiB requests, pipelined
            ByteBuffer src = ByteBuffer.allocateDirect(big.length).put(big).flip();
            c.write(3 * MIB + 7, src, true);
            assertThat(src.hasRemaining()).isFalse();
            assertThat(read(c, 3 * MIB + 7, big.length)).isEqualTo(big);
            c.flush();
        }
    }

    @Test
    void manyThreadsPipelineOnOneConnection() throws Exception {
        try (Nbdkit server = Nbdkit.start(dir, "memory", "size=64M"); NbdClient c = server.connect()) {
            int threads = 32;
            int region = 2 * MIB;
            ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
            List<Future<byte[]>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int id = t;
                results.add(pool.submit(() -> {
                    // Each thread owns one region and keeps its own model of it.
                    Random rnd = new Random(id);
                    byte[] model = new byte[region];
                    long base = (long) id * region;
                    for (int i = 0; i < 100; i++) {
                        int off = rnd.nextInt(region - 1);
                        int len = 1 + rnd.nextInt(Math.min(region - off, 64 * 1024));
                        if (rnd.nextBoolean()) {
                            byte[] data = random(rnd.nextLong(), len);
                            c.write(base + off, ByteBuffer.wrap(data), rnd.nextInt(10) == 0);
                            System.arraycopy(data, 0, model, off, len);
                        } else if (rnd.nextInt(5) == 0) {
                            c.writeZeroes(base + off, len, rnd.nextBoolean(), false, false);
                            Arrays.fill(model, off, off + len, (byte) 0);
                        } else {
                            assertThat(read(c, base + off, len)).isEqualTo(Arrays.copyOfRange(model, off, off + len));
                        }
                    }
                    return model;
                }));
            }
            for (int t = 0; t < threads; t++) {
                byte[] model = results.get(t).get();
                assertThat(read(c, (long) t * region, region)).as("region %d", t).isEqualTo(model);
            }
            pool.shutdown();
        }
    }

    @Test
    void zeroTrimCacheAndBlockStatus() throws Exception {
        try (Nbdkit server = Nbdkit.start(dir, "memory", "size=16M"); NbdClient c = server.connect()) {
            Extent fresh = c.blockStatus(0, 16 * MIB);
            assertThat(fresh.hole()).isTrue();
            assertThat(fresh.zero()).isTrue();

            c.write(MIB, ByteBuffer.wrap(random(3, 64 * 1024)), false);
            Extent data = c.blockStatus(MIB, 64 * 1024);
            assertThat(data.hole()).isFalse();
            assertThat(data.length()).isLessThanOrEqualTo(64 * 1024);
            Extent before = c.blockStatus(0, 16 * MIB);
            assertThat(before.length()).isEqualTo(MIB);
            assertThat(before.hole()).isTrue();

            c.writeZeroes(MIB + 100, 1000, false, false, true);
            byte[] back = read(c, MIB, 64 * 1024);
            byte[] expected = random(3, 64 * 1024);
            Arrays.fill(expected, 100, 1100, (byte) 0);
            assertThat(back).isEqualTo(expected);

            c.trim(MIB, 64 * 1024, false);
            c.cache(0, MIB);
            c.flush();
        }
    }

    @Test
    void emulatesWriteZeroesAndFuaWhenNotAdvertised() throws Exception {
        try (Nbdkit server = Nbdkit.start(dir, "--filter=nozero", "--filter=fua", "memory", "size=8M",
                "zeromode=none"); NbdClient c = server.connect()) { // fuamode=none is the default (1.32 rejects it spelled out)
            assertThat(c.export().has(FLAG_SEND_WRITE_ZEROES)).isFalse();
            assertThat(c.export().has(FLAG_SEND_FUA)).isFalse();
            c.write(0, ByteBuffer.wrap(random(4, 3 * MIB)), true);
            c.writeZeroes(1000, 2 * MIB, false, false, true);
            byte[] expected = random(4, 3 * MIB);
            Arrays.fill(expected, 1000, 1000 + 2 * MIB, (byte) 0);
            assertThat(read(c, 0, 3 * MIB)).isEqualTo(expected);
            assertThatThrownBy(() -> c.writeZeroes(0, 4096, true, true, false))
                    .isInstanceOfSatisfying(VolumeException.class, v -> assertThat(v.error()).isEqualTo(BlockError.NOT_SUPPORTED));
        }
    }

    @Test
    void worksWithoutStructuredRepliesAndWithoutFixedNewstyle() throws Exception {
        try (Nbdkit server = Nbdkit.start(dir, "--no-sr", "memory", "size=4M"); NbdClient c = server.connect()) {
            assertThat(c.export().structuredReplies()).isFalse();
            assertThat(c.export().blockStatus()).isFalse();
            c.write(5, ByteBuffer.wrap(random(5, 100_000)), false);
            assertThat(read(c, 5, 100_000)).isEqualTo(random(5, 100_000));
            assertThat(c.blockStatus(0, 4096)).isEqualTo(new Extent(4096, false, false));
        }
        try (Nbdkit server = Nbdkit.start(dir, "--mask-handshake=0", "memory", "size=4M"); NbdClient c = server.connect()) {
            assertThat(c.export().size()).isEqualTo(4 * MIB);
            c.write(0, ByteBuffer.wrap(random(6, 5000)), false);
            assertThat(read(c, 0, 5000)).isEqualTo(random(6, 5000));
        }
    }

    @Test
    void oldstyleServerIsRefusedClearly() throws Exception {
        try (Nbdkit server = Nbdkit.start(dir, "--oldstyle", "memory", "size=4M")) {
            assertThatThrownBy(server::connect).isInstanceOf(VolumeException.class).hasMessageContaining("oldstyle");
        }
    }

    @Test
    void readOnlyExportRefusesWrites() throws Exception {
        try (Nbdkit server = Nbdkit.start(dir, "-r", "memory", "size=4M"); NbdClient c = server.connect()) {
            assertThat(c.export().readOnly()).isTrue();
            assertThatThrownBy(() -> c.write(0, ByteBuffer.allocate(512), false))
                    .isInstanceOfSatisfying(VolumeException.class, v -> assertThat(v.error()).isEqualTo(BlockError.PERMISSION));
            assertThat(read(c, 0, 512)).containsOnly(0);
        }
    }

    @Test
    void serverErrorsMapToBlockErrorsAndKeepTheConnection() throws Exception {
        try (Nbdkit server = Nbdkit.start(dir, "--filter=error", "memory", "size=4M", "error-pread-rate=1",
                "error-pread=EIO", "error-pwrite-rate=1", "error-pwrite=ENOSPC", "error-trim-rate=1", "error-trim=EPERM");
             NbdClient c = server.connect()) {
            assertThatThrownBy(() -> read(c, 0, 4096))
                    .isInstanceOfSatisfying(VolumeException.class, v -> assertThat(v.error()).isEqualTo(BlockError.IO))
                    .hasMessageContaining("READ").hasMessageContaining("EIO");
            assertThatThrownBy(() -> c.write(0, ByteBuffer.allocate(4096), false))
                    .isInstanceOfSatisfying(VolumeException.class, v -> assertThat(v.error()).isEqualTo(BlockError.NO_SPACE));
            assertThatThrownBy(() -> c.trim(0, 4096, false))
                    .isInstanceOfSatisfying(VolumeException.class, v -> assertThat(v.error()).isEqualTo(BlockError.PERMISSION));
            // Errors are per request: the connection is still good.
            c.flush();
            c.writeZeroes(0, 4096, false, false, false);
            assertThat(c.isBroken()).isFalse();
        }
    }

    @Test
    void serverShutdownErrorLeadsToSoftDisconnect() throws Exception {
        try (Nbdkit server = Nbdkit.start(dir, "--filter=error", "memory", "size=4M", "error-pread-rate=1", "error-pread=ESHUTDOWN");
             NbdClient c = server.connect()) {
            assertThatThrownBy(() -> read(c, 0, 4096))
                    .isInstanceOfSatisfying(VolumeException.class, v -> assertThat(v.error()).isEqualTo(BlockError.SHUTDOWN));
            assertThatThrownBy(c::flush)
                    .isInstanceOfSatisfying(VolumeException.class, v -> assertThat(v.error()).isEqualTo(BlockError.SHUTDOWN));
        }
    }
}
