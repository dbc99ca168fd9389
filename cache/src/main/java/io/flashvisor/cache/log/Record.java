package io.flashvisor.cache.log;

import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * A record to append to the flash log: a DATA record (blocks of one volume, with their data) or a
 * marker (CLEAN, INVALIDATE) that says something about earlier DATA records of a block range.
 * Immutable once built; thread-safe.
 *
 * <p>The data's CRC32C is computed when the record is built, in the caller's thread, so the
 * checksum seals the bytes the caller handed over: the buffer must not change until the append
 * completes (a change would make recovery report the record lost rather than store other bytes).
 * Peer replicas carry the origin host and its epoch ({@link #withOrigin}); a host's own records
 * leave both 0. A write-back DATA record carries its volume's flush epoch
 * ({@link #data(long, long, ByteBuffer, boolean, long)}), an unsigned 64-bit number that orders
 * destaging after a crash (docs/cache.md, Write ordering and destage); it is 0 by default and
 * always 0 for markers.
 */
public final class Record {
    /** Block ranges end at or below this, so byte offsets fit in a {@code long}. */
    public static final long MAX_BLOCK_END = Long.MAX_VALUE / FlashLayout.BLOCK_SIZE;

    private final RecordType type;
    private final long volumeId;
    private final long firstBlock;
    private final int blockCount;
    private final long aux;
    private final boolean dirty;
    private final int epoch;
    private final long originHost;
    private final long flushEpoch;
    private final ByteBuffer data;
    private final int dataCrc;

    private Record(RecordType type, long volumeId, long firstBlock, int blockCount, long aux, boolean dirty,
                   int epoch, long originHost, long flushEpoch, ByteBuffer data, int dataCrc) {
        if (!validRange(firstBlock, blockCount)) {
            throw new IllegalArgumentException("block range [" + firstBlock + ", +" + blockCount + ") is invalid");
        }
        this.type = type;
        this.volumeId = volumeId;
        this.firstBlock = firstBlock;
        this.blockCount = blockCount;
        this.aux = aux;
        this.dirty = dirty;
        this.epoch = epoch;
        this.originHost = originHost;
        this.flushEpoch = flushEpoch;
        this.data = data;
        this.dataCrc = dataCrc;
    }

    /**
     * DATA for {@code [firstBlock, +n)} where {@code n = data.remaining() / 4096}, with flush
     * epoch 0. Reads the buffer's remaining bytes without moving its position.
     *
     * @param dirty the data is not yet on the backing store
     */
    public static Record data(long volumeId, long firstBlock, ByteBuffer data, boolean dirty) {
        return data(volumeId, firstBlock, data, dirty, 0);
    }

    /**
     * DATA for {@code [firstBlock, +n)} where {@code n = data.remaining() / 4096}. Reads the
     * buffer's remaining bytes without moving its position.
     *
     * @param dirty      the data is not yet on the backing store
     * @param flushEpoch the volume's flush epoch this write belongs to (unsigned; any 64-bit value)
     */
    public static Record data(long volumeId, long firstBlock, ByteBuffer data, boolean dirty, long flushEpoch) {
        int bytes = data.remaining();
        if (bytes == 0 || bytes % FlashLayout.BLOCK_SIZE != 0) {
            throw new IllegalArgumentException("DATA needs a positive multiple of 4096 bytes, not " + bytes);
        }
        CRC32C crc = new CRC32C();
        // On the caller's buffer, not the read-only view: CRC32C reads a heap buffer's array in place, but has to copy a
        // read-only one into a fresh array first (one allocation per record: a tenth of the node's allocations).
        crc.update(data.slice());
        ByteBuffer view = data.slice().asReadOnlyBuffer();
        return new Record(RecordType.DATA, volumeId, firstBlock, bytes / FlashLayout.BLOCK_SIZE, 0, dirty, 0, 0,
                flushEpoch, view, (int) crc.getValue());
    }

    /** CLEAN: the DATA records of {@code [firstBlock, +blockCount)} with sequence ≤ {@code upToSequence} are on the backing store. */
    public static Record clean(long volumeId, long firstBlock, int blockCount, long upToSequence) {
        return new Record(RecordType.CLEAN, volumeId, firstBlock, blockCount, upToSequence, false, 0, 0, 0, null, 0);
    }

    /** INVALIDATE: the DATA records of {@code [firstBlock, +blockCount)} with a lower sequence are dead. */
    public static Record invalidate(long volumeId, long firstBlock, int blockCount) {
        return new Record(RecordType.INVALIDATE, volumeId, firstBlock, blockCount, 0, false, 0, 0, 0, null, 0);
    }

    /**
     * DATA of a peer's write-back write kept here as a replica: dirty, tagged with the origin host
     * and the volume's ownership epoch there, with the origin's own sequence of the write in
     * {@code aux} (which orders replica versions of a block, since local sequences follow arrival).
     */
    public static Record replica(long originHost, int ownerEpoch, long volumeId, long firstBlock, ByteBuffer data,
                                 long flushEpoch, long originSequence) {
        if (originHost == 0) {
            throw new IllegalArgumentException("a replica needs an origin host id other than 0");
        }
        Record d = data(volumeId, firstBlock, data, true, flushEpoch);
        return new Record(RecordType.DATA, volumeId, firstBlock, d.blockCount, originSequence, true, ownerEpoch, originHost,
                flushEpoch, d.data, d.dataCrc);
    }

    /** RELEASE: the replicas of {@code volumeId} from {@code originHost} with origin sequence ≤ {@code upToOriginSequence} are released. */
    public static Record release(long originHost, long volumeId, long upToOriginSequence) {
        if (originHost == 0) {
            throw new IllegalArgumentException("a release needs an origin host id other than 0");
        }
        return new Record(RecordType.RELEASE, volumeId, 0, 1, upToOriginSequence, false, 0, originHost, 0, null, 0);
    }

    /** This record as a replica of a peer's: the peer's host id and the volume's epoch there. */
    public Record withOrigin(int epoch, long originHost) {
        return new Record(type, volumeId, firstBlock, blockCount, aux, dirty, epoch, originHost, flushEpoch, data, dataCrc);
    }

    static boolean validRange(long firstBlock, long blockCount) {
        return firstBlock >= 0 && blockCount >= 1 && blockCount <= MAX_BLOCK_END - firstBlock;
    }

    public RecordType type() {
        return type;
    }

    public long volumeId() {
        return volumeId;
    }

    public long firstBlock() {
        return firstBlock;
    }

    public int blockCount() {
        return blockCount;
    }

    public long aux() {
        return aux;
    }

    public boolean dirty() {
        return dirty;
    }

    public int epoch() {
        return epoch;
    }

    public long originHost() {
        return originHost;
    }

    /** The volume's flush epoch of a write-back DATA record (unsigned), 0 otherwise. */
    public long flushEpoch() {
        return flushEpoch;
    }

    /** CRC32C of the data (DATA records), 0 for markers. */
    public int dataCrc() {
        return dataCrc;
    }

    /** Blocks of data this record puts in the log: {@code blockCount} for DATA, 0 for markers. */
    public int dataBlocks() {
        return type == RecordType.DATA ? blockCount : 0;
    }

    /** A read-only view of the data (DATA records), or null. */
    ByteBuffer data() {
        return data == null ? null : data.duplicate();
    }

    RecordEntry entry(long sequence) {
        return new RecordEntry(type, volumeId, firstBlock, blockCount, sequence, aux, dirty, dataCrc, epoch, originHost,
                flushEpoch);
    }

    @Override
    public String toString() {
        return type + "(volume " + Long.toHexString(volumeId) + ", [" + firstBlock + ", +" + blockCount + ")"
                + (dirty ? ", dirty" : "") + (flushEpoch != 0 ? ", flush epoch " + Long.toUnsignedString(flushEpoch) : "")
                + (type == RecordType.CLEAN ? ", upTo " + aux : "")
                + (originHost != 0 ? ", origin " + originHost + "@" + epoch : "") + ")";
    }

    @Override
    public boolean equals(Object o) {
        // Identity of the description, not of the bytes: two DATA records are equal if they describe
        // the same blocks with the same checksum.
        return o instanceof Record r && r.type == type && r.volumeId == volumeId && r.firstBlock == firstBlock
                && r.blockCount == blockCount && r.aux == aux && r.dirty == dirty && r.epoch == epoch
                && r.originHost == originHost && r.flushEpoch == flushEpoch && r.dataCrc == dataCrc;
    }

    @Override
    public int hashCode() {
        return Objects.hash(type, volumeId, firstBlock, blockCount, aux, dirty, epoch, originHost, flushEpoch, dataCrc);
    }
}
