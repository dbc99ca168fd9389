package io.flashvisor.backing.nbd;

import static io.flashvisor.nbd.wire.NbdConstants.FLAG_ROTATIONAL;
import static io.flashvisor.nbd.wire.NbdConstants.FLAG_SEND_CACHE;
import static io.flashvisor.nbd.wire.NbdConstants.FLAG_SEND_FAST_ZERO;
import static io.flashvisor.nbd.wire.NbdConstants.FLAG_SEND_TRIM;
import static io.flashvisor.nbd.wire.NbdConstants.FLAG_SEND_WRITE_ZEROES;

import io.flashvisor.backing.align.AlignedAccess;
import io.flashvisor.common.BlockError;
import io.flashvisor.common.BlockVolume;
import io.flashvisor.common.Extent;
import io.flashvisor.common.Ranges;
import io.flashvisor.common.VolumeException;
import io.flashvisor.common.VolumeFeatures;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.time.Duration;

/**
 * A backing store on a remote NBD export (a SAN gateway, another {@code nbdkit} or
 * {@code qemu-nbd}), over one {@link NbdClient} connection. Thread-safe.
 *
 * <p>Design notes.
 * <ul>
 *   <li>Features follow the server's transmission flags: TRIM, CACHE and fast zero only when
 *       advertised; FLUSH and FUA always (emulated, see {@link NbdClient}); WRITE_ZEROES always (sent as
 *       writes when not advertised).</li>
 *   <li>{@code multiConn} is true whatever the server says. The feature promises that a flush covers
 *       writes completed through every user of <em>this</em> volume; all of them share one
 *       connection, and on one connection a FLUSH covers every write the server has replied to. The
 *       server's {@code CAN_MULTI_CONN} would matter only if we opened several connections (or
 *       reconnected and flushed on a new one), which this store never does.</li>
 *   <li>Requests not aligned to the server's minimum block size are made aligned by
 *       {@link AlignedAccess} (read-modify-write), so the store itself accepts any offset; a TRIM is
 *       shrunk to the whole blocks inside it (it is only a hint).</li>
 * </ul>
 */
public final class NbdBackingStore implements BlockVolume {
    private final NbdClient client;
    private final boolean readOnly;
    private final int alignment;
    private final AlignedAccess access;
    private final VolumeFeatures features;

    /** Takes ownership of the client: closing the store closes it. */
    public NbdBackingStore(NbdClient client, boolean readOnly) {
        this.client = client;
        NbdExport e = client.export();
        this.readOnly = readOnly || e.readOnly();
        this.alignment = e.minimumBlockSize();
        this.access = new AlignedAccess(new AlignedAccess.Device() {
            @Override
            public void readAligned(long offset, ByteBuffer dst) throws IOException {
                client.read(offset, dst);
            }

            @Override
            public void writeAligned(long offset, ByteBuffer src, boolean fua) throws IOException {
                client.write(offset, src, fua);
            }
        }, alignment, Integer.MAX_VALUE);
        this.features = new VolumeFeatures(this.readOnly, true, true, e.has(FLAG_SEND_TRIM), true,
                e.has(FLAG_SEND_WRITE_ZEROES) && e.has(FLAG_SEND_FAST_ZERO), true, e.has(FLAG_SEND_CACHE),
                e.has(FLAG_ROTATIONAL), 1, Math.max(e.preferredBlockSize(), alignment));
    }

    /** Connects to {@code uri}; see {@link NbdClient#connect} for the timeouts. */
    public static NbdBackingStore open(NbdUri uri, boolean readOnly, Duration connectTimeout, Duration ioTimeout) throws IOException {
        return new NbdBackingStore(NbdClient.connect(uri, connectTimeout, ioTimeout), readOnly);
    }

    public NbdClient client() {
        return client;
    }

    @Override
    public long size() {
        return client.export().size();
    }

    @Override
    public VolumeFeatures features() {
        return features;
    }

    @Override
    public void read(long offset, ByteBuffer dst) throws IOException {
        access.read(offset, dst);
    }

    @Override
    public void write(long offset, ByteBuffer src, boolean fua) throws IOException {
        checkWritable();
        access.write(offset, src, fua);
    }

    @Override
    public void flush() throws IOException {
        client.flush();
    }

    @Override
    public void trim(long offset, long length, boolean fua) throws IOException {
        checkWritable();
        long start = Ranges.alignUp(offset, alignment);
        long end = Ranges.alignDown(offset + length, alignment);
        if (end > start) {
            client.trim(start, end - start, fua);
        }
    }

    @Override
    public void writeZeroes(long offset, long length, boolean mayTrim, boolean fastOnly, boolean fua) throws IOException {
        checkWritable();
        long start = Ranges.alignUp(offset, alignment);
        long end = Ranges.alignDown(offset + length, alignment);
        if (end <= start) {
            zeroPartial(offset, length, fastOnly, fua);
            return;
        }
        zeroPartial(offset, start - offset, fastOnly, fua);
        client.writeZeroes(start, end - start, !mayTrim, fastOnly, fua);
        zeroPartial(end, offset + length - end, fastOnly, fua);
    }

    /** Less than one block: read-modify-write of zeroes, which is never fast. */
    private void zeroPartial(long offset, long length, boolean fastOnly, boolean fua) throws IOException {
        if (length == 0) {
            return;
        }
        if (fastOnly) {
            throw new VolumeException(BlockError.NOT_SUPPORTED, "fast zeroing of a partial block is not supported");
        }
        access.write(offset, ByteBuffer.allocate((int) length), fua);
    }

    @Override
    public void prefetch(long offset, long length) throws IOException {
        long start = Ranges.alignDown(offset, alignment);
        long end = Math.min(size(), Ranges.alignUp(offset + length, alignment));
        client.cache(start, end - start);
    }

    @Override
    public Extent extentAt(long offset, long length) throws IOException {
        if (!Ranges.isAligned(offset, alignment)) {
            return new Extent(length, false, false);
        }
        // The spec wants aligned lengths too; ask for whole blocks and cap the answer to what was asked.
        long asked = Math.min(Ranges.alignUp(length, alignment), size() - offset);
        Extent e = client.blockStatus(offset, asked);
        return e.length() <= length ? e : new Extent(length, e.hole(), e.zero());
    }

    @Override
    public void close() {
        client.close();
    }

    private void checkWritable() throws VolumeException {
        if (readOnly) {
            throw new VolumeException(BlockError.PERMISSION, "backing store " + client.uri() + " is read-only");
        }
    }

    @Override
    public String toString() {
        return "NbdBackingStore[" + client.uri() + "]";
    }
}
