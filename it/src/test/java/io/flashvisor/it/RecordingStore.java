package io.flashvisor.it;

import io.flashvisor.common.BlockVolume;
import io.flashvisor.common.VolumeFeatures;
import io.flashvisor.nbd.Export;
import io.flashvisor.nbd.ExportCatalog;
import io.flashvisor.nbd.Listener;
import io.flashvisor.nbd.NbdServer;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A backing store ("the SAN") that records every write it receives, in the order it applies them:
 * an in-memory disk served by the project's own NBD server inside the test JVM, on a Unix socket,
 * so node processes use it as {@code nbd+unix:///EXPORT?socket=PATH} like any NBD backing store.
 *
 * <p>Every export name is the same disk; the name only tells in the log who wrote (hosts configured
 * with different export names). Each write sleeps {@code writeDelay} first (a slow SAN: an owner
 * keeps dirty data), then is applied and logged atomically, so the log's order is the order in
 * which the data landed. For each 4 KiB block of a write the log keeps its {@link VersionedBlocks}
 * version, read from the data.
 */
final class RecordingStore implements AutoCloseable {

    /** One request the store applied: a write (with its blocks' versions) or a flush. */
    record Entry(long seq, long atNanos, String export, boolean isWrite, long offset, int length, long[] versions, boolean fua) {
        long atMillis() {
            return atNanos / 1_000_000;
        }
    }

    private final long size;
    private final byte[] disk;
    private final Duration writeDelay;
    private final long start = System.nanoTime();
    private final List<Entry> log = new ArrayList<>();
    private final Path socket;
    private final ExportCatalog catalog = new ExportCatalog();
    private final NbdServer server;

    RecordingStore(Path socket, long size, Duration writeDelay, String... exports) throws IOException {
        if (size % VersionedBlocks.BLOCK != 0 || size > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("size " + size);
        }
        this.size = size;
        this.disk = new byte[(int) size];
        this.writeDelay = writeDelay;
        this.socket = socket;
        for (String name : exports) {
            catalog.add(new Export(name, "recording store", new View(name)));
        }
        this.server = NbdServer.start(catalog, List.of(new Listener.Unix(socket, 0600)), new NbdServer.Settings(1 << 20, Duration.ofSeconds(2)));
    }

    String uri(String export) {
        return "nbd+unix:///" + export + "?socket=" + socket;
    }

    /** Nanoseconds on the log's clock (the {@link Entry#atNanos} of something happening now). */
    long now() {
        return System.nanoTime() - start;
    }

    /** A copy of the log so far. */
    List<Entry> log() {
        synchronized (log) {
            return new ArrayList<>(log);
        }
    }

    /** Entries so far: a mark to take {@link #since} later. */
    int mark() {
        synchronized (log) {
            return log.size();
        }
    }

    List<Entry> since(int mark) {
        synchronized (log) {
            return new ArrayList<>(log.subList(mark, log.size()));
        }
    }

    /** The version block {@code block} holds now. */
    long versionNow(long block) {
        synchronized (log) {
            return VersionedBlocks.versionOf(disk, (int) (block * VersionedBlocks.BLOCK), block);
        }
    }

    /** Nanoseconds since the last entry (log clock), or since the start if none. */
    long quietFor() {
        synchronized (log) {
            return now() - (log.isEmpty() ? 0 : log.getLast().atNanos());
        }
    }

    /** Waits until nothing has landed for {@code quiet}, at most {@code timeout}; whether it got quiet. */
    boolean awaitQuiet(Duration quiet, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (quietFor() < quiet.toNanos()) {
            if (System.nanoTime() > deadline) {
                return false;
            }
            Thread.sleep(50);
        }
        return true;
    }

    @Override
    public void close() {
        server.close();
    }

    /** The disk as one export sees it. */
    private final class View implements BlockVolume {
        private final String name;

        View(String name) {
            this.name = name;
        }

        @Override
        public long size() {
            return size;
        }

        @Override
        public VolumeFeatures features() {
            // Writes and flushes only (no trim/zeroes: anything else arrives as data and is checked like data).
            return new VolumeFeatures(false, true, true, false, false, false, true, false, false, 4096, 4096);
        }

        @Override
        public void read(long offset, ByteBuffer dst) {
            synchronized (log) {
                dst.put(disk, (int) offset, dst.remaining());
            }
        }

        @Override
        public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
            byte[] data = new byte[src.remaining()];
            src.get(data);
            long[] versions = new long[data.length / VersionedBlocks.BLOCK];
            if (offset % VersionedBlocks.BLOCK == 0) {
                for (int i = 0; i < versions.length; i++) {
                    versions[i] = VersionedBlocks.versionOf(data, i * VersionedBlocks.BLOCK, offset / VersionedBlocks.BLOCK + i);
                }
            }
            try {
                Thread.sleep(writeDelay);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted");
            }
            synchronized (log) {
                System.arraycopy(data, 0, disk, (int) offset, data.length);
                log.add(new Entry(log.size(), now(), name, true, offset, data.length, versions, fua));
            }
        }

        @Override
        public void flush() {
            synchronized (log) {
                log.add(new Entry(log.size(), now(), name, false, 0, 0, new long[0], false));
            }
        }

        @Override
        public void trim(long offset, long length, boolean fua) throws IOException {
            throw new io.flashvisor.common.VolumeException(io.flashvisor.common.BlockError.NOT_SUPPORTED, "no trim");
        }

        @Override
        public void writeZeroes(long offset, long length, boolean mayTrim, boolean fastOnly, boolean fua) throws IOException {
            throw new io.flashvisor.common.VolumeException(io.flashvisor.common.BlockError.NOT_SUPPORTED, "no write zeroes");
        }

        @Override
        public void close() {
        }
    }
}
