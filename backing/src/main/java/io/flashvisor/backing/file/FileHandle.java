package io.flashvisor.backing.file;

import com.sun.nio.file.ExtendedOpenOption;
import io.flashvisor.backing.align.AlignedAccess;
import io.flashvisor.common.BlockError;
import io.flashvisor.common.VolumeException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The file descriptor of a {@link FileBackingStore} and the one place where its
 * {@link IOException}s become {@link VolumeException}s. Thread-safe.
 *
 * <p>Design notes. A {@link FileChannel} is closed for every thread when one thread is interrupted
 * during I/O ({@link ClosedByInterruptException}); a request thread that is cancelled must not take
 * the whole volume down, so the channel is reopened, the interrupted call fails, and calls that
 * were caught by the close are retried once on the new channel (positional reads and writes are
 * idempotent). A failed {@code fdatasync} is sticky: the kernel may already have dropped the dirty
 * pages it could not write, so a later "successful" flush would be a lie; every later write and
 * flush fails until the store is reopened.
 */
final class FileHandle implements AlignedAccess.Device {
    private static final Logger LOG = LoggerFactory.getLogger(FileHandle.class);
    private static final int S_IFMT = 0170000;
    private static final int S_IFBLK = 0060000;

    private final Path path;
    private final boolean readOnly;
    private final boolean direct;
    private final int alignment;
    private final boolean blockDevice;
    private volatile FileChannel channel;
    private volatile boolean closed;
    private volatile IOException syncFailure;

    private FileHandle(Path path, boolean readOnly, boolean direct, int alignment, boolean blockDevice, FileChannel channel) {
        this.path = path;
        this.readOnly = readOnly;
        this.direct = direct;
        this.alignment = alignment;
        this.blockDevice = blockDevice;
        this.channel = channel;
    }

    static FileHandle open(Path path, boolean readOnly, boolean direct) throws VolumeException {
        if (!Files.exists(path)) {
            throw new VolumeException(BlockError.INVALID, "backing store " + path + " does not exist");
        }
        if (Files.isDirectory(path)) {
            throw new VolumeException(BlockError.INVALID, "backing store " + path + " is a directory, not a file or block device");
        }
        if (!Files.isReadable(path)) {
            throw new VolumeException(BlockError.PERMISSION, "backing store " + path + " is not readable by this process; fix its permissions");
        }
        if (!readOnly && !Files.isWritable(path)) {
            throw new VolumeException(BlockError.PERMISSION,
                    "backing store " + path + " is not writable by this process; fix its permissions or open it read-only");
        }
        try {
            int alignment = 1;
            if (direct) {
                long blockSize = Files.getFileStore(path).getBlockSize();
                alignment = (int) Math.max(512, Math.min(blockSize, 65536));
                if (Integer.bitCount(alignment) != 1) {
                    throw new VolumeException(BlockError.INVALID,
                            "file system block size " + blockSize + " of " + path + " is not a power of two; O_DIRECT is not usable");
                }
            }
            boolean blockDevice = isBlockDevice(path);
            return new FileHandle(path, readOnly, direct, alignment, blockDevice, openChannel(path, readOnly, direct));
        } catch (VolumeException e) {
            throw e;
        } catch (IOException e) {
            String reason = e instanceof FileSystemException fse && fse.getReason() != null ? fse.getReason() : e.toString();
            if (direct && reason.contains("Invalid argument")) {
                throw new VolumeException(BlockError.INVALID, "the file system of " + path
                        + " does not support O_DIRECT (tmpfs?); open it without direct I/O", e);
            }
            throw new VolumeException(BlockError.IO, "cannot open backing store " + path + ": " + reason, e);
        }
    }

    private static FileChannel openChannel(Path path, boolean readOnly, boolean direct) throws IOException {
        List<OpenOption> options = new ArrayList<>();
        options.add(StandardOpenOption.READ);
        if (!readOnly) {
            options.add(StandardOpenOption.WRITE);
        }
        if (direct) {
            options.add(ExtendedOpenOption.DIRECT);
        }
        return FileChannel.open(path, options.toArray(OpenOption[]::new));
    }

    private static boolean isBlockDevice(Path path) throws IOException {
        try {
            int mode = (Integer) Files.getAttribute(path, "unix:mode");
            return (mode & S_IFMT) == S_IFBLK;
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            return Files.readAttributes(path, BasicFileAttributes.class).isOther();
        }
    }

    Path path() {
        return path;
    }

    boolean readOnly() {
        return readOnly;
    }

    int alignment() {
        return alignment;
    }

    /**
     * The size in bytes. The JDK answers {@code BLKGETSIZE64} for block devices on Linux; should a
     * JDK answer 0 (fstat's {@code st_size}) instead, sysfs gives the size in 512-byte sectors.
     */
    long probeSize() throws IOException {
        long size = channel.size();
        if (size == 0 && blockDevice) {
            Path sectors = sysfs().resolve("size");
            if (Files.isReadable(sectors)) {
                size = Long.parseLong(Files.readString(sectors).trim()) * 512;
            }
        }
        return size;
    }

