package io.flashvisor.backing.file;

import io.flashvisor.backing.align.AlignedAccess;
import io.flashvisor.common.BlockError;
import io.flashvisor.common.BlockVolume;
import io.flashvisor.common.Ranges;
import io.flashvisor.common.VolumeException;
import io.flashvisor.common.VolumeFeatures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A backing store on a regular file or a block device (a SAN LUN), accessed with positional
 * reads and writes ({@code pread}/{@code pwrite}) on one file descriptor. Thread-safe: any number
 * of threads may call it at once.
 *
 * <p>Design notes.
 * <ul>
 *   <li>Durability is a setting: with {@code sync}, {@link #flush} is {@code fdatasync}
 *       ({@code force(false)}: data and the metadata needed to read it back) and a FUA write is a
 *       write followed by {@code fdatasync}; without it, both return at once (for scratch stores
 *       and tests).</li>
 *   <li>With {@code O_DIRECT} the kernel needs offsets, lengths and buffer addresses aligned to the
 *       device's block size; {@link AlignedAccess} supplies bounce buffers and read-modify-write for
 *       unaligned requests, so callers may still use any offset.</li>
 *   <li>TRIM is accepted and ignored, and not advertised. NBD allows a server to ignore TRIM
 *       (it is a hint: "later reads may return any data"), punching a hole needs {@code fallocate},
 *       which Java cannot call without native code, and writing zeroes instead would turn a cheap
 *       hint into a full-size write.</li>
 *   <li>WRITE_ZEROES writes zero buffers; it is never fast, so a {@code fastOnly} request fails with
 *       {@link BlockError#NOT_SUPPORTED} and the client falls back to its own strategy.</li>
 *   <li>{@code multiConn} is true: every caller shares one file descriptor, and {@code fdatasync}
 *       covers every write completed on it.</li>
 * </ul>
 */
public final class FileBackingStore implements BlockVolume {
    private static final Logger LOG = LoggerFactory.getLogger(FileBackingStore.class);
    private static final int ZERO_CHUNK = 1 << 20;
    private static final int MAX_PIECE = 4 << 20;

    private final FileHandle file;
    private final AlignedAccess access;
    private final long size;
    private final boolean sync;
    private final VolumeFeatures features;
    private final ByteBuffer zeroes;

    private FileBackingStore(FileHandle file, long size, boolean sync, boolean rotational) {
        this.file = file;
        this.size = size;
        this.sync = sync;
        int alignment = file.alignment();
        // Pieces of at most 4 MiB: the JDK copies heap buffers through a temporary direct buffer of the
        // request's size, and caches it per thread; unbounded requests would pin unbounded native memory.
        this.access = new AlignedAccess(file, alignment, MAX_PIECE);
        int zeroAlign = Math.max(alignment, 4096);
        this.zeroes = ByteBuffer.allocateDirect(ZERO_CHUNK + zeroAlign).alignedSlice(zeroAlign)
                .limit(ZERO_CHUNK).slice().asReadOnlyBuffer();
        this.features = new VolumeFeatures(file.readOnly(), true, true, false, true, false, true, false,
                rotational, 1, Math.max(4096, alignment));
    }

    /**
     * Opens an existing file or block device; never creates or resizes one.
     *
     * @param readOnly open without write access; writes fail with {@link BlockError#PERMISSION}
     * @param direct   bypass the page cache ({@code O_DIRECT})
     * @param sync     make {@link #flush} and FUA writes call {@code fdatasync}
     * @throws VolumeException with a message that names the file and says what is wrong
     */
    public static FileBackingStore open(Path path, boolean readOnly, boolean direct, boolean sync) throws IOException {
        FileHandle file = FileHandle.open(path, readOnly, direct);
        try {
            long size = file.probeSize();
            if (direct && size % file.alignment() != 0) {
                throw new VolumeException(BlockError.INVALID, "size " + size + " of " + path
                        + " is not a multiple of the O_DIRECT block size " + file.alignment()
                        + "; open it without direct I/O or resize it");
            }
            boolean rotational = file.rotational();
            LOG.info("opened backing store {} ({} bytes, {}{}{})", path, size, readOnly ? "read-only" : "read-write",
                    direct ? ", O_DIRECT alignment " + file.alignment() : "", sync ? ", fdatasync on flush" : ", no sync");
            return new FileBackingStore(file, size, sync, rotational);
        } catch (IOException | RuntimeException e) {
            file.closeQuietly();
            throw e;
        }
    }

    public Path path() {
        return file.path();
    }

    @Override
    public long size() {
        return size;
    }

    @Override
    public VolumeFeatures features() {
        return features;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        int length = dst.remaining();
        try {
            access.read(offset, dst);
        } catch (IOException e) {
            throw file.failure("read", offset, length, e);
        }
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        checkWritable();
        int length = src.remaining();
        try {
            access.write(offset, src, false);
            if (fua && sync) {
                file.force();
            }
        } catch (IOException e) {
            throw file.failure("write", offset, length, e);
        }
    }

    @Override
    public void flush() throws IOException {
        if (!sync) {
            file.checkOpen();
            return;
        }
        try {
            file.force();
        } catch (IOException e) {
            throw file.failure("flush", 0, size, e);
        }
    }

    @Override
    public void trim(long offset, long length, boolean fua) throws IOException {
        checkWritable();
        file.checkOpen();
    }

    @Override
    public void writeZeroes(long offset, long length, boolean mayTrim, boolean fastOnly, boolean fua) throws IOException {
        checkWritable();
        if (fastOnly) {
            throw new VolumeException(BlockError.NOT_SUPPORTED,
                    "fast zeroing is not supported by " + file.path() + " (zeroes are written as data)");
        }
        try {
            // Chunks end on ZERO_CHUNK boundaries, so only the first and last can be unaligned.
            long pos = offset;
            long end = offset + length;
            while (pos < end) {
                int n = (int) (Math.min(end, Ranges.alignDown(pos, ZERO_CHUNK) + ZERO_CHUNK) - pos);
                access.write(pos, zeroes.duplicate().limit(n), false);
                pos += n;
            }
            if (fua && sync) {
                file.force();
            }
        } catch (IOException e) {
            throw file.failure("write zeroes", offset, length, e);
        }
    }

    @Override
    public void close() throws IOException {
        file.close();
    }

    private void checkWritable() throws IOException {
        if (file.readOnly()) {
            throw new VolumeException(BlockError.PERMISSION, file.path() + " is open read-only");
        }
        file.checkOpen();
    }

    @Override
    public String toString() {
        return "FileBackingStore[" + file.path() + "]";
    }
}
