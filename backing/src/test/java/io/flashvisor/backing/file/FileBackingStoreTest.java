package io.flashvisor.backing.file;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import com.sun.nio.file.ExtendedOpenOption;
import io.flashvisor.backing.align.DisjointWriters;
import io.flashvisor.common.BlockError;
import io.flashvisor.common.VolumeException;
import io.flashvisor.common.VolumeFeatures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link FileBackingStore} on real files. The files live under {@code target/}, not in /tmp, because
 * /tmp is often tmpfs, which may refuse {@code O_DIRECT}; O_DIRECT tests are skipped where it is refused.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class FileBackingStoreTest {
    private static final int SIZE = 1 << 20;

    private Path dir;

    @BeforeEach
    void createDir() throws IOException {
        dir = Files.createDirectories(Path.of("target", "file-store-tests")).resolve("t" + System.nanoTime());
        Files.createDirectories(dir);
    }

    @AfterEach
    void deleteDir() throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private Path newFile(long size) throws IOException {
        Path f = dir.resolve("disk-" + System.nanoTime() + ".img");
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            ch.truncate(0);
            ch.write(ByteBuffer.allocate(1), size - 1);
        }
        return f;
    }

    private void assumeDirectIo(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, ExtendedOpenOption.DIRECT)) {
            assumeThat(ch.isOpen()).isTrue();
        } catch (IOException e) {
            assumeThat(e).as("O_DIRECT is supported on " + file).isNull();
        }
    }

    private FileBackingStore open(Path f, boolean direct) throws IOException {
        if (direct) {
            assumeDirectIo(f);
        }
        return FileBackingStore.open(f, false, direct, true);
    }

    private static void assertError(ThrowingCallable call, BlockError error, String messagePart) {
        assertThatThrownBy(call).isInstanceOfSatisfying(VolumeException.class, v -> assertThat(v.error()).isEqualTo(error))
                .hasMessageContaining(messagePart);
    }

    @ParameterizedTest(name = "direct={0}")
    @ValueSource(booleans = {false, true})
    void randomUnalignedReadsWritesAndZeroesMatchAModel(boolean direct) throws Exception {
        Path f = newFile(SIZE);
        byte[] model = new byte[SIZE];
        Random rnd = new Random(42);
        try (FileBackingStore store = open(f, direct)) {
            assertThat(store.size()).isEqualTo(SIZE);
            for (int i = 0; i < 300; i++) {
                int off = rnd.nextInt(SIZE);
                int len = rnd.nextInt(Math.min(SIZE - off, 70_000) + 1);
                int slack = rnd.nextInt(3) == 0 ? 0 : rnd.nextInt(4096);
                ByteBuffer buf = rnd.nextBoolean() ? ByteBuffer.allocate(slack + len) : ByteBuffer.allocateDirect(slack + len);
                buf.position(slack);
                switch (rnd.nextInt(4)) {
                    case 0, 1 -> {
                        byte[] data = new byte[len];
                        rnd.nextBytes(data);
                        buf.put(data).position(slack);
                        store.write(off, buf, rnd.nextInt(8) == 0);
                        assertThat(buf.hasRemaining()).isFalse();
                        System.arraycopy(data, 0, model, off, len);
                    }
                    case 2 -> {
                        store.read(off, buf);
                        assertThat(buf.hasRemaining()).isFalse();
                        byte[] got = new byte[len];
                        buf.get(slack, got);
                        assertThat(got).as("read %d+%d", off, len).isEqualTo(Arrays.copyOfRange(model, off, off + len));
                    }
                    default -> {
                        store.writeZeroes(off, len, rnd.nextBoolean(), false, rnd.nextBoolean());
                        Arrays.fill(model, off, off + len, (byte) 0);
                    }
                }
            }
            store.flush();
        }
        assertThat(Files.readAllBytes(f)).isEqualTo(model);
    }

    @ParameterizedTest(name = "direct={0}")
    @ValueSource(booleans = {false, true})
    void concurrentUnalignedWritesToTheSameBlocksLoseNothing(boolean direct) throws Exception {
        Path f = newFile(SIZE);
        byte[] expected;
        try (FileBackingStore store = open(f, direct)) {
            expected = DisjointWriters.run((off, src) -> store.write(off, src, false), 4096, 64 * 1024, 16, 7);
            store.flush();
        }
        byte[] all = Files.readAllBytes(f);
        assertThat(Arrays.copyOfRange(all, 4096, 4096 + 64 * 1024)).isEqualTo(expected);
        assertThat(Arrays.copyOfRange(all, 0, 4096)).containsOnly(0);
    }

    @Test
    void featuresSayWhatTheStoreDoes() throws Exception {
        try (FileBackingStore store = open(newFile(SIZE), false)) {
            VolumeFeatures f = store.features();
            assertThat(f.readOnly()).isFalse();
            assertThat(f.flush() && f.fua() && f.writeZeroes() && f.multiConn()).isTrue();
            assertThat(f.trim() || f.fastZero() || f.cache()).isFalse();
            assertThat(f.minimumBlockSize()).isEqualTo(1);
        }
    }

    @Test
    void trimIsAcceptedAndLeavesTheDataAlone() throws Exception {
        Path f = newFile(SIZE);
        try (FileBackingStore store = open(f, false)) {
            byte[] data = new byte[8192];
            new Random(1).nextBytes(data);
            store.write(0, ByteBuffer.wrap(data), false);
            store.trim(0, 8192, true);
            ByteBuffer back = ByteBuffer.allocate(8192);
            store.read(0, back);
            assertThat(back.array()).isEqualTo(data);
        }
    }

    @Test
    void fastZeroIsRefusedSoClientsFallBack() throws Exception {
        try (FileBackingStore store = open(newFile(SIZE), false)) {
            assertError(() -> store.writeZeroes(0, 4096, true, true, false), BlockError.NOT_SUPPORTED, "fast zeroing");
        }
    }

    @Test
    void readOnlyStoreRefusesEveryKindOfWrite() throws Exception {
        Path f = newFile(SIZE);
        try (FileBackingStore store = FileBackingStore.open(f, true, false, true)) {
            assertThat(store.features().readOnly()).isTrue();
            assertError(() -> store.write(0, ByteBuffer.allocate(10), false), BlockError.PERMISSION, "read-only");
            assertError(() -> store.trim(0, 10, false), BlockError.PERMISSION, "read-only");
            assertError(() -> store.writeZeroes(0, 10, true, false, false), BlockError.PERMISSION, "read-only");
            store.read(0, ByteBuffer.allocate(10));
            store.flush();
        }
    }

    @Test
    void openingSomethingUnusableSaysWhat() throws Exception {
        assertError(() -> FileBackingStore.open(dir.resolve("missing.img"), false, false, true), BlockError.INVALID,
                "missing.img does not exist");
        assertError(() -> FileBackingStore.open(dir, false, false, true), BlockError.INVALID, "is a directory");
        Path f = newFile(SIZE);
        Files.setPosixFilePermissions(f, java.nio.file.attribute.PosixFilePermissions.fromString("r--r--r--"));
        assumeThat(Files.isWritable(f)).as("not running as root").isFalse();
        assertError(() -> FileBackingStore.open(f, false, false, true), BlockError.PERMISSION, "not writable");
        FileBackingStore.open(f, true, false, true).close();
    }

    @Test
    void directIoNeedsASizeThatIsAWholeNumberOfBlocks() throws Exception {
        Path f = newFile(SIZE + 100);
        assumeDirectIo(f);
        assertError(() -> FileBackingStore.open(f, false, true, true), BlockError.INVALID, "not a multiple of the O_DIRECT block size");
    }

    @Test
    void closedStoreFailsWithShutdown() throws Exception {
        FileBackingStore store = open(newFile(SIZE), false);
        store.close();
        store.close(); // idempotent
        assertError(() -> store.read(0, ByteBuffer.allocate(10)), BlockError.SHUTDOWN, "closed");
        assertError(() -> store.write(0, ByteBuffer.allocate(10), false), BlockError.SHUTDOWN, "closed");
        assertError(store::flush, BlockError.SHUTDOWN, "closed");
    }

    @Test
    void anInterruptedCallerDoesNotCloseTheStoreForEveryoneElse() throws Exception {
        Path f = newFile(SIZE);
        try (FileBackingStore store = open(f, false)) {
            AtomicReference<Throwable> seen = new AtomicReference<>();
            Thread t = new Thread(() -> {
                Thread.currentThread().interrupt();
                try {
                    store.write(0, ByteBuffer.wrap(new byte[] {1, 2, 3}), false);
                } catch (Throwable e) {
                    seen.set(e);
                }
            });
            t.start();
            t.join();
            assertThat(seen.get()).isInstanceOf(VolumeException.class).hasMessageContaining("interrupted");
            store.write(10, ByteBuffer.wrap(new byte[] {4, 5, 6}), true);
            ByteBuffer back = ByteBuffer.allocate(3);
            store.read(10, back);
            assertThat(back.array()).containsExactly(4, 5, 6);
        }
    }

    @Test
    void ioExceptionsBecomeVolumeExceptionsNamingTheFile() throws Exception {
        Path f = newFile(SIZE);
        FileHandle h = FileHandle.open(f, false, false);
        try {
            VolumeException full = h.failure("write", 10, 20, new FileSystemException(f.toString(), null, "No space left on device"));
            assertThat(full.error()).isEqualTo(BlockError.NO_SPACE);
            assertThat(full).hasMessageContaining(f.toString()).hasMessageContaining("[10, +20)");
            assertThat(h.failure("write", 0, 1, new IOException("Disk quota exceeded")).error()).isEqualTo(BlockError.NO_SPACE);
            VolumeException io = h.failure("read", 0, 1, new IOException("Input/output error"));
            assertThat(io.error()).isEqualTo(BlockError.IO);
            assertThat(io).hasMessageContaining("read of [0, +1) on " + f + " failed: Input/output error");
        } finally {
            h.close();
        }
    }
}
