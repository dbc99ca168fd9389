package io.flashvisor.cache.log;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads the batches of one segment's current life: the chain of intact headers that starts at
 * block 0 and shares its stream, generation and salt. Read-only; not thread-safe (one window buffer).
 *
 * <p>Design notes. A segment is read in large windows (up to {@value #WINDOW} bytes, the whole
 * segment by default) because recovery is bound by sequential read speed. Stale batches of the
 * segment's earlier lives carry another generation or salt and are never taken. An invalid header
 * inside the life is either its end or a corrupt header; the scanner tells them apart by looking
 * further, block by block, for an intact header of the same life with a higher sequence (a
 * cheap magic test skips almost every block). If one is found, the sequences between are
 * reported as unreadable. The data CRC of every DATA record is checked; whether a failure is a
 * torn tail or corruption is for the caller to decide (only the newest batch on the device can
 * be torn).
 */
final class SegmentScanner {
    private static final Logger LOG = LoggerFactory.getLogger(SegmentScanner.class);
    static final int WINDOW = 8 << 20;

    /** What a scan finds, in segment order. */
    sealed interface Event permits ScannedBatch, Gap {
    }

    /** A batch found in a segment; bit {@code i} of {@code badData} is set if entry {@code i}'s data failed its CRC. */
    record ScannedBatch(int block, BatchHeader header, long badData) implements Event {
    }

    /**
     * An unreadable run of sequences between two intact batches of the segment. Other streams'
     * batches interleave their sequences with this segment's, so the run may include sequences
     * that are intact elsewhere: it bounds what is missing rather than naming it.
     */
    record Gap(long firstSequence, long lastSequence) implements Event {
    }

    /**
     * One segment's life; {@code batches} is empty if block 0 holds no intact header.
     *
     * @param stream   the append stream of the life (of its first header)
     * @param endBlock the block after the last intact batch
     */
    record Scan(int segment, int stream, long generation, List<ScannedBatch> batches, List<Event> events, int endBlock) {
        boolean live() {
            return !batches.isEmpty();
        }
    }

    private final FlashChannel channel;
    private final FlashLayout layout;
    private final UUID uuid;
    private final ByteBuffer window;
    private int windowSegment = -1;
    private long windowStart;
    private int windowLength;
    private long bytesRead;

    SegmentScanner(FlashChannel channel, FlashLayout layout, UUID uuid) {
        this.channel = channel;
        this.layout = layout;
        this.uuid = uuid;
        this.window = Buffers.alignedDirect(Math.min(layout.segmentSize(), WINDOW));
    }

    long bytesRead() {
        return bytesRead;
    }

    /** The header at block 0 of {@code segment} (one 4 KiB read), or null if it is not an intact header. */
    BatchHeader firstHeader(int segment) throws IOException {
        ByteBuffer block = window.slice(0, FlashLayout.BLOCK_SIZE);
        windowSegment = -1;
        channel.read(block, layout.segmentOffset(segment));
        bytesRead += FlashLayout.BLOCK_SIZE;
        try {
            return BatchHeader.decode(window, 0, uuid, layout.blocksPerSegment() - 1);
        } catch (FormatException e) {
            if (BatchHeader.hasMagic(window, 0) && window.getLong(8) == uuid.getMostSignificantBits()
                    && window.getLong(16) == uuid.getLeastSignificantBits()) {
                // Ours but unreadable: a torn write of the newest batch or of a free, or a corrupt
                // header whose segment's records are now out of reach.
                LOG.warn("segment {} starts with an unreadable batch header ({}); it is treated as free; if it"
                        + " was not being written or freed at the crash, its records are lost", segment, e.getMessage());
            }
            return null;
        }
    }

    /**
     * Scans {@code segment}. {@code events} holds, in order, each {@link ScannedBatch} and each
     * {@link Gap} (a gap precedes the batch found after it).
     */
    Scan scan(int segment) throws IOException {
        windowSegment = -1; // a scanner may be kept (FlashLog.readSegment): the segment may have been rewritten since
        int blocks = layout.blocksPerSegment();
        List<ScannedBatch> batches = new ArrayList<>();
        List<Event> events = new ArrayList<>();
        ByteBuffer first = view(segment, 0, FlashLayout.BLOCK_SIZE);
        BatchHeader head;
        try {
            head = BatchHeader.decode(first, 0, uuid, blocks - 1);
        } catch (FormatException e) {
            return new Scan(segment, 0, 0, List.of(), List.of(), 0);
        }
        int stream = head.stream();
        long generation = head.generation();
        long salt = head.salt();
        long lastSequence = head.firstSequence() - 1;
        int block = 0;
        int endBlock = 0;
        boolean resyncing = false;
        while (block < blocks) {
            BatchHeader h = block == 0 ? head : headerAt(segment, block, blocks);
            if (h == null || h.stream() != stream || h.generation() != generation || h.salt() != salt
                    || h.firstSequence() <= lastSequence) {
                // The end of this life, or a corrupt header: keep looking for an intact one.
                resyncing = true;
                block++;
                continue;
            }
            if (resyncing && h.firstSequence() > lastSequence + 1) {
                events.add(new Gap(lastSequence + 1, h.firstSequence() - 1));
            }
            resyncing = false;
            ScannedBatch batch = new ScannedBatch(block, h, checkData(segment, block, h));
            batches.add(batch);
            events.add(batch);
            lastSequence = h.lastSequence();
            block += h.blocks();
            endBlock = block;
        }
        return new Scan(segment, stream, generation, batches, events, endBlock);
    }

    private BatchHeader headerAt(int segment, int block, int blocks) throws IOException {
        ByteBuffer b = view(segment, (long) block * FlashLayout.BLOCK_SIZE, FlashLayout.BLOCK_SIZE);
        if (!BatchHeader.hasMagic(b, 0)) {
            return null;
        }
        try {
            return BatchHeader.decode(b, 0, uuid, blocks - block - 1);
        } catch (FormatException e) {
            return null;
        }
    }

    private long checkData(int segment, int block, BatchHeader h) throws IOException {
        if (h.dataBlocks() == 0) {
            return 0;
        }
        ByteBuffer data = view(segment, (long) (block + 1) * FlashLayout.BLOCK_SIZE, h.dataBlocks() * FlashLayout.BLOCK_SIZE);
        long bad = 0;
        int offset = 0;
        List<RecordEntry> entries = h.entries();
        CRC32C crc = new CRC32C();
        for (int i = 0; i < entries.size(); i++) {
            RecordEntry e = entries.get(i);
            if (e.type() != RecordType.DATA) {
                continue;
            }
            int bytes = e.blockCount() * FlashLayout.BLOCK_SIZE;
            crc.reset();
            crc.update(data.slice(offset, bytes));
            if ((int) crc.getValue() != e.dataCrc()) {
                bad |= 1L << i;
            }
            offset += bytes;
        }
        return bad;
    }

    /** {@code [offset, offset + length)} of the segment, read through the window when it fits in one. */
    private ByteBuffer view(int segment, long offset, int length) throws IOException {
        if (segment == windowSegment && offset >= windowStart && offset + length <= windowStart + windowLength) {
            return window.slice((int) (offset - windowStart), length);
        }
        if (length > window.capacity()) {
            ByteBuffer big = Buffers.alignedDirect(length);
            read(big, segment, offset);
            return big.clear();
        }
        windowSegment = -1;
        int n = (int) Math.min(window.capacity(), layout.segmentSize() - offset);
        read(window.clear().limit(n), segment, offset);
        window.clear();
        windowSegment = segment;
        windowStart = offset;
        windowLength = n;
        return window.slice(0, length);
    }

    private void read(ByteBuffer dst, int segment, long offset) throws IOException {
        int n = dst.remaining();
        channel.read(dst, layout.segmentOffset(segment) + offset);
        bytesRead += n;
    }
}
