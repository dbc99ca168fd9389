package io.flashvisor.nbd.server;

import static io.flashvisor.nbd.wire.NbdConstants.*;
import static org.assertj.core.api.Assertions.assertThat;

import io.flashvisor.common.BlockError;
import io.flashvisor.common.VolumeException;
import io.flashvisor.nbd.Export;
import io.flashvisor.nbd.ExportCatalog;
import io.flashvisor.nbd.MemoryVolume;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * A volume's non-blocking fast path ({@code tryReadAsync}/{@code tryWriteAsync}): served without
 * the worker executor, completed at once or later from another thread, failures as error replies,
 * null falling back to the executor.
 */
@org.junit.jupiter.api.extension.ExtendWith(io.flashvisor.nbd.NettyLeakCheck.class)
class FastPathTest {
    static final int SIZE = 1 << 20;

    /** A memory volume whose fast path does what the test says. */
    static final class FastVolume extends MemoryVolume {
        enum Mode { NOW, LATER, FAIL, NONE }

        volatile Mode mode = Mode.NOW;
        final List<Runnable> later = new ArrayList<>();

        FastVolume() {
            super(SIZE);
        }

        @Override
        public CompletableFuture<Void> tryReadAsync(long offset, ByteBuffer dst) {
            return fast(() -> read(offset, dst));
        }

        @Override
        public CompletableFuture<Void> tryWriteAsync(long offset, ByteBuffer src, boolean fua) {
            return fast(() -> write(offset, src, fua));
        }

        interface Io {
            void run() throws IOException;
        }

        private CompletableFuture<Void> fast(Io io) {
            switch (mode) {
                case NONE -> {
                    return null;
                }
                case FAIL -> {
                    return CompletableFuture.failedFuture(new VolumeException(BlockError.IO, "flash read failed"));
                }
                case NOW -> {
                    try {
                        io.run();
                    } catch (IOException e) {
                        return CompletableFuture.failedFuture(e);
                    }
                    return CompletableFuture.completedFuture(null);
                }
                default -> {
                    CompletableFuture<Void> f = new CompletableFuture<>();
                    synchronized (later) {
                        later.add(() -> {
                            try {
                                io.run();
                                f.complete(null);
                            } catch (IOException e) {
                                throw new UncheckedIOException(e);
                            }
                        });
                    }
                    return f;
                }
            }
        }
    }

    final FastVolume volume = new FastVolume();
    final ManualExecutor workers = new ManualExecutor();

    TestConnection connect() {
        ExportCatalog catalog = new ExportCatalog();
        catalog.add(new Export("disk", "", volume));
        TestConnection c = new TestConnection(catalog, 64 * 1024, workers, new ConnectionRegistry(), null);
        c.go("disk", false, false);
        return c;
    }

    @Test
    void immediateFastPathRepliesWithoutAWorker() {
        try (TestConnection c = connect()) {
            byte[] data = Frames.pattern(4096, 7);
            c.send(Frames.write(0, 1, 8192, data));
            assertThat(c.readSimple(0).error()).isZero();
            c.send(Frames.request(0, CMD_READ, 2, 8192, 4096));
            TestConnection.Simple read = c.readSimple(4096);
            assertThat(read.error()).isZero();
            assertThat(read.data()).isEqualTo(data);
            assertThat(workers.pending()).as("nothing went to the worker pool").isZero();
        }
    }

    @Test
    void laterCompletionFromAnotherThreadRepliesThen() throws Exception {
        volume.mode = FastVolume.Mode.LATER;
        try (TestConnection c = connect()) {
            byte[] data = Frames.pattern(4096, 9);
            c.send(Frames.write(0, 1, 0, data));
            c.channel.runPendingTasks();
            assertThat(c.available()).as("no reply before the volume completes").isZero();
            Thread t = new Thread(() -> volume.later.forEach(Runnable::run));
            t.start();
            t.join();
            c.channel.runPendingTasks();
            assertThat(c.readSimple(0).error()).isZero();
            assertThat(workers.pending()).isZero();
            volume.mode = FastVolume.Mode.NOW;
            c.send(Frames.request(0, CMD_READ, 2, 0, 4096));
            assertThat(c.readSimple(4096).data()).isEqualTo(data);
        }
    }

    @Test
    void aFailedFastPathIsAnErrorReplyAndNullFallsBackToTheWorkers() {
        try (TestConnection c = connect()) {
            volume.mode = FastVolume.Mode.FAIL;
            c.send(Frames.request(0, CMD_READ, 1, 0, 4096));
            assertThat(c.readSimple(4096).error()).isEqualTo(EIO);
            volume.mode = FastVolume.Mode.NONE;
            c.send(Frames.request(0, CMD_READ, 2, 0, 4096));
            c.channel.runPendingTasks();
            assertThat(workers.pending()).as("the slow path runs on a worker").isEqualTo(1);
            workers.run(0);
            c.channel.runPendingTasks();
            assertThat(c.readSimple(4096).error()).isZero();
        }
    }
}