    /** True for a block device whose queue says so; regular files report false. */
    boolean rotational() {
        if (!blockDevice) {
            return false;
        }
        try {
            Path dev = sysfs();
            for (Path p : List.of(dev.resolve("queue/rotational"), dev.toRealPath().getParent().resolve("queue/rotational"))) {
                if (Files.isReadable(p)) {
                    return Files.readString(p).trim().equals("1");
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.debug("cannot tell whether {} is rotational", path, e);
        }
        return false;
    }

    private Path sysfs() throws IOException {
        return Path.of("/sys/class/block").resolve(path.toRealPath().getFileName().toString());
    }

    @Override
    public boolean accepts(ByteBuffer buffer) {
        return !direct || !buffer.isDirect() || buffer.alignmentOffset(0, alignment) == 0;
    }

    @Override
    public void readAligned(long offset, ByteBuffer dst) throws IOException {
        long pos = offset;
        while (dst.hasRemaining()) {
            int n = pread(dst, pos);
            if (n < 0) {
                throw new VolumeException(BlockError.IO, "unexpected end of file at offset " + pos + " of " + path
                        + " (was it truncated?)");
            }
            pos += n;
        }
    }

    @Override
    public void writeAligned(long offset, ByteBuffer src, boolean fua) throws IOException {
        checkSyncFailure();
        long pos = offset;
        while (src.hasRemaining()) {
            pos += pwrite(src, pos);
        }
    }

    void force() throws IOException {
        checkSyncFailure();
        try {
            retrying(ch -> {
                ch.force(false);
                return 0;
            });
        } catch (IOException e) {
            if (!(e instanceof VolumeException)) {
                syncFailure = e;
                LOG.error("fdatasync of {} failed; refusing further writes and flushes until it is reopened", path, e);
            }
            throw e;
        }
    }

    void checkOpen() throws VolumeException {
        if (closed) {
            throw new VolumeException(BlockError.SHUTDOWN, "backing store " + path + " is closed");
        }
    }

    private void checkSyncFailure() throws VolumeException {
        IOException f = syncFailure;
        if (f != null) {
            throw new VolumeException(BlockError.IO, "an earlier fdatasync of " + path
                    + " failed, so written data may be lost; reopen the store after checking the device", f);
        }
    }

    private int pread(ByteBuffer dst, long pos) throws IOException {
        return retrying(ch -> ch.read(dst, pos));
    }

    private int pwrite(ByteBuffer src, long pos) throws IOException {
        return retrying(ch -> ch.write(src, pos));
    }

    private interface ChannelOp {
        int apply(FileChannel channel) throws IOException;
    }

    private int retrying(ChannelOp op) throws IOException {
        for (int attempt = 0; ; attempt++) {
            FileChannel ch = channel;
            try {
                return op.apply(ch);
            } catch (ClosedByInterruptException e) {
                reopen(ch);
                throw new VolumeException(BlockError.IO, "I/O on " + path + " was interrupted", e);
            } catch (ClosedChannelException e) {
                // Closed under us: by close() (then we fail) or by another thread's interrupt (then we retry).
                checkOpen();
                reopen(ch);
                if (attempt >= 2) {
                    throw new VolumeException(BlockError.IO, "I/O on " + path + " keeps failing with a closed channel", e);
                }
            }
        }
    }

    private synchronized void reopen(FileChannel old) throws IOException {
        checkOpen();
        if (channel == old) {
            LOG.warn("channel of {} was closed by an interrupted thread; reopening it", path);
            channel = openChannel(path, readOnly, direct);
            try {
                old.close();
            } catch (IOException ignored) {
                // it is closed already
            }
        }
    }

    /** Turns an I/O failure of one request into a domain error that names the file. */
    VolumeException failure(String op, long offset, long length, IOException e) {
        if (e instanceof VolumeException v) {
            return v;
        }
        if (e instanceof AsynchronousCloseException || closed) {
            return new VolumeException(BlockError.SHUTDOWN, "backing store " + path + " is closed", e);
        }
        String reason = e instanceof FileSystemException fse && fse.getReason() != null ? fse.getReason() : String.valueOf(e.getMessage());
        BlockError error = isNoSpace(reason) ? BlockError.NO_SPACE : BlockError.IO;
        return new VolumeException(error, op + " of [" + offset + ", +" + length + ") on " + path + " failed: " + reason, e);
    }

    private static boolean isNoSpace(String reason) {
        // The JDK gives strerror() text only; EDQUOT and EFBIG count as ENOSPC, as the NBD spec says.
        return reason.contains("No space left on device") || reason.contains("Disk quota exceeded")
                || reason.contains("File too large");
    }

    synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        channel.close();
    }

    void closeQuietly() {
        try {
            close();
        } catch (IOException e) {
            LOG.debug("closing {} failed", path, e);
        }
    }
}
