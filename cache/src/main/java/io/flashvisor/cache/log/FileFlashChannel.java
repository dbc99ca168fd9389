package io.flashvisor.cache.log;

import com.sun.nio.file.ExtendedOpenOption;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link FlashChannel} on a regular file or a block device, optionally opened with
 * {@code O_DIRECT}. Thread-safe: positional {@code pread}/{@code pwrite} on one descriptor.
 *
 * <p>Design notes. With {@code O_DIRECT} the kernel needs 4 KiB-aligned positions, lengths and
 * memory; the log's own buffers are aligned, and any other buffer is copied through an aligned
 * bounce buffer. A {@link FileChannel} is closed for every thread when one thread is interrupted
 * during I/O ({@link ClosedByInterruptException}): a cancelled reader must not take the cache
 * down, so the channel is reopened and the operations that the close caught are retried
 * (positional reads and writes are idempotent; {@code fdatasync} works on the inode, so a force on
 * the new descriptor covers writes made through the old one). The interrupted call itself fails.
 * {@code ENOSPC} (also {@code EDQUOT}, {@code EFBIG}) becomes a {@link DeviceFullException}.
 */
public final class FileFlashChannel implements FlashChannel {
    private static final Logger LOG = LoggerFactory.getLogger(FileFlashChannel.class);

    private final Path path;
    private final boolean direct;
    private volatile FileChannel channel;
    private volatile boolean closed;

    private FileFlashChannel(Path path, boolean direct, FileChannel channel) {
        this.path = path;
        this.direct = direct;
        this.channel = channel;
    }

    /**
     * Opens an existing file or block device for reading and writing.
     *
     * @param direct bypass the page cache ({@code O_DIRECT}); fails with an {@link IOException} that
     *               says so if the file system refuses it (tmpfs)
     */
    public static FileFlashChannel open(Path path, boolean direct) throws IOException {
        if (!Files.exists(path)) {
            throw new IOException("flash device " + path + " does not exist; create the file (preallocated, e.g."
                    + " with fallocate) or name a block device");
        }
        if (direct) {
            long blockSize = Files.getFileStore(path).getBlockSize();
            if (blockSize > FlashLayout.BLOCK_SIZE || FlashLayout.BLOCK_SIZE % blockSize != 0) {
                throw new IOException("O_DIRECT on " + path + " needs " + blockSize
                        + "-byte alignment; the flash log aligns to 4096; open it without direct I/O");
            }
        }
        try {
            return new FileFlashChannel(path, direct, openChannel(path, direct));
        } catch (IOException e) {
            if (direct && String.valueOf(reason(e)).contains("Invalid argument")) {
                throw new IOException("the file system of " + path + " does not support O_DIRECT (tmpfs?);"
                        + " open it without direct I/O", e);
            }
            throw e;
        }
    }

    private static FileChannel openChannel(Path path, boolean direct) throws IOException {
        List<OpenOption> options = new ArrayList<>(List.of(StandardOpenOption.READ, StandardOpenOption.WRITE));
        if (direct) {
            options.add(ExtendedOpenOption.DIRECT);
        }
        return FileChannel.open(path, options.toArray(OpenOption[]::new));
    }

    public Path path() {
        return path;
    }

    public boolean direct() {
        return direct;
    }

    @Override
    public void read(ByteBuffer dst, long position) throws IOException {
        if (direct && !Buffers.isAligned(dst)) {
            ByteBuffer bounce = Buffers.alignedDirect(dst.remaining());
            readFully(bounce, position);
            dst.put(bounce.flip());
            return;
        }
        readFully(dst, position);
    }

    private void readFully(ByteBuffer dst, long position) throws IOException {
        long pos = position;
        while (dst.hasRemaining()) {
            long at = pos;
            int n = retrying(ch -> ch.read(dst, at));
            if (n < 0) {
                throw new EOFException("read of " + path + " at " + pos + " is past its end");
            }
            pos += n;
        }
    }

    @Override
    public void write(ByteBuffer src, long position) throws IOException {
        ByteBuffer from = src;
        if (direct && !Buffers.isAligned(src)) {
            from = Buffers.alignedDirect(src.remaining());
            from.put(src.duplicate()).flip();
        }
        long pos = position;
        try {
            while (from.hasRemaining()) {
                long at = pos;
                ByteBuffer b = from;
                pos += retrying(ch -> ch.write(b, at));
            }
        } catch (IOException e) {
            if (!(e instanceof ClosedChannelException) && isNoSpace(reason(e))) {
                throw new DeviceFullException("write of " + path + " at " + position + " failed: " + reason(e), e);
            }
            throw e;
        }
        if (from != src) {
            src.position(src.limit());
        }
    }

    @Override
    public void force(boolean metadata) throws IOException {
        retrying(ch -> {
            ch.force(metadata);
            return 0;
        });
    }

    @Override
    public long size() throws IOException {
        // JDK 25 answers BLKGETSIZE64 for block devices on Linux.
        return retrying(FileChannel::size);
    }

    private interface ChannelOp<T> {
        T apply(FileChannel channel) throws IOException;
    }

    private <T> T retrying(ChannelOp<T> op) throws IOException {
        for (int attempt = 0; ; attempt++) {
            FileChannel ch = channel;
            try {
                return op.apply(ch);
            } catch (ClosedByInterruptException e) {
                reopen(ch);
                throw e;
            } catch (ClosedChannelException e) {
                // Closed under us: by close() (then we fail) or by another thread's interrupt (then we retry).
                if (closed || attempt >= 2) {
                    throw e;
                }
                reopen(ch);
            }
        }
    }

    private synchronized void reopen(FileChannel old) throws IOException {
        if (closed) {
            throw new ClosedChannelException();
        }
        if (channel == old) {
            LOG.warn("channel of flash device {} was closed by an interrupted thread; reopening it", path);
            channel = openChannel(path, direct);
            try {
                old.close();
            } catch (IOException ignored) {
                // it is closed already
            }
        }
    }

    private static String reason(IOException e) {
        return e instanceof FileSystemException fse && fse.getReason() != null ? fse.getReason() : String.valueOf(e.getMessage());
    }

    private static boolean isNoSpace(String reason) {
        // The JDK gives strerror() text only.
        return reason.contains("No space left on device") || reason.contains("Disk quota exceeded")
                || reason.contains("File too large");
    }

    @Override
    public synchronized void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        channel.close();
    }

    @Override
    public String toString() {
        return path + (direct ? " (O_DIRECT)" : "");
    }
}
